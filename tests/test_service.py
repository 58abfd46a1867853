"""``monitor run`` as a subprocess, on a fast schedule, against a local fixture site and a real
SMTP server: it polls, sends each digest once, survives SIGKILL during a poll and during a send,
recovers from an SMTP outage, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.digest.week import current_week
from monitor.errors import StoreError
from monitor.store import Store
from monitor.store.outbox import Outbox
from tests.conftest import ROOT, base_config, source, write_config
from tests.mailserver import MailServer, free_port

EDITOR = "editor@example.org"


def feed(prefix: str, count: int) -> bytes:
    """An RSS feed whose items were published in the last complete ISO week (UTC)."""
    week = current_week(datetime.now(UTC), "UTC").previous()
    day = datetime.combine(week.first + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    items = "".join(
        f"<item><title>{prefix} semiconductor fab investment {i}</title>"
        f"<link>https://agency.example.gov/{prefix}/{i}</link>"
        f"<pubDate>{format_datetime(day + timedelta(hours=i))}</pubDate></item>"
        for i in range(count)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{prefix}</title>{items}'
        "</channel></rss>".encode()
    )


class Slow:
    """A feed that answers after ``delay`` seconds (while ``delay`` is set)."""

    def __init__(self, body: bytes, delay: float) -> None:
        self.body, self.delay, self.started = body, delay, 0

    def __call__(self, request: Request) -> Response:
        self.started += 1
        time.sleep(self.delay)
        return Response(self.body, content_type="application/rss+xml")


class Run:
    """One ``monitor run`` process."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.log = (tmp_path / "run.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--log-level", "DEBUG", "run"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self, timeout: float) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or condition}")


@pytest.fixture
def threaded_site() -> Iterator[HTTPServer]:
    """A fixture site that serves requests concurrently (a slow feed blocks nobody else)."""
    server = HTTPServer(threaded=True)
    server.start()
    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def service_env(tmp_path: Path, threaded_site: HTTPServer) -> Iterator[dict[str, Any]]:
    site = threaded_site
    slow = Slow(feed("slow", 2), delay=0)
    site.expect_request("/fast.xml").respond_with_data(
        feed("fast", 3), content_type="application/rss+xml"
    )
    site.expect_request("/slow.xml").respond_with_handler(slow)
    cfg = base_config(
        sources=[
            source("fast", "rss", site.url_for("/fast.xml"), "nsf"),
            source("slow", "rss", site.url_for("/slow.xml"), "ukri"),
        ]
    )
    cfg["http"]["read_timeout"] = 30
    port = free_port()
    cfg["service"] = {
        "interval": "2s",
        "jitter": "0s",
        "misfire_grace": "30s",
        "tick": "0.5s",
        "poll_deadline": "20s",
        "poll_lease": "25s",
        "health_interval": "2s",
        "outbox_interval": "1s",
        "delivery_backoff": "1s",
        "delivery_lease": "2s",
        "shutdown_timeout": "15s",
        "http_port": port,
    }
    cfg["digest"]["timezone"] = "UTC"
    cfg["digest"]["schedule"] = "every 3s"
    cfg["digest"]["profiles"] = {"cas": cfg["digest"]["profiles"]["cas"] | {"recipients": [EDITOR]}}
    path = write_config(tmp_path / "sources.yaml", cfg)
    smtp_port = free_port()
    db = f"sqlite:///{tmp_path / 'service.db'}"
    env = os.environ | {
        "MONITOR_CONFIG": str(path),
        "MONITOR_DATABASE_URL": db,
        "MONITOR_DIGEST_DIR": str(tmp_path / "digests"),
        "MONITOR_SMTP_HOST": "127.0.0.1",
        "MONITOR_SMTP_PORT": str(smtp_port),
        "MONITOR_SMTP_TLS": "none",
        "MONITOR_MAIL_FROM": "monitor@bulletin.example.org",
        "MONITOR_ALLOW_PRIVATE_HOSTS": "1",
        "MONITOR_INSTANCE": "service-test",  # stable across restarts, as in a container
        "PYTHONPATH": str(ROOT),
    }
    env.pop("MONITOR_DIGEST_TO", None)
    env.pop("MONITOR_REVIEW_TOKEN", None)
    yield {
        "env": env,
        "db": db,
        "slow": slow,
        "smtp_port": smtp_port,
        "http_port": port,
        "path": tmp_path,
    }


