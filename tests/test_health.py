"""Source health: incidents open once and close once; maintainers get one alert each way."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pytest_httpserver import HTTPServer

from monitor import incidents
from monitor.health import SourceStats, evaluate, expected_gap
from tests.conftest import Clock, base_config, data, make_app, serve, smtp_settings, source
from tests.mailserver import MailServer

NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)


def stats(**changes: object) -> SourceStats:
    base = SourceStats(
        "s", "S", "rss", 0, None, "ok", (), NOW, date(2026, 5, 19), (3, 2, 4, 3, 2, 3, 4, 3)
    )
    return SourceStats(**(base.__dict__ | changes))  # type: ignore[arg-type]


def verdicts(s: SourceStats) -> dict[str, bool]:
    return {v.kind: v.open for v in evaluate(s, NOW, threshold=3, silence_factor=4)}


def test_healthy_source() -> None:
    assert verdicts(stats()) == {"failing": False, "empty": False, "silent": False}


def test_failing_after_threshold() -> None:
    assert verdicts(stats(consecutive_failures=2))["failing"] is False
    assert verdicts(stats(consecutive_failures=3, last_error="HTTP 500"))["failing"] is True


def test_empty_selectors_on_a_200() -> None:
    warning = ("selector item='li.post' matched nothing",)
    assert verdicts(stats(kind="html", last_warnings=warning))["empty"] is True
    assert (
        verdicts(stats(kind="html", last_warnings=warning, last_outcome="error"))["empty"] is False
    )


def test_silence_relative_to_the_usual_rate() -> None:
    assert expected_gap((3, 2, 4, 3, 2, 3, 4, 3)) == timedelta(days=7 * 8 / 24)
    # about one item every 2.3 days: 4 x that (with a 3-day floor) is about 9 days
    assert verdicts(stats(last_item_date=date(2026, 5, 12)))["silent"] is False
    assert verdicts(stats(last_item_date=date(2026, 5, 5)))["silent"] is True
    # a source that publishes once a month is not silent after two weeks
    monthly = (1, 0, 0, 0, 1, 0, 0, 0)
    assert (
        verdicts(stats(weekly_counts=monthly, last_item_date=date(2026, 5, 6)))["silent"] is False
    )
    # too little history: no judgement
    assert verdicts(stats(weekly_counts=(0,) * 8, last_item_date=None))["silent"] is False


def test_five_failures_give_one_alert_and_one_recovery(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    calls = {"n": 0}

    def flaky(_request):  # type: ignore[no-untyped-def]
        from werkzeug import Response

        calls["n"] += 1
        if calls["n"] <= 5:
            return Response("down", status=500)
        return Response(data("ukri_wordpress_feed.xml"), content_type="application/rss+xml")

    site.expect_request("/flaky/feed/").respond_with_handler(flaky)
    serve(site, "/ok/feed/", data("nsf_news_rss.xml"), "application/rss+xml")
    cfg = base_config(
        sources=[
            source("flaky", "rss", site.url_for("/flaky/feed/"), "ukri"),
            source("steady", "rss", site.url_for("/ok/feed/"), "nsf"),
        ],
    )
    cfg["http"]["retries"] = 0
    cfg["service"] = {"failure_threshold": 3, "maintainers": ["maint@example.org"]}
    clock = Clock(NOW)
    app = make_app(tmp_path, db_url, cfg, clock, smtp=smtp_settings(mailserver.port))
    mail_from = app.settings.smtp.mail_from
    changes = []
    for _ in range(6):
        app.poll()
        changes += incidents.check(app.health, app.config, clock(), mail_from)
        app.deliverer.send_alerts()
        clock.now += timedelta(hours=1)
    assert changes == ["flaky failing opened", "flaky failing recovered"]
    received = mailserver.wait_for(2)
    assert [r.message["Subject"] for r in received] == [
        "[monitor] source flaky is failing",
        "[monitor] source flaky recovered (failing)",
    ]
    assert all(r.rcpt_tos == ["maint@example.org"] for r in received)
    assert "HTTP 500" in received[0].message.get_content()
    assert app.health.incidents() == []
    assert [a.status for a in app.outbox.alerts()] == ["sent", "sent"]
    app.close()


def test_redesigned_page_alert(tmp_path: Path, db_url: str, site: HTTPServer) -> None:
    serve(site, "/wh/news/", data("whitehouse_listing.html"), "text/html")
    cfg = base_config(
        sources=[
            source(
                "wh",
                "html",
                site.url_for("/wh/news/"),
                "whitehouse",
                selectors={"item": "article.gone", "title": "h2 a"},
            ),
        ],
    )
    app = make_app(tmp_path, db_url, cfg, Clock(NOW))
    app.poll()
    assert incidents.check(app.health, app.config, NOW, "m@x.org") == ["wh empty opened"]
    app.poll()  # the same page again: no second alert
    assert incidents.check(app.health, app.config, NOW, "m@x.org") == []
    (incident,) = app.health.incidents()
    assert incident.kind == "empty" and "redesigned" in (incident.detail or "")
    (alert,) = app.deliverer.send_alerts()  # no maintainers configured: logged
    assert alert[1] == "sent"
    app.close()
