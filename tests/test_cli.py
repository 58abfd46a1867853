"""The command line, end to end against a local fixture site."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from pytest_httpserver import HTTPServer

from monitor.cli import cli
from tests.conftest import base_config, data, serve, source, write_config

RSS = "application/rss+xml"


def invoke(tmp_path: Path, db_url: str, config: Path, *args: str) -> Result:
    env = {
        "MONITOR_DATABASE_URL": db_url,
        "MONITOR_ALLOW_PRIVATE_HOSTS": "1",
        "MONITOR_DIGEST_DIR": str(tmp_path / "digests"),
        "MONITOR_CONFIG": str(config),
    }
    return CliRunner().invoke(cli, list(args), env=env)


def site_config(tmp_path: Path, site: HTTPServer, *extra: dict[str, object]) -> Path:
    serve(site, "/ukri/feed/", data("ukri_wordpress_feed.xml"), RSS)
    sources = [source("ukri-news", "rss", site.url_for("/ukri/feed/"), "ukri"), *extra]
    return write_config(tmp_path / "sources.yaml", base_config(sources=sources))


def test_poll_status_digest(tmp_path: Path, db_url: str, site: HTTPServer) -> None:
    config = site_config(tmp_path, site)
    polled = invoke(tmp_path, db_url, config, "poll")
    assert polled.exit_code == 0, polled.output
    assert "ukri-news" in polled.output and "1 sources, 0 failed, 4 new items" in polled.output
    status = invoke(tmp_path, db_url, config, "status")
    assert status.exit_code == 0 and "ukri-news" in status.output and "never" not in status.output
    digest = invoke(tmp_path, db_url, config, "digest", "--week", "2024-W39")
    assert digest.exit_code == 0, digest.output
    assert "digest 2024-W39 profile=cas" in digest.output
    assert (tmp_path / "digests" / "2024-W39.cas.md").exists()
    bad = invoke(tmp_path, db_url, config, "digest", "--week", "2024-39")
    assert bad.exit_code == 2 and "not an ISO week" in bad.output
    bad_profile = invoke(tmp_path, db_url, config, "digest", "--profile", "nope")
    assert bad_profile.exit_code == 2 and "no profile 'nope'" in bad_profile.output


def test_poll_exit_status_when_every_source_fails(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    site.expect_request("/down.xml").respond_with_data("", status=503)
    config = write_config(
        tmp_path / "sources.yaml",
        base_config(sources=[source("down", "rss", site.url_for("/down.xml"), "nsf")]),
    )
    result = invoke(tmp_path, db_url, config, "poll")
    assert result.exit_code == 1
    assert "HTTP 503" in result.output and "1 failed" in result.output
    unknown = invoke(tmp_path, db_url, config, "poll", "--source", "nope")
    assert unknown.exit_code == 2 and "unknown source nope" in unknown.output


def test_sources_try_stores_nothing(tmp_path: Path, db_url: str, site: HTTPServer) -> None:
    config = site_config(tmp_path, site)
    tried = invoke(tmp_path, db_url, config, "sources", "try", "ukri-news")
    assert tried.exit_code == 0, tried.output
    assert "4 items" in tried.output and "metamaterials" in tried.output
    assert "funding" in tried.output or "research" in tried.output
    polled = invoke(tmp_path, db_url, config, "poll")
    assert "4 new items" in polled.output  # try stored nothing


def test_run_once_polls_and_drafts(tmp_path: Path, db_url: str, site: HTTPServer) -> None:
    config = site_config(tmp_path, site)
    result = invoke(tmp_path, db_url, config, "run", "--once")
    assert result.exit_code == 0, result.output
    assert "4 new items" in result.output and "digest 20" in result.output
    assert list((tmp_path / "digests").glob("*.cas.html"))
