"""Fault matrix, offline rows: a name that does not resolve and an unreachable network fail at
once, without retries, with one clear line per source and the right cause (not robots.txt).

Host names under ``.invalid`` never resolve (RFC 2606). The unreachable network is real where
the test may make an empty network namespace (``unshare -n``; nothing leaves it), and injected
at the socket layer everywhere.
"""

from __future__ import annotations

import errno
import logging
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from pytest_httpserver import HTTPServer

from monitor.config import HttpConfig
from monitor.errors import FetchError
from monitor.http import HttpClient
from tests.conftest import Clock, base_config, make_app, source

NOW = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
# the shipped sources.yaml: three retries with back-off doubling from 2 s (2 + 4 + 8 s)
SHIPPED_RETRIES = {"retries": 3, "backoff": 2.0, "per_host_delay": 0}


def client(allow_private: bool = True, **settings: Any) -> HttpClient:
    return HttpClient(HttpConfig(**(SHIPPED_RETRIES | settings)), allow_private=allow_private)


def failure(http: HttpClient, url: str) -> tuple[float, FetchError]:
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        http.get(url)
    return time.monotonic() - started, caught.value


@pytest.mark.parametrize(
    ("guarded", "robots"), [(False, True), (True, False)], ids=["open-robots", "guard-no-robots"]
)
def test_thirty_sources_that_do_not_resolve_fail_at_once_one_line_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, guarded: bool, robots: bool
) -> None:
    # before: "connection failed (robots.txt)", or, without robots.txt, three tries with
    # 2 + 4 + 8 s of back-off per source and a log line per try (30 sources: over 50 s)
    sources = [source(f"s{i}", "rss", f"https://src{i}.invalid/feed", "nsf") for i in range(30)]
    cfg = base_config(sources=sources)
    cfg["http"] |= SHIPPED_RETRIES | {"concurrency": 8, "respect_robots": robots}
    db = f"sqlite:///{tmp_path / 'd.db'}"
    app = make_app(tmp_path, db, cfg, Clock(NOW), allow_private_hosts=not guarded)
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    records = app.poll()
    seconds = time.monotonic() - started
    app.close()
    assert seconds < 20  # milliseconds a name (a resolver that drops a query: 5 s); no back-off
    assert [r.outcome for r in records] == ["error"] * 30
    for i, record in enumerate(records):
        assert record.error == (
            f"https://src{i}.invalid/feed: DNS: name does not resolve: src{i}.invalid "
            f"({_reason(record.error)})"
        )
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 30  # one per source
    assert all(r.name == "monitor.poll" for r in lines)
    assert not [r for r in caplog.records if "retrying" in r.getMessage()]
    assert not [r for r in caplog.records if "robots" in r.getMessage()]


def test_a_name_that_does_not_resolve_is_not_retried_without_robots_either(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    for guarded in (False, True):
        http = client(allow_private=not guarded, respect_robots=False)
        seconds, error = failure(http, "http://nowhere.invalid/feed")
        http.close()
        assert seconds < 12  # before: 2 + 4 + 8 s of back-off
        assert error.reason.startswith("DNS: name does not resolve: nowhere.invalid (")
    assert caplog.records == []  # no retry, so nothing logged by the client


def test_an_unreachable_network_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    async def unreachable(remote_host: str, *_args: Any, **_kwargs: Any) -> Any:
        calls.append(remote_host)  # anyio's own way of failing every address tried
        cause = OSError(errno.ENETUNREACH, "Network is unreachable")
        raise OSError("All connection attempts failed") from cause

    monkeypatch.setattr(anyio, "connect_tcp", unreachable)
    for robots in (True, False):
        calls.clear()
        http = client(respect_robots=robots)
        seconds, error = failure(http, "http://192.0.2.10/feed")
        http.close()
        assert error.reason == "network unreachable" and seconds < 1
        assert calls == ["192.0.2.10"]  # one attempt: robots.txt's, or the page's


def test_happy_eyeballs_unreachable_only_if_every_address_is() -> None:
    from monitor.http.client import _unreachable

    down = OSError(errno.ENETUNREACH, "Network is unreachable")
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    for causes, expected in (([down, down], "network unreachable"), ([down, refused], None)):
        error = OSError("All connection attempts failed")
        error.__cause__ = ExceptionGroup("multiple connection attempts failed", causes)
        assert _unreachable(error, "h.example") == expected


@pytest.mark.skipif(not shutil.which("unshare"), reason="unshare (util-linux) is not installed")
def test_offline_in_an_empty_network_namespace_fails_fast_with_the_cause() -> None:
    """A real offline machine: no interface but a down loopback, no DNS server to ask."""
    script = (
        "import time\n"
        "from monitor.config import HttpConfig\n"
        "from monitor.http import HttpClient\n"
        "http = HttpClient(HttpConfig(retries=3, backoff=2.0), allow_private=True)\n"
        "for url in ('https://www.nist.gov/news', 'http://192.0.2.10/feed'):\n"
        "    started = time.monotonic()\n"
        "    try:\n"
        "        http.get(url)\n"
        "    except Exception as e:\n"
        "        print(round(time.monotonic() - started, 2), e.reason)\n"
        "http.close()\n"
    )
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("no permission to make a network namespace")
    done = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].split(" ", 1)[1].startswith("DNS: name does not resolve: www.nist.gov (")
    assert lines[1].split(" ", 1)[1] == "network unreachable"
    assert all(float(line.split()[0]) < 3 for line in lines)


def test_a_refused_connection_is_the_hosts_failure_and_not_remembered() -> None:
    """Not a robots.txt verdict: nothing is cached, so the host is asked again at once when it
    is back (a robots.txt verdict would hold for five minutes)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = client(retries=0)
    _, error = failure(http, f"http://127.0.0.1:{port}/feed")
    assert error.reason.startswith("connection failed: ") and "robots" not in error.reason
    server = HTTPServer(host="127.0.0.1", port=port)
    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    server.expect_request("/feed").respond_with_data("<rss/>")
    server.start()
    try:
        assert http.get(f"http://127.0.0.1:{port}/feed").content == b"<rss/>"
    finally:
        http.close()
        server.stop()


def test_a_robots_txt_that_fails_after_connecting_is_still_a_robots_verdict(
    site: HTTPServer,
) -> None:
    site.clear()  # no robots.txt handler: the server answers 500 for it
    site.no_handler_status_code = 500
    http = client(retries=0)
    _, error = failure(http, site.url_for("/feed"))
    http.close()
    assert "robots.txt answered HTTP 500" in error.reason


def _reason(error: str | None) -> str:
    """The resolver's own words, which vary by system (Name or service not known, ...)."""
    assert error is not None and error.endswith(")")
    return error.rsplit("(", 1)[1][:-1]
