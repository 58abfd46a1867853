"""Fault matrix, storage rows: item identity under odd feeds, races between instances, and a
database that is locked while a poll stores or releases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytest_httpserver import HTTPServer

from monitor.store import Store
from tests.conftest import Clock, base_config, make_app, source

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def rss(items: list[tuple[str, str, str]]) -> bytes:
    """(guid, link, title) items, published on 2026-11-20."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><link>{link}</link><title>{title}</title>"
        "<pubDate>Fri, 20 Nov 2026 08:00:00 GMT</pubDate></item>"
        for guid, link, title in items
    )
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>'
    return f"{head}{body}</channel></rss>".encode()


def test_items_sharing_a_guid_are_all_kept(tmp_path: Path, db_url: str, site: HTTPServer) -> None:
    # before: four items with one GUID became one row (item 0's URL, item 3's title)
    items = [
        ("same-guid", f"https://agency.example.gov/news/{i}", f"Award number {i}") for i in range(4)
    ]
    site.expect_request("/feed.xml").respond_with_data(
        rss(items), content_type="application/rss+xml"
    )
    cfg = base_config(sources=[source("dup", "rss", site.url_for("/feed.xml"), "nsf")])
    app = make_app(tmp_path, db_url, cfg, Clock(NOW))
    (record,) = app.poll()
    assert record.outcome == "ok" and record.new == 4
    stored = app.store.items_in_period(NOW.date() - timedelta(days=7), NOW.date(), NOW, NOW)
    assert sorted((i.url, i.title) for i in stored) == [(link, title) for _, link, title in items]
    app.close()


def test_a_source_known_to_change_urls_keeps_identity_by_guid(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    first = [("urn:item:1", "https://agency.example.gov/old/1", "Pilot plant opens")]
    moved = [("urn:item:1", "https://agency.example.gov/new/1", "Pilot plant opens")]
    site.expect_oneshot_request("/feed.xml").respond_with_data(rss(first))
    site.expect_oneshot_request("/feed.xml").respond_with_data(rss(moved))
    cfg = base_config(
        sources=[source("moves", "rss", site.url_for("/feed.xml"), "nsf", urls_change=True)]
    )
    app = make_app(tmp_path, db_url, cfg, Clock(NOW))
    assert app.poll()[0].new == 1
    assert app.poll()[0].new == 0  # the same item, at its new URL
    app.close()


def test_instances_starting_at_once_sync_sources_without_a_race(
    tmp_path: Path, db_url: str
) -> None:
    # before: read-then-insert in sync_sources: UniqueViolation on sources_pkey, the loser exited 1
    cfg = base_config(
        sources=[source(f"s{i}", "rss", f"https://s{i}.example.org/f", "nsf") for i in range(30)]
    )
    app = make_app(tmp_path, db_url, cfg, Clock(NOW))
    app.store.close()  # migrated; the rows are synced by the racers below
    errors: list[BaseException] = []
    barrier = threading.Barrier(5)

    def start() -> None:
        store = Store(db_url, migrate=False)
        try:
            barrier.wait()
            store.sync_sources(app.config.sources, NOW)
        except BaseException as e:
            errors.append(e)
        finally:
            store.close()

    store = Store(db_url, migrate=False)
    with store.session() as s:  # a fresh table, as on a first start
        from sqlalchemy import delete

        from monitor.store.models import SourceRow

        s.execute(delete(SourceRow))
    threads = [threading.Thread(target=start) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.due_times()) == 30
    store.close()


def test_a_locked_database_loses_nothing_and_strands_no_source(
    tmp_path: Path, site: HTTPServer
) -> None:
    # before: a lock while storing left no trace in `status`; a release that failed under the
    # lock left the claim in place: the source went unpolled for 15.7 min at a 20 s interval
    import sqlite3
    import time

    from monitor.service import Service

    fetching = threading.Event()

    def slow_feed(_request: object) -> object:
        from werkzeug import Response

        fetching.set()
        time.sleep(0.5)
        items = [("g1", "https://agency.example.gov/news/1", "Battery materials award")]
        return Response(rss(items), content_type="application/rss+xml")

    site.expect_request("/feed.xml").respond_with_handler(slow_feed)
    path = tmp_path / "locked.db"
    cfg = base_config(
        sources=[source("s", "rss", site.url_for("/feed.xml"), "nsf", interval="20s")]
    )
    cfg["service"] = {"http_port": 0, "jitter": "0s", "failure_retry": "5m"}
    clock = Clock(NOW)
    app = make_app(tmp_path, f"sqlite:///{path}?timeout=0.2", cfg, clock)
    service = Service(app)
    service.start(paused=True)
    locker = sqlite3.connect(path, timeout=5, isolation_level=None)
    try:
        assert service.dispatch_due() == ["s"]
        assert fetching.wait(5)
        locker.execute("BEGIN EXCLUSIVE")  # another writer holds the database meanwhile
        time.sleep(2)  # the poll ends: storing, recording and releasing all fail
        assert service._inflight == set() and len(service._retries) == 2
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    service.dispatch_due()  # the next tick writes what was kept
    assert not service._retries
    status = {s.id: s for s in app.store.statuses(NOW)}["s"]
    assert status.last_outcome == "error" and "storing failed" in (status.last_error or "")
    assert "database is locked" in (status.last_error or "")
    due = app.store.due_times()["s"]
    assert due is not None and due <= NOW + timedelta(seconds=20)  # min(interval, retry)
    clock.now = NOW + timedelta(seconds=21)
    site.clear()
    site.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    site.expect_request("/feed.xml").respond_with_handler(slow_feed)
    assert service.dispatch_due() == ["s"]  # polled again at once, not after a lease
    service.pool.shutdown(wait=True)
    stored = app.store.items_in_period(NOW.date() - timedelta(days=7), NOW.date(), NOW, NOW)
    assert [i.title for i in stored] == ["Battery materials award"]  # nothing lost
    service.stop()
    app.close()
