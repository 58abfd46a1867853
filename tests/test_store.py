from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import inspect

from monitor.config import SourceConfig
from monitor.items import Classification, Entry
from monitor.store import Store
from monitor.store.db import current_revision
from monitor.store.sources import PollRecord

NOW = datetime(2026, 5, 14, 8, 0, tzinfo=UTC)
DECISION = Classification(True, 0.9, ("semiconductors",), "funding", ("semiconductors: 'chips'",))


def entry(url: str = "https://www.nsf.gov/news/chips/?WT.mc_id=1", **changes: object) -> Entry:
    from monitor.dedup import canonical_url, clean_link

    base = Entry(
        source_id="nsf-news",
        publisher="nsf",
        canonical_url=canonical_url(url),
        url=clean_link(url),
        guid=None,
        title="NSF invests in chips",
        summary="Grants for chip research.",
        published_at=NOW,
        published_date=date(2026, 5, 14),
        date_source="feed",
        date_note=None,
        language="en",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def store_source(source_id: str) -> SourceConfig:
    publisher = {"nsf-news": "nsf", "partner": "whitehouse"}[source_id]
    return SourceConfig(
        id=source_id,
        name=source_id,
        kind="rss",
        url=f"https://{source_id}.gov/feed",
        publisher=publisher,
    )


def sources(store: Store) -> None:
    store.sync_sources([store_source("nsf-news"), store_source("partner")], NOW)


def test_migrations_create_the_schema_and_are_idempotent(db_url: str) -> None:
    store = Store(db_url)
    tables = set(inspect(store.engine).get_table_names())
    assert {"sources", "items", "item_sources", "polls", "digests", "deliveries"} <= tables
    assert current_revision(store.engine) is not None
    store.close()
    again = Store(db_url)  # a restart applies nothing twice
    assert current_revision(again.engine) == current_revision(store.engine)
    again.close()


def test_new_then_unchanged_then_updated(db_url: str) -> None:
    store = Store(db_url)
    sources(store)
    first = store.save_entries([(entry(), DECISION)], NOW)
    assert (first.new, first.updated) == (1, 0)
    same = store.save_entries([(entry(url="http://nsf.gov/news/chips"), DECISION)], NOW)
    assert (same.new, same.updated) == (0, 0) and same.item_ids == first.item_ids
    changed = store.save_entries(
        [(entry(title="NSF invests $42M in chips"), DECISION)], NOW + timedelta(hours=6)
    )
    assert (changed.new, changed.updated) == (0, 1) and changed.item_ids == first.item_ids
    item = store.item(first.item_ids[0])
    assert item is not None and item.title == "NSF invests $42M in chips"
    assert item.url == "https://www.nsf.gov/news/chips/"  # shown as published, without tracking
    store.close()


def test_same_url_from_two_sources_is_one_item_linked_twice(db_url: str) -> None:
    store = Store(db_url)
    sources(store)
    a = store.save_entries([(entry(), DECISION)], NOW)
    b = store.save_entries([(entry(source_id="partner", publisher="whitehouse"), DECISION)], NOW)
    assert b.new == 0 and a.item_ids == b.item_ids
    item = store.item(a.item_ids[0])
    assert item is not None
    assert sorted(m.source_id for m in item.mentions) == ["nsf-news", "partner"]
    store.close()


def test_a_second_source_never_replaces_a_fuller_title_summary_or_topics(db_url: str) -> None:
    store = Store(db_url)
    sources(store)
    full = entry(
        title="NSF invests $42M in chips for the next generation of semiconductor research",
        summary="The U.S. National Science Foundation announced grants to 12 universities "
        "for research on advanced packaging and new materials for chips.",
    )
    first = store.save_entries([(full, DECISION)], NOW)
    listing = entry(source_id="partner", title="NSF chips", summary="Joint announcement with NSF.")
    short = Classification(True, 0.6, ("advanced-manufacturing",), "funding", ("x",))
    again = NOW + timedelta(hours=3)
    for _ in range(2):  # the second time the partner is already linked: still not its item
        store.save_entries([(listing, short)], again)
        item = store.item(first.item_ids[0])
        assert item is not None
        assert item.title == full.title and item.summary == full.summary
        assert item.topics == ("semiconductors", "advanced-manufacturing")  # added, not replaced
        assert item.score == 0.9  # the decision made on the fuller text
    edited = store.save_entries(
        [(replace(full, title="NSF invests $43M in chips"), DECISION)], again
    )
    item = store.item(first.item_ids[0])
    assert edited.updated == 1 and item is not None
    assert item.title == "NSF invests $43M in chips"  # the item's own source edits it
    store.close()


def test_guid_keeps_identity_when_the_url_changes(db_url: str) -> None:
    """Only for a source known to change URLs (``urls_change: true``)."""
    store = Store(db_url)
    sources(store)
    a = store.save_entries([(entry(guid="urn:nsf:123", match_guid=True), DECISION)], NOW)
    moved = entry(url="https://new.nsf.gov/news/chips-moved", guid="urn:nsf:123", match_guid=True)
    b = store.save_entries([(moved, DECISION)], NOW)
    assert b.new == 0 and b.item_ids == a.item_ids
    store.close()


def test_same_story_from_another_source(db_url: str) -> None:
    store = Store(db_url)
    sources(store)
    a = store.save_entries(
        [(entry(title="NSF awards $42.4 million to strengthen semiconductor workforce"), DECISION)],
        NOW,
    )
    b = store.save_entries(
        [
            (
                entry(
                    url="https://www.whitehouse.gov/briefings/nsf-semiconductor-workforce/",
                    source_id="partner",
                    publisher="whitehouse",
                    title="NSF awards $42.4 million to strengthen the semiconductor workforce",
                ),
                DECISION,
            )
        ],
        NOW,
    )
    assert b.new == 1
    first, second = store.item(a.item_ids[0]), store.item(b.item_ids[0])
    assert first and second and first.story_id == second.story_id == first.id
    store.close()


def test_preparing_stories_never_loads_recent_items(db_url: str) -> None:
    """A poll readies the story index while its first requests are on the wire, but only when
    that costs nothing: loading recent items (their features) waits for a new item to store."""
    store = Store(db_url)
    sources(store)
    store.prepare_stories()  # nothing stored yet: ready at once
    assert store.stories.loaded
    store.save_entries([(entry(), DECISION)], datetime.now(UTC))
    store.close()
    again = Store(db_url)  # another run: an unchanged round stores nothing
    again.prepare_stories()
    assert not again.stories.loaded and len(again.stories.index) == 0
    again.save_entries([(entry(url="https://www.nsf.gov/news/other/"), DECISION)], NOW)
    assert again.stories.loaded
    again.close()


def test_a_later_date_replaces_first_seen(db_url: str) -> None:
    store = Store(db_url)
    sources(store)
    undated = entry(published_at=None, published_date=None, date_source="first_seen")
    a = store.save_entries([(undated, DECISION)], NOW)
    b = store.save_entries([(entry(), DECISION)], NOW)
    assert b.updated == 1
    item = store.item(a.item_ids[0])
    assert item and item.published_date == date(2026, 5, 14) and item.date_source == "feed"
    store.close()


def test_poll_records_and_source_state(db_url: str) -> None:
    store = Store(db_url)
    sources(store)
    ok = PollRecord(
        "nsf-news",
        NOW,
        NOW,
        "ok",
        200,
        3,
        3,
        0,
        etag='"e1"',
        validators_for=store_source("nsf-news").fingerprint(),
    )
    store.record_poll(ok)
    store.save_entries([(entry(), DECISION)], NOW)
    state = store.source_state("nsf-news")
    assert state.etag == '"e1"'
    assert store.known_urls("nsf-news", ["https://nsf.gov/news/chips", "https://x.org/"]) == {
        "https://nsf.gov/news/chips"
    }
    for _ in range(2):
        store.record_poll(PollRecord("nsf-news", NOW, NOW, "error", 500, error="HTTP 500"))
    status = {s.id: s for s in store.statuses(NOW)}["nsf-news"]
    assert status.consecutive_failures == 2 and status.last_error == "HTTP 500"
    assert status.last_success_at == NOW and status.items_7d == 1
    store.record_poll(PollRecord("nsf-news", NOW, NOW, "not_modified", 304))
    assert {s.id: s for s in store.statuses(NOW)}["nsf-news"].consecutive_failures == 0
    store.close()


def test_changed_source_url_drops_its_validators(db_url: str) -> None:
    store = Store(db_url)
    sources(store)
    store.record_poll(
        PollRecord(
            "nsf-news", NOW, NOW, "ok", 200, etag='"e1"', validators_for="an older definition"
        )
    )
    assert store.source_state("nsf-news").etag is None  # the configured URL is another one
    store.close()


def test_the_head_revision_constant_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    from monitor.store.db import HEAD_REVISION, alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION
