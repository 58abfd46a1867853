"""Due times kept in the database drive the schedule; claims keep polls from running twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.schedule import parse_schedule
from monitor.service import Service
from tests.conftest import Clock, base_config, make_app, source

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
HOUR, TEN_MIN = timedelta(hours=1), timedelta(minutes=10)


def test_claims(tmp_path: Path, db_url: str) -> None:
    cfg = base_config(sources=[source("a", "rss", "https://a.gov/feed", "nsf")])
    app = make_app(tmp_path, db_url, cfg, Clock(NOW))
    store = app.store
    lease, early = timedelta(minutes=15), timedelta(seconds=30)
    assert store.claim_source("a", NOW, lease, "one", early)  # never polled: due
    assert not store.claim_source("a", NOW, lease, "two", early)  # under way elsewhere
    store.release_source("a", NOW + 6 * HOUR)
    assert store.due_times()["a"] == NOW + 6 * HOUR
    assert not store.claim_source("a", NOW + HOUR, lease, "two", early)  # not due yet
    assert store.claim_source("a", NOW + 6 * HOUR - timedelta(seconds=10), lease, "two", early)
    # a poller that died: its claim expires after the lease
    later = NOW + 7 * HOUR
    assert not store.claim_source("a", later - timedelta(minutes=50), lease, "three", early)
    assert store.claim_source("a", later, lease, "three", early)
    app.close()


def test_due_sources_come_longest_overdue_first_and_expired_claims_are_due(
    tmp_path: Path, db_url: str
) -> None:
    cfg = base_config(sources=[source(i, "rss", f"https://{i}.gov/feed", "nsf") for i in "abcde"])
    app = make_app(tmp_path, db_url, cfg, Clock(NOW))
    store, lease = app.store, timedelta(minutes=5)
    store.release_source("a", NOW + HOUR)  # not due yet
    store.release_source("b", NOW - HOUR)  # overdue
    store.release_source("c", NOW - 2 * HOUR)  # longer overdue
    assert store.claim_source("d", NOW - 10 * TEN_MIN, lease, "dead")  # claim of a dead poller
    assert store.claim_source("e", NOW - timedelta(minutes=1), lease, "alive")  # still running
    ids = list("abcde")
    assert store.due_sources(ids, NOW, 10) == ["d", "c", "b"]  # never polled (d) first
    assert store.due_sources(ids, NOW, 2) == ["d", "c"]
    assert store.release_claims("alive") == ["e"]  # a restarted instance drops its own claims
    assert "e" in store.due_sources(ids, NOW, 10)
    app.close()


def test_dispatcher_polls_due_sources_only(tmp_path: Path, db_url: str, site: HTTPServer) -> None:
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    for name in ("a", "b", "c"):
        site.expect_request(f"/{name}.xml").respond_with_data(feed)
    cfg = base_config(
        sources=[
            source("due-later", "rss", site.url_for("/a.xml"), "nsf", interval="6h"),
            source("overdue", "rss", site.url_for("/b.xml"), "nsf", interval="6h"),
            source("new", "rss", site.url_for("/c.xml"), "nsf", interval="6h"),
        ]
    )
    cfg["service"] = {"jitter": "10m", "http_port": 0}
    clock = Clock(NOW)
    app = make_app(tmp_path, db_url, cfg, clock)
    app.store.release_source("due-later", NOW + 2 * HOUR)
    app.store.release_source("overdue", NOW - 3 * HOUR)
    service = Service(app)
    service.start(paused=True)
    assert sorted(service.dispatch_due()) == ["new", "overdue"]
    service.pool.shutdown(wait=True)
    due = app.store.due_times()
    assert due["due-later"] == NOW + 2 * HOUR
    for polled in ("new", "overdue"):  # next due one interval on, plus up to the jitter
        due_at = due[polled]
        assert due_at is not None and NOW + 6 * HOUR <= due_at <= NOW + 6 * HOUR + TEN_MIN
    assert {s.id for s in app.store.statuses(NOW) if s.last_outcome == "ok"} == {"new", "overdue"}
    service.stop()
    app.close()


def test_schedules() -> None:
    trigger = parse_schedule("mon 08:00", "Asia/Shanghai")
    fire = trigger.get_next_fire_time(None, NOW)  # 2026-11-23 is a Monday; 08:00 UTC = 16:00
    assert fire is not None and fire.isoformat() == "2026-11-30T08:00:00+08:00"
    assert parse_schedule("0 8 * * mon", "UTC").get_next_fire_time(None, NOW) == NOW
    with pytest.raises(ValueError, match="not a schedule"):
        parse_schedule("whenever")
