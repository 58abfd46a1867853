"""Fault matrix, rows that held before this round and must keep holding: a mail server that
refuses or stalls, secrets that must never be written anywhere, hostile text in emails, and an
HTTP endpoint under abuse."""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import String, Text, select
from sqlalchemy.engine import make_url

from monitor.service import Service
from monitor.store.models import Base
from tests.conftest import Clock, base_config, make_app, smtp_settings, source
from tests.mailserver import MailServer, free_port, password_checker
from tests.test_service import get

EDITOR = "editor@example.org"
WEEK_LATER = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # the fixture items are in 2026-W47
SECRET = "s3cr3t-Pa55word"


def feed(titles: list[str], summary: str = "") -> bytes:
    items = "".join(
        f"<item><title><![CDATA[{t}]]></title><link>https://agency.example.gov/n/{i}</link>"
        f"<description><![CDATA[{summary}]]></description>"
        "<pubDate>Wed, 18 Nov 2026 08:00:00 GMT</pubDate></item>"
        for i, t in enumerate(titles)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}</channel></rss>'
    ).encode()


def mail_app(tmp_path: Path, db_url: str, site: HTTPServer, smtp: Any, body: bytes) -> Any:
    site.expect_request("/feed.xml").respond_with_data(body, content_type="application/rss+xml")
    cfg = base_config(sources=[source("agency", "rss", site.url_for("/feed.xml"), "nsf")])
    cfg["digest"]["profiles"] = {"cas": cfg["digest"]["profiles"]["cas"] | {"recipients": [EDITOR]}}
    cfg["service"] = {"delivery_backoff": "10s", "delivery_attempts": 5}
    app = make_app(tmp_path, db_url, cfg, Clock(WEEK_LATER), smtp=smtp)
    app.poll()
    return app


MATERIALS = ["Graphene membrane pilot plant opens", "Semiconductor fab award for chips"]


@pytest.mark.parametrize("fault", ["550", "stall"])
def test_a_refusing_or_stalling_mail_server_gets_one_email_when_healthy(
    tmp_path: Path, db_url: str, site: HTTPServer, fault: str
) -> None:
    server = MailServer().start()
    if fault == "550":
        server.handler.reject_rcpt = "550 5.1.1 mailbox unavailable"
    else:
        server.handler.delay_rcpt = 3  # longer than the client's 1 s timeout
    smtp = smtp_settings(server.port, timeout=1.0)
    app = mail_app(tmp_path, db_url, site, smtp, feed(MATERIALS))
    try:
        app.deliverer.digest(app.week("2026-W47"), send=True)
        (delivery,) = app.outbox.deliveries()
        assert delivery.status == "pending" and delivery.attempts == 1
        assert ("550" if fault == "550" else "timed out") in (delivery.last_error or "")
        server.handler.reject_rcpt, server.handler.delay_rcpt = None, 0
        app.clock.now += timedelta(seconds=11)
        assert [s for _, s in app.deliverer.send_due()] == ["sent"]
        app.clock.now += timedelta(minutes=10)
        app.deliverer.send_due()
        time.sleep(3.5 if fault == "stall" else 0.2)  # a stalled first try never completes
        assert len(server.received) == 1 and server.received[0].rcpt_tos == [EDITOR]
    finally:
        server.stop()
        app.close()


def test_secrets_appear_in_no_log_table_or_file(
    tmp_path: Path, db_url: str, site: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = MailServer(
        auth_require_tls=False, authenticator=password_checker("monitor", SECRET)
    ).start()
    smtp = smtp_settings(server.port, user="monitor", password=SECRET)
    app = mail_app(tmp_path, db_url, site, smtp, feed(MATERIALS))
    try:
        app.deliverer.digest(app.week("2026-W47"), send=True)
        assert len(server.wait_for(1)) == 1
        wrong = smtp_settings(server.port, user="monitor", password=SECRET + "-old")
        app.settings = app.settings.__class__(**(app.settings.__dict__ | {"smtp": wrong}))
        app.deliverer.digest(app.week("2026-W47"), send=True, resend=True)  # a failing login
        texts = [caplog.text, repr(app.settings)]
        texts += [p.read_text(encoding="utf-8") for p in (tmp_path / "digests").iterdir()]
        texts += database_text(app)
        secrets = [SECRET, make_url(db_url).password or SECRET]  # and the database's password
        leaks = [t[:300] for t in texts for secret in secrets if str(secret) in t]
        assert texts and not leaks
        (delivery,) = app.outbox.deliveries()
        assert delivery.status == "pending" and delivery.last_error  # the failed login is kept
    finally:
        server.stop()
        app.close()


def database_text(app: Any) -> list[str]:
    """Every text value of every table."""
    out = []
    with app.store.session() as s:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            if columns:
                out += [str(v) for row in s.execute(select(*columns)) for v in row if v]
    return out


def test_hostile_text_is_escaped_in_the_email(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    server = MailServer().start()
    titles = ['<script>alert("x")</script> graphene membrane pilot plant']
    body = feed(titles, summary='<img src=x onerror="alert(1)"> semiconductor fab')
    app = mail_app(tmp_path, db_url, site, smtp_settings(server.port), body)
    try:
        app.deliverer.digest(app.week("2026-W47"), send=True)
        (got,) = server.wait_for(1)
        html = got.message.get_body(("html",)).get_content()
        assert "<script" not in html and "onerror=" not in html.replace("onerror=&", "")
        assert "graphene membrane" in html
    finally:
        server.stop()
        app.close()


def test_the_endpoint_survives_garbage_huge_headers_and_slow_clients(tmp_path: Path) -> None:
    port = free_port()
    cfg = base_config(sources=[])
    cfg["service"] = {"http_port": port, "http_idle_timeout": "2s"}
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'e.db'}", cfg, Clock(datetime.now(UTC)))
    service = Service(app)
    service.start(paused=True)
    abusers = []
    try:
        for payload in (
            b"\x00\xff\xfe garbage \r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\n",  # never finished (slowloris)
            b"POST /healthz HTTP/1.1\r\nContent-Length: 999999999\r\n\r\nxx",
        ):
            conn = socket.create_connection(("127.0.0.1", port))
            conn.sendall(payload)
            abusers.append(conn)
        started = time.monotonic()
        assert get(port, "/healthz")[0] == 200
        status, metrics = get(port, "/metrics")
        assert status == 200 and b"monitor_polls" in metrics
        assert get(port, "/../../etc/passwd")[0] == 404
        assert time.monotonic() - started < 2
    finally:
        for conn in abusers:
            conn.close()
        service.stop()
        app.close()
