"""Sending only what was asked: a profile's own recipients, `--profile` sends that profile
alone (`--resend` too), MONITOR_DIGEST_TO is the default profile's; an outage is news."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from monitor.cli import cli
from tests.conftest import base_config, data, serve, source, write_config
from tests.mailserver import MailServer


def three_profiles(site: HTTPServer) -> dict[str, Any]:
    serve(site, "/ukri/feed/", data("ukri_wordpress_feed.xml"), "application/rss+xml")
    cfg = base_config(sources=[source("ukri-news", "rss", site.url_for("/ukri/feed/"), "ukri")])
    profiles = cfg["digest"]["profiles"]
    profiles["cas"]["recipients"] = ["cas-editor@example.org"]
    profiles["zj"]["recipients"] = ["zj-editor@example.org"]
    profiles["idei"]["recipients"] = []  # drafted on request, never mailed
    return cfg


def env_for(tmp_path: Path, db_url: str, cfg: dict[str, Any], port: int) -> dict[str, str]:
    return {
        "MONITOR_DATABASE_URL": db_url,
        "MONITOR_ALLOW_PRIVATE_HOSTS": "1",
        "MONITOR_DIGEST_DIR": str(tmp_path / "digests"),
        "MONITOR_CONFIG": str(write_config(tmp_path / "sources.yaml", cfg)),
        "MONITOR_SMTP_HOST": "127.0.0.1",
        "MONITOR_SMTP_PORT": str(port),
        "MONITOR_SMTP_TLS": "none",
    }


def recipients(mailserver: MailServer) -> list[str]:
    return sorted(r for m in mailserver.received for r in m.rcpt_tos)


def test_profile_option_sends_only_that_profile(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    cfg = three_profiles(site)
    assert set(cfg["digest"]["profiles"]) == {"cas", "zj", "idei"}
    env = env_for(tmp_path, db_url, cfg, mailserver.port)
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], env=env).exit_code == 0
    zj = runner.invoke(cli, ["digest", "--week", "2024-W39", "--profile", "zj", "--send"], env=env)
    assert zj.exit_code == 0, zj.output
    assert "zj to zj-editor@example.org" in zj.output and "cas-editor" not in zj.output
    assert recipients(mailserver) == ["zj-editor@example.org"]
    assert not (tmp_path / "digests" / "2024-W39.cas.txt").exists()  # nor even drafted
    resend = runner.invoke(
        cli, ["digest", "--week", "2024-W39", "--profile", "zj", "--send", "--resend"], env=env
    )
    assert resend.exit_code == 0, resend.output
    assert recipients(mailserver) == ["zj-editor@example.org"] * 2  # zj again, nothing else
    every = runner.invoke(cli, ["digest", "--week", "2024-W39", "--send"], env=env)
    assert every.exit_code == 0, every.output
    assert "cas to cas-editor@example.org" in every.output
    assert "(zj to zj-editor@example.org): already sent" in every.output
    assert "idei" not in every.output  # no recipients: not drafted for mail
    mailserver.wait_for(3)
    assert recipients(mailserver) == [
        "cas-editor@example.org",
        "zj-editor@example.org",
        "zj-editor@example.org",
    ]


def test_digest_to_is_the_default_profiles_recipients(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    env = env_for(tmp_path, db_url, three_profiles(site), mailserver.port)
    env["MONITOR_DIGEST_TO"] = "chief@example.org"
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], env=env).exit_code == 0
    result = runner.invoke(cli, ["digest", "--week", "2024-W39", "--send"], env=env)
    assert result.exit_code == 0, result.output
    mailserver.wait_for(2)
    by_subject = {m.rcpt_tos[0]: m.message["Subject"] for m in mailserver.received if m.rcpt_tos}
    assert set(by_subject) == {"chief@example.org", "zj-editor@example.org"}
    assert by_subject["chief@example.org"].startswith("先进制造与新材料动态监测快报")  # cas
    assert by_subject["zj-editor@example.org"].startswith("新材料监测快报")


def test_every_source_failing_is_news_not_a_quiet_week(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    site.expect_request("/down/feed").respond_with_data("busy", status=503)
    cfg = base_config(
        sources=[
            source("down-a", "rss", site.url_for("/down/feed"), "nsf"),
            source("down-b", "rss", site.url_for("/down/feed"), "ukri"),
        ]
    )
    cfg["http"] = {"retries": 0}
    env = env_for(tmp_path, db_url, cfg, 9)
    result = CliRunner().invoke(cli, ["run", "--once"], env=env)
    assert result.exit_code == 1, result.output
    assert "every source failed (2)" in result.output + result.stderr, result.stderr
    drafted = sorted((tmp_path / "digests").glob("*.cas.txt"))
    assert len(drafted) == 1
    text = drafted[0].read_text(encoding="utf-8")
    assert "本周监测异常的信息源" in text
    assert "抓取全部失败" in text and "503" in text
    assert "down-a" in text or "Source down-a" in text


def test_one_source_failing_is_listed_and_the_run_succeeds(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    serve(site, "/ukri/feed/", data("ukri_wordpress_feed.xml"), "application/rss+xml")
    site.expect_request("/down/feed").respond_with_data("gone", status=404)
    cfg = base_config(
        sources=[
            source("ukri-news", "rss", site.url_for("/ukri/feed/"), "ukri"),
            source("down-a", "rss", site.url_for("/down/feed"), "nsf"),
        ]
    )
    cfg["http"] = {"retries": 0}
    env = env_for(tmp_path, db_url, cfg, 9)
    result = CliRunner().invoke(cli, ["run", "--once"], env=env)
    assert result.exit_code == 0, result.output
    text = next((tmp_path / "digests").glob("*.cas.md")).read_text(encoding="utf-8")
    outage = text.split("本周监测异常的信息源", 1)[1]
    assert "404" in outage and "美国国家科学基金会" in outage
    assert "英国研究与创新署" not in outage  # the source that worked is not listed


def test_word_file_written_and_attached(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    import io

    from docx import Document

    cfg = three_profiles(site)
    env = env_for(tmp_path, db_url, cfg, mailserver.port)
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], env=env).exit_code == 0
    args = ["digest", "--week", "2024-W39", "--profile", "cas", "--format", "docx"]
    drafted = runner.invoke(cli, args, env=env)
    assert drafted.exit_code == 0, drafted.output
    path = tmp_path / "digests" / "2024-W39.cas.docx"
    assert str(path) in drafted.output
    lines = [p.text for p in Document(str(path)).paragraphs]
    assert lines[0] == "先进制造与新材料动态监测快报" and "第39期" in lines[1]
    sent = runner.invoke(cli, [*args, "--send"], env=env)
    assert sent.exit_code == 0, sent.output
    message = mailserver.wait_for(1)[0].message
    attached = [p for p in message.iter_attachments() if p.get_filename() == path.name]
    assert len(attached) == 1
    word = Document(io.BytesIO(attached[0].get_payload(decode=True)))
    assert [p.text for p in word.paragraphs][:2] == lines[:2]
