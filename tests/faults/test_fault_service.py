"""Fault matrix, service rows: scheduling after failures, restarts, shutdown, reload, health.

``monitor run`` runs as a real subprocess where signals matter; the rest drives ``Service`` in
process against a hostile server and a real database.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.service import Service
from monitor.store import Store
from tests.conftest import ROOT, Clock, base_config, make_app, source, write_config
from tests.faults.hostile import Hostile, hang, respond
from tests.mailserver import MailServer, free_port
from tests.test_service import Run, get, until

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    b"<item><title>Advanced materials pilot line</title><link>https://x.gov/1</link>"
    b"<pubDate>Mon, 16 Nov 2026 08:00:00 GMT</pubDate></item></channel></rss>"
)


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    server = Hostile()
    yield server
    server.stop()


def service_config(sources: list[dict[str, Any]], **service: Any) -> dict[str, Any]:
    cfg = base_config(sources=sources)
    cfg["http"] |= {"read_timeout": 2, "deadline": 4, "retries": 0}
    cfg["service"] = {"http_port": 0, "jitter": "0s"} | service
    return cfg


def polled(service: Service) -> None:
    """Dispatch what is due and wait for those polls to end."""
    started = service.dispatch_due()
    until(lambda: not (set(started) & service._inflight), timeout=20, what="the polls to end")


# -- scheduling after failures ------------------------------------------------------------------


def test_retry_after_and_failures_set_the_next_poll(
    tmp_path: Path, db_url: str, hostile: Hostile
) -> None:
    # before: Retry-After was slept in the worker; a failed source waited a whole interval
    hostile.route("/busy", respond(b"", "429 Too Many Requests", {"Retry-After": "120"}))
    hostile.route("/down", respond(b"", "500 Internal Server Error"))
    cfg = service_config(
        [
            source("busy", "rss", hostile.url("/busy"), "nsf", interval="6h"),
            source("down", "rss", hostile.url("/down"), "nsf", interval="6h"),
        ],
        failure_retry="5m",
    )
    clock = Clock(NOW)
    app = make_app(tmp_path, db_url, cfg, clock)
    service = Service(app)
    service.start(paused=True)
    polled(service)
    due = app.store.due_times()
    assert due["busy"] == NOW + timedelta(seconds=120)
    assert due["down"] == NOW + timedelta(minutes=5)
    clock.now = NOW + timedelta(minutes=6)
    polled(service)  # the second failure in a row waits twice as long
    assert app.store.due_times()["down"] == clock.now + timedelta(minutes=10)
    assert hostile.hits["/down"] == 2 and hostile.hits["/busy"] == 2  # busy: due after 2 min
    service.stop()
    app.close()


def test_an_expired_claim_is_polled_at_once(tmp_path: Path, db_url: str, hostile: Hostile) -> None:
    # before: the source waited for its next interval tick (up to 6 h), not for the lease
    hostile.route("/feed", respond(FEED))
    cfg = service_config([source("s", "rss", hostile.url("/feed"), "nsf", interval="6h")])
    app = make_app(tmp_path, db_url, cfg, Clock(NOW))
    lease = app.config.service.poll_lease
    assert app.store.claim_source("s", NOW - lease - timedelta(seconds=1), lease, "killed")
    service = Service(app)
    service.start(paused=True)
    polled(service)
    assert hostile.hits["/feed"] == 1
    status = {s.id: s for s in app.store.statuses(NOW)}["s"]
    assert status.last_outcome == "ok"
    service.stop()
    app.close()


# -- restarts and shutdown (real processes) -----------------------------------------------------


def run_env(tmp_path: Path, cfg: dict[str, Any], db: str, **extra: str) -> dict[str, str]:
    path = write_config(tmp_path / "sources.yaml", cfg)
    env = os.environ | {
        "MONITOR_CONFIG": str(path),
        "MONITOR_DATABASE_URL": db,
        "MONITOR_DIGEST_DIR": str(tmp_path / "digests"),
        "MONITOR_ALLOW_PRIVATE_HOSTS": "1",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("MONITOR_SMTP_HOST", "MONITOR_DIGEST_TO", "MONITOR_ALERT_TO"):
        env.pop(name, None)
    return env | extra


def log_of(tmp_path: Path) -> str:
    return (tmp_path / "run.log").read_text(encoding="utf-8", errors="replace")


def test_sigterm_stops_within_the_timeout_whatever_the_network_does(
    tmp_path: Path, hostile: Hostile
) -> None:
    # before: clean=False logged at 30 s, but the process lived 356 s more (SIGKILL in a container)
    hostile.route("/feed", hang(hostile.stopped))
    cfg = service_config(
        [source("hangs", "rss", hostile.url("/feed"), "nsf")],
        tick="0.5s",
        shutdown_timeout="4s",
        poll_deadline="5m",
        poll_lease="10m",
    )
    cfg["http"] |= {"read_timeout": 300, "deadline": 300}
    db = f"sqlite:///{tmp_path / 'run.db'}"
    run = Run(tmp_path, run_env(tmp_path, cfg, db, MONITOR_INSTANCE="one"))
    try:
        until(lambda: hostile.hits["/feed"] >= 1, what="the hanging poll to start")
        started = time.monotonic()
        assert run.terminate(timeout=10) == 0
        assert time.monotonic() - started < 5
        assert "cancelled requests=1" in log_of(tmp_path)
    finally:
        if run.process.poll() is None:
            run.kill()
    store = Store(db, migrate=False)
    assert store.due_sources(["hangs"], datetime.now(UTC), 1) == ["hangs"]  # claim released
    store.close()


def test_a_poll_killed_mid_way_is_taken_up_when_its_lease_expires(
    tmp_path: Path, hostile: Hostile
) -> None:
    hostile.route("/feed", hang(hostile.stopped))
    cfg = service_config(
        [source("s", "rss", hostile.url("/feed"), "nsf", interval="6h")],
        tick="0.5s",
        poll_deadline="3s",
        poll_lease="4s",
    )
    cfg["http"] |= {"read_timeout": 60, "deadline": 60}
    db = f"sqlite:///{tmp_path / 'run.db'}"
    first = Run(tmp_path, run_env(tmp_path, cfg, db, MONITOR_INSTANCE="first"))
    until(lambda: hostile.hits["/feed"] >= 1, what="the first poll to start")
    first.kill()
    killed_at = time.monotonic()
    second = Run(tmp_path, run_env(tmp_path, cfg, db, MONITOR_INSTANCE="second"))
    try:
        until(lambda: hostile.hits["/feed"] >= 2, timeout=15, what="the poll to be taken up")
        assert time.monotonic() - killed_at < 8  # the 4 s lease, plus start-up and a tick
    finally:
        second.kill()


# -- configuration reload -------------------------------------------------------------------------


def test_sighup_reloads_a_valid_file_and_refuses_an_invalid_one(
    tmp_path: Path, hostile: Hostile
) -> None:
    # before: an edited sources.yaml was ignored until restart, and SIGHUP killed the process
    hostile.route("/a.xml", respond(FEED))
    hostile.route("/b.xml", respond(FEED))
    cfg = service_config(
        [source("a", "rss", hostile.url("/a.xml"), "nsf")],
        tick="0.5s",
        reload_on_change=False,
        outbox_interval="1s",
        maintainers=["ops@example.org"],
    )
    mail = MailServer().start()
    db = f"sqlite:///{tmp_path / 'run.db'}"
    env = run_env(
        tmp_path,
        cfg,
        db,
        MONITOR_SMTP_HOST="127.0.0.1",
        MONITOR_SMTP_PORT=str(mail.port),
        MONITOR_SMTP_TLS="none",
    )
    path = Path(env["MONITOR_CONFIG"])
    run = Run(tmp_path, env)
    try:
        until(lambda: hostile.hits["/a.xml"] >= 1, what="source a")
        cfg["sources"].append(source("b", "rss", hostile.url("/b.xml"), "nsf"))
        write_config(path, cfg)
        run.process.send_signal(signal.SIGHUP)
        until(lambda: hostile.hits["/b.xml"] >= 1, what="the new source b")
        path.write_text(path.read_text() + "\nsources: [oops\n", encoding="utf-8")
        run.process.send_signal(signal.SIGHUP)
        (alert,) = mail.wait_for(1)
        assert "is invalid" in alert.message["Subject"]
        assert "invalid YAML" in alert.message.get_body(("plain",)).get_content()
        assert run.process.poll() is None  # still running, on the previous configuration
        write_config(path, cfg)
        run.process.send_signal(signal.SIGHUP)
        _, recovered = mail.wait_for(2)
        assert "valid again" in recovered.message["Subject"]
        assert "configuration reload refused" in log_of(tmp_path)
        assert run.terminate(timeout=15) == 0
    finally:
        mail.stop()
        if run.process.poll() is None:
            run.kill()


def test_a_changed_file_is_reloaded_without_a_signal(tmp_path: Path, hostile: Hostile) -> None:
    hostile.route("/a.xml", respond(FEED))
    hostile.route("/b.xml", respond(FEED))
    cfg = service_config([source("a", "rss", hostile.url("/a.xml"), "nsf")], tick="0.5s")
    db = f"sqlite:///{tmp_path / 'run.db'}"
    env = run_env(tmp_path, cfg, db)
    run = Run(tmp_path, env)
    try:
        until(lambda: hostile.hits["/a.xml"] >= 1, what="source a")
        cfg["sources"].append(source("b", "rss", hostile.url("/b.xml"), "nsf"))
        write_config(Path(env["MONITOR_CONFIG"]), cfg)
        until(lambda: hostile.hits["/b.xml"] >= 1, what="the new source b")
        assert run.terminate(timeout=15) == 0
    finally:
        if run.process.poll() is None:
            run.kill()


# -- /healthz and the HTTP endpoint ---------------------------------------------------------------


def endpoint_service(tmp_path: Path, db_url: str, cfg: dict[str, Any], clock: Clock) -> Service:
    port = free_port()
    cfg["service"] |= {"http_port": port}
    app = make_app(tmp_path, db_url, cfg, clock)
    service = Service(app)
    service.start(paused=True)
    return service


def healthz(service: Service) -> tuple[int, dict[str, Any]]:
    assert service.http is not None
    status, body = get(service.http.port, "/healthz")
    return status, json.loads(body)


def test_healthz_is_unhealthy_when_every_source_fails(tmp_path: Path, hostile: Hostile) -> None:
    # before: 200 healthy:true while every source failed (failed polls counted as recent polls)
    hostile.route("/down", respond(b"", "500 Internal Server Error"))
    hostile.route("/ok", respond(FEED))
    cfg = service_config(
        [source("down", "rss", hostile.url("/down"), "nsf")], healthz_max_poll_age="1h"
    )
    clock = Clock(datetime.now(UTC))
    service = endpoint_service(tmp_path, f"sqlite:///{tmp_path / 'h.db'}", cfg, clock)
    try:
        polled(service)
        assert healthz(service)[0] == 200  # just started: not judged yet
        clock.now += timedelta(hours=2)
        status, body = healthz(service)
        assert status == 503 and body["sources_failing"] == 1
        assert body["problem"] == "no source was read successfully lately"
    finally:
        service.stop()
        service.app.close()


def test_healthz_answers_503_when_the_database_is_down(tmp_path: Path) -> None:
    # before: a StoreError from statuses() escaped: 500
    db = tmp_path / "h.db"
    cfg = service_config([])
    service = endpoint_service(tmp_path, f"sqlite:///{db}", cfg, Clock(datetime.now(UTC)))
    try:
        service.app.store.engine.dispose()
        db.unlink()
        db.mkdir()  # the database file is gone and cannot be opened again
        status, body = healthz(service)
        assert status == 503 and body["database"] == "unreachable" and not body["healthy"]
    finally:
        service.stop()
        service.app.close()


def test_idle_connections_hold_no_threads_and_time_out(tmp_path: Path) -> None:
    # before: 1,000 idle connections made 1,008 threads, none ever closed
    cfg = service_config([], http_idle_timeout="2s", http_connections=1000)
    service = endpoint_service(
        tmp_path, f"sqlite:///{tmp_path / 'h.db'}", cfg, Clock(datetime.now(UTC))
    )
    assert service.http is not None
    threads_before = threading.active_count()
    idle = []
    try:
        for _ in range(500):
            idle.append(socket.create_connection(("127.0.0.1", service.http.port)))
        time.sleep(0.5)
        assert threading.active_count() <= threads_before + 2
        started = time.monotonic()
        assert healthz(service)[0] == 200  # served beside 500 idle connections
        assert time.monotonic() - started < 2
        time.sleep(4)  # the idle timeout (2 s) and a clean-up pass
        closed = sum(_closed(s) for s in idle)
        assert closed == len(idle)
    finally:
        for s in idle:
            s.close()
        service.stop()
        service.app.close()


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(0.5)
    try:
        return sock.recv(1) == b""
    except (TimeoutError, OSError):
        return False


def test_the_bind_address_is_a_setting(tmp_path: Path) -> None:
    cfg = service_config([])
    cfg["service"] |= {"http_port": free_port(), "http_host": "0.0.0.0"}
    app = make_app(
        tmp_path, f"sqlite:///{tmp_path / 'h.db'}", cfg, Clock(NOW), http_host="127.0.0.2"
    )
    service = Service(app)
    service.start(paused=True)
    try:
        assert service.http is not None and service.http.host == "127.0.0.2"
        sockname = service.http.server.socket.getsockname()
        assert sockname[0] == "127.0.0.2"
    finally:
        service.stop()
        app.close()


def test_invalid_reload_keeps_the_configuration(tmp_path: Path, db_url: str) -> None:
    cfg = service_config([source("a", "rss", "https://a.example.org/feed", "nsf")])
    app = make_app(tmp_path, db_url, cfg, Clock(NOW))
    service = Service(app)
    path = Path(app.config.path)
    bad = yaml.safe_load(path.read_text(encoding="utf-8"))
    bad["sources"][0]["kind"] = "telepathy"
    write_config(path, bad)
    assert not service.reload()
    assert app.config.source("a").kind == "rss"
    assert service.config_error and "unknown kind 'telepathy'" in service.config_error
    (incident,) = [i for i in app.health.incidents() if i.source_id == "config"]
    assert "telepathy" in (incident.detail or "")
    write_config(
        path,
        cfg | {"sources": cfg["sources"] + [source("b", "rss", "https://b.example.org/f", "nsf")]},
    )
    assert service.reload()
    assert {s.id for s in app.config.sources} == {"a", "b"}
    assert "b" in app.store.due_times()
    assert not [i for i in app.health.incidents() if i.source_id == "config"]
    app.close()
