"""Digest emails arrive once: recorded before sending, claimed, marked sent; retried on failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from monitor.cli import cli
from tests.conftest import Clock, base_config, data, make_app, serve, smtp_settings, source
from tests.mailserver import MailServer, free_port

EDITORS = ["editor-a@example.org", "editor-b@example.org"]


def config(site: HTTPServer, **service: Any) -> dict[str, Any]:
    serve(site, "/ukri/feed/", data("ukri_wordpress_feed.xml"), "application/rss+xml")
    cfg = base_config(sources=[source("ukri-news", "rss", site.url_for("/ukri/feed/"), "ukri")])
    cfg["digest"]["profiles"]["cas"]["recipients"] = EDITORS
    cfg["digest"]["profiles"] = {"cas": cfg["digest"]["profiles"]["cas"]}
    cfg["service"] = {"delivery_backoff": "10s", "delivery_attempts": 3, **service}
    return cfg


def week_of_fixture(app: Any) -> Any:
    return app.week("2024-W39")


def sent_app(
    tmp_path: Path, db_url: str, cfg: dict[str, Any], smtp: Any
) -> tuple[Any, Clock, list[Any]]:
    """An app a week after the fixture week, polled once, its digest recorded and tried."""
    clock = Clock(datetime(2024, 10, 2, tzinfo=UTC))
    app = make_app(tmp_path, db_url, cfg, clock, smtp=smtp)
    app.poll()
    return app, clock, app.deliverer.digest(week_of_fixture(app), send=True)


def test_send_twice_sends_once(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    app, _, first = sent_app(tmp_path, db_url, config(site), smtp_settings(mailserver.port))
    assert [o.note for o in first] == ["queued"]
    assert [d.status for d in app.outbox.deliveries()] == ["sent", "sent"]
    assert len(mailserver.wait_for(2)) == 2
    second = app.deliverer.digest(week_of_fixture(app), send=True)
    assert second[0].note == "already sent (use --resend to send again)"
    assert len(mailserver.received) == 2
    assert sorted(r.rcpt_tos[0] for r in mailserver.received) == EDITORS
    subject = mailserver.received[0].message["Subject"]
    assert subject.startswith("先进制造与新材料动态监测快报（2024-W39，")
    again = app.deliverer.digest(week_of_fixture(app), send=True, resend=True)
    assert again[0].note == "queued"
    assert len(mailserver.wait_for(4)) == 4
    ids = [r.message["Message-ID"] for r in mailserver.received]
    assert sorted(ids[0:2]) == sorted(ids[2:4])  # the same messages again
    app.close()


def test_smtp_down_then_up_sends_once_after_recovery(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    port = free_port()
    app, clock, _ = sent_app(tmp_path, db_url, config(site), smtp_settings(port, timeout=2.0))
    pending = app.outbox.deliveries(status="pending")
    assert len(pending) == 2 and all("SMTP" in (d.last_error or "") for d in pending)
    assert all(d.next_attempt_at == clock.now + timedelta(seconds=10) for d in pending)
    assert app.deliverer.send_due() == []  # not due yet: backoff
    server = MailServer(port=port).start()
    try:
        clock.now += timedelta(seconds=11)
        results = app.deliverer.send_due()
        assert [status for _, status in results] == ["sent", "sent"]
        clock.now += timedelta(minutes=5)
        assert app.deliverer.send_due() == []
        assert len(server.wait_for(2)) == 2
        assert len(server.received) == 2
    finally:
        server.stop()
    app.close()


def test_gives_up_after_the_last_attempt_and_retry_requeues(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    port = free_port()
    app, clock, _ = sent_app(tmp_path, db_url, config(site), smtp_settings(port, timeout=1.0))
    for _ in range(3):
        clock.now += timedelta(minutes=10)
        app.deliverer.send_due()
    failed = app.outbox.deliveries(status="failed")
    assert len(failed) == 2 and all(d.attempts == 3 for d in failed)
    assert app.outbox.requeue_deliveries(clock.now) == 2
    assert len(app.outbox.deliveries(status="pending")) == 2
    app.close()


def test_a_claimed_delivery_is_not_sent_by_another_instance(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    clock = Clock(datetime(2024, 10, 2, tzinfo=UTC))
    cfg = config(site, delivery_lease="5m")
    one = make_app(tmp_path, db_url, cfg, clock, smtp=smtp_settings(mailserver.port))
    two = make_app(
        tmp_path, db_url, cfg, clock, smtp=smtp_settings(mailserver.port), instance="other"
    )
    one.poll()
    one.deliverer.digest(week_of_fixture(one), send=False)
    week = week_of_fixture(one).label
    from monitor.notify.email import digest_message_id

    one.outbox.ensure_deliveries(
        week, "cas", EDITORS, lambda r: digest_message_id(week, "cas", r, "m@x.org"), clock.now
    )
    (first, second) = one.outbox.due_deliveries(clock.now)
    assert one.outbox.claim_delivery(first.id, clock.now, timedelta(minutes=5))
    assert not two.outbox.claim_delivery(first.id, clock.now, timedelta(minutes=5))
    # the other instance sends only what nobody holds
    assert [(d.id, s) for d, s in two.deliverer.send_due()] == [(second.id, "sent")]
    # the claimer dies: once its lease expires the delivery is sent, with the same Message-ID
    clock.now += timedelta(minutes=6)
    assert [(d.id, s) for d, s in two.deliverer.send_due()] == [(first.id, "sent")]
    received = mailserver.wait_for(2)
    assert sorted(r.rcpt_tos[0] for r in received) == EDITORS
    assert first.message_id in [r.message["Message-ID"] for r in received]
    one.close()
    two.close()


def test_cli_send_twice_sends_once(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    from tests.conftest import write_config

    path = write_config(tmp_path / "sources.yaml", config(site))
    env = {
        "MONITOR_DATABASE_URL": db_url,
        "MONITOR_ALLOW_PRIVATE_HOSTS": "1",
        "MONITOR_DIGEST_DIR": str(tmp_path / "digests"),
        "MONITOR_CONFIG": str(path),
        "MONITOR_SMTP_HOST": "127.0.0.1",
        "MONITOR_SMTP_PORT": str(mailserver.port),
        "MONITOR_SMTP_TLS": "none",
        "MONITOR_DIGEST_TO": "chief@example.org",
    }
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], env=env).exit_code == 0
    first = runner.invoke(cli, ["digest", "--week", "2024-W39", "--send"], env=env)
    assert first.exit_code == 0, first.output
    assert "chief@example.org: sent" in first.output
    second = runner.invoke(cli, ["digest", "--week", "2024-W39", "--send"], env=env)
    assert second.exit_code == 0 and "already sent" in second.output
    assert len(mailserver.wait_for(1)) == 1 and mailserver.received[0].rcpt_tos == [
        "chief@example.org"
    ]  # MONITOR_DIGEST_TO overrides the profile's recipients
    resend = runner.invoke(cli, ["digest", "--week", "2024-W39", "--send", "--resend"], env=env)
    assert resend.exit_code == 0 and len(mailserver.wait_for(2)) == 2
    listed = runner.invoke(cli, ["deliveries"], env=env)
    assert "chief@example.org" in listed.output and "sent" in listed.output
    no_smtp = {k: v for k, v in env.items() if k != "MONITOR_SMTP_HOST"}
    refused = runner.invoke(cli, ["digest", "--week", "2024-W39", "--send"], env=no_smtp)
    assert refused.exit_code == 2 and "MONITOR_SMTP_HOST" in refused.output


def test_markdown_attached_when_the_profile_asks(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    cfg = config(site)
    cfg["digest"]["profiles"]["cas"]["attach_markdown"] = True
    app = make_app(
        tmp_path,
        db_url,
        cfg,
        Clock(datetime(2024, 10, 2, tzinfo=UTC)),
        smtp=smtp_settings(mailserver.port),
    )
    app.poll()
    app.deliverer.digest(week_of_fixture(app), send=True)
    message = mailserver.wait_for(2)[0].message
    assert message.get_content_type() == "multipart/mixed"
    alternative, attached = message.iter_parts()
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert attached.get_filename() == "2024-W39.cas.md"
    assert "# 先进制造与新材料动态监测快报" in attached.get_content()
    app.close()


def test_cli_deliveries_retry(tmp_path: Path, db_url: str, site: HTTPServer) -> None:
    from tests.conftest import write_config

    port = free_port()
    path = write_config(tmp_path / "sources.yaml", config(site, delivery_attempts=1))
    env = {
        "MONITOR_DATABASE_URL": db_url,
        "MONITOR_ALLOW_PRIVATE_HOSTS": "1",
        "MONITOR_DIGEST_DIR": str(tmp_path / "digests"),
        "MONITOR_CONFIG": str(path),
        "MONITOR_SMTP_HOST": "127.0.0.1",
        "MONITOR_SMTP_PORT": str(port),
        "MONITOR_SMTP_TLS": "none",
    }
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], env=env).exit_code == 0
    down = runner.invoke(cli, ["digest", "--week", "2024-W39", "--send"], env=env)
    assert down.exit_code == 1 and "failed" in down.output
    status = runner.invoke(cli, ["status"], env=env)
    assert "2 failed" in status.output and "failed: 2024-W39 cas" in status.output
    server = MailServer(port=port).start()
    try:
        retried = runner.invoke(cli, ["deliveries", "retry"], env=env)
        assert retried.exit_code == 0, retried.output
        assert "2 failed deliveries queued again; sent now: 2 of 2" in retried.output
        assert len(server.wait_for(2)) == 2
    finally:
        server.stop()
