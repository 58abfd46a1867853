"""Due times kept in the database drive the schedule; claims keep polls from running twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.schedule import parse_schedule
from monitor.scheduler import first_run
from monitor.service import Service
from tests.conftest import Clock, base_config, make_app, source

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
HOUR, TEN_MIN = timedelta(hours=1), timedelta(minutes=10)


def test_first_run_keeps_due_times_and_spreads_overdue_sources() -> None:
    assert first_run(NOW + HOUR, NOW, 6 * HOUR, TEN_MIN) == NOW + HOUR
    starts = [first_run(NOW - HOUR, NOW, 6 * HOUR, TEN_MIN) for _ in range(200)]
    assert all(NOW < s <= NOW + TEN_MIN for s in starts)
    assert len({s.replace(microsecond=0) for s in starts}) > 50  # spread, not all at once
    never = first_run(None, NOW, 6 * HOUR, TEN_MIN)
    assert NOW < never <= NOW + TEN_MIN


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


def test_service_schedules_sources_at_their_due_times(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    cfg = base_config(
        sources=[
            source("due-later", "rss", site.url_for("/a.xml"), "nsf", interval="6h"),
            source("overdue", "rss", site.url_for("/b.xml"), "nsf", interval="6h"),
        ]
    )
    cfg["service"] = {"jitter": "10m", "http_port": 0}
    app = make_app(tmp_path, db_url, cfg, Clock(NOW))
    app.store.release_source("due-later", NOW + 2 * HOUR)
    app.store.release_source("overdue", NOW - 3 * HOUR)
    service = Service(app)
    service.start(paused=True)
    jobs = {j.id: j for j in service.scheduler.get_jobs()}
    assert jobs["poll:due-later"].next_run_time == NOW + 2 * HOUR
    assert NOW < jobs["poll:overdue"].next_run_time <= NOW + TEN_MIN
    assert {"digest", "health", "outbox"} <= set(jobs)
    assert jobs["poll:overdue"].max_instances == 1 and jobs["poll:overdue"].coalesce
    service.stop()
    app.close()


def test_schedules() -> None:
    trigger = parse_schedule("mon 08:00", "Asia/Shanghai")
    fire = trigger.get_next_fire_time(None, NOW)  # 2026-11-23 is a Monday; 08:00 UTC = 16:00
    assert fire is not None and fire.isoformat() == "2026-11-30T08:00:00+08:00"
    assert parse_schedule("0 8 * * mon", "UTC").get_next_fire_time(None, NOW) == NOW
    with pytest.raises(ValueError, match="not a schedule"):
        parse_schedule("whenever")