def items(db: str) -> set[str]:
    store = Store(db, migrate=False)
    try:
        week = current_week(datetime.now(UTC), "UTC").previous()
        return {i.url for i in store.items_in_period(week.first, week.last, week.start, week.end)}
    except StoreError:  # the service has not created the schema yet
        return set()
    finally:
        store.close()


def deliveries(db: str) -> list[Any]:
    store = Store(db, migrate=False)
    try:
        return Outbox(store, backoff=timedelta(seconds=1)).deliveries()
    except StoreError:  # the schema is not there yet
        return []
    finally:
        store.close()


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""


def test_polls_sends_once_after_smtp_recovers_and_stops_on_sigterm(
    service_env: dict[str, Any],
) -> None:
    env, db = service_env["env"], service_env["db"]
    run = Run(service_env["path"], env)
    try:
        until(lambda: len(items(db)) == 5, what="both sources polled")
        # SMTP is down: the delivery waits, with the error recorded
        pending = until(lambda: [d for d in deliveries(db) if d.last_error], what="a failed try")
        assert pending[0].status in ("pending", "sending") and "SMTP" in pending[0].last_error
        server = MailServer(port=service_env["smtp_port"]).start()
        try:
            (first,) = server.wait_for(1)
            assert first.rcpt_tos == [EDITOR]
            time.sleep(8)  # the digest job runs again twice meanwhile
            assert len(server.received) == 1
        finally:
            server.stop()
        status, body = get(service_env["http_port"], "/healthz")
        health = json.loads(body)
        assert status == 200 and health["scheduler"] == "running" and health["database"] == "ok"
        status, metrics = get(service_env["http_port"], "/metrics")
        assert status == 200 and b'monitor_polls_total{outcome="ok",source="fast"}' in metrics
        assert b"monitor_last_digest_sent_timestamp_seconds" in metrics
        status, body = get(service_env["http_port"], "/review")  # no token: the desk is off
        assert status == 404 and b"MONITOR_REVIEW_TOKEN" in body
        assert run.terminate(timeout=20) == 0
    finally:
        if run.process.poll() is None:
            run.kill()


def test_sigkill_during_poll_and_send_loses_nothing_and_sends_once(
    service_env: dict[str, Any],
) -> None:
    env, db, slow = service_env["env"], service_env["db"], service_env["slow"]
    server = MailServer(port=service_env["smtp_port"]).start()
    try:
        # 1. killed while the slow source is being fetched
        slow.delay = 6
        run = Run(service_env["path"], env)
        until(lambda: slow.started >= 1, what="the slow poll to start")
        until(lambda: len(items(db)) == 3, what="the fast source")
        run.kill()
        assert len(items(db)) == 3  # what was committed stays
        # 2. restarted, then killed while the digest is being sent (stalled before DATA)
        slow.delay = 0
        server.handler.delay_rcpt = 8
        run = Run(service_env["path"], env)
        until(lambda: len(items(db)) == 5, what="the slow source after the restart")
        until(lambda: any(d.status == "sending" for d in deliveries(db)), what="a send")
        run.kill()
        assert server.received == []
        # 3. restarted: the unsent digest is sent, once
        server.handler.delay_rcpt = 0
        run = Run(service_env["path"], env)
        (got,) = server.wait_for(1)
        time.sleep(6)
        assert len(server.received) == 1 and got.rcpt_tos == [EDITOR]
        assert [d.status for d in deliveries(db)] == ["sent"]
        assert len(items(db)) == 5
        assert run.terminate(timeout=20) == 0
    finally:
        server.stop()
        if run.process.poll() is None:
            run.kill()


def test_sigterm_lets_the_running_poll_finish(service_env: dict[str, Any]) -> None:
    env, db, slow = service_env["env"], service_env["db"], service_env["slow"]
    slow.delay = 4
    run = Run(service_env["path"], env)
    try:
        until(lambda: slow.started >= 1, what="the slow poll to start")
        started = time.monotonic()
        assert run.terminate(timeout=20) == 0
        assert time.monotonic() - started < 15  # within the shutdown timeout
        assert {u for u in items(db) if "/slow/" in u}  # the running poll was completed
        log = (service_env["path"] / "run.log").read_text(encoding="utf-8", errors="replace")
        assert "service stopped clean=True" in log
    finally:
        if run.process.poll() is None:
            run.kill()
