"""Storing what one poll brought, in one transaction and a handful of statements.

The cost per item stays flat as the store grows: items are looked up by their key in one
``IN`` query per batch (a unique index), new items are inserted together (insert-or-ignore, so
two instances inserting the same item do not fail), links to the source likewise, and the story
of each new item comes from the in-memory story index (``StoryMemory``), never from a scan of
recent items.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Insert, Table, bindparam, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.dedup import fingerprint
from monitor.items import Classification, Entry
from monitor.store.models import ItemRow, ItemSourceRow, StoryMergeRow
from monitor.stories.features import Profile
from monitor.stories.match import StoryMatch

CHUNK = 500  # keys per IN (...) query
Fresh = tuple[str, Entry, Classification, "Profile | None"]  # a new item: key, ..., features


def url_key(canonical: str) -> str:
    return hashlib.sha1(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class SaveResult:
    new: int
    updated: int
    item_ids: tuple[int, ...]
    story_ids: tuple[int, ...] = ()  # of each item, in the order given


class Stories(Protocol):
    """Where the story of a new item comes from (``monitor.store.stories.StoryMemory``)."""

    def catch_up(self, session: Session) -> None: ...

    def story_of(
        self, item_id: int, entry: Entry, features: Profile | None
    ) -> StoryMatch | None: ...


Decided = tuple[Entry, Classification]
New = tuple[int, int, Entry, "Profile | None"]  # item id, story id, entry, story features
Merged = dict[int, int]  # story id → the story id its members now have


def save_batch(
    session: Session,
    dialect: str,
    decided: Sequence[Decided],
    now: datetime,
    stories: Stories | None,
    features: Sequence[Profile | None] | None = None,
) -> tuple[SaveResult, list[New], Merged]:
    """Insert new items, update changed ones, link every item to its source. Returns the
    result, the new items (id, story id, entry) and the stories merged into others (a new
    item bridged them), for the story index to learn once the transaction has committed."""
    keys = [url_key(e.canonical_url) for e, _ in decided]
    rows = _existing(session, keys, decided)
    if stories is not None:
        stories.catch_up(session)
    known = features or [None] * len(decided)
    fresh = [
        (k, e, d, f) for k, (e, d), f in zip(keys, decided, known, strict=True) if k not in rows
    ]
    inserted = _insert(session, dialect, fresh, now)
    for key in (k for k, _, _, _ in fresh if k not in inserted):  # another instance was first
        rows.update(_existing(session, [key], []))
    born, merged = _stories(session, inserted, fresh, stories)
    if merged:  # logged for the other instances' story indexes (``StoryMemory.catch_up``)
        session.execute(
            insert(StoryMergeRow),
            [{"story_id": a, "into_story_id": b, "merged_at": now} for a, b in merged.items()],
        )
    updated = 0
    changed = [
        (rows[k], e)
        for k, (e, _) in zip(keys, decided, strict=True)
        if k in rows
        and k not in inserted
        and fingerprint(e.title, e.summary) != rows[k].fingerprint
    ]
    owners = _owners(session, changed) if changed else {}
    for key, (entry, decision) in zip(keys, decided, strict=True):
        row = rows.get(key)
        if row is not None and key not in inserted:
            owner = owners.get(row.id, entry.source_id)
            updated += _update(row, entry, decision, now, owner == entry.source_id)
    ids = [inserted[k][0] if k in inserted else rows[k].id for k in keys]
    new_ids = {item_id for item_id, _ in inserted.values()}
    _link(session, dialect, ids, [e for e, _ in decided], now, new_ids)
    story_ids = [
        inserted[k][1] if k in inserted else (rows[k].story_id or rows[k].id) for k in keys
    ]
    if merged:
        story_ids = [merged.get(story_id, story_id) for story_id in story_ids]
    result = SaveResult(len(inserted), updated, tuple(ids), tuple(story_ids))
    return result, born, merged


def _existing(session: Session, keys: list[str], decided: Sequence[Decided]) -> dict[str, ItemRow]:
    """Stored items by key; for sources that change URLs, also by GUID."""
    rows: dict[str, ItemRow] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        rows.update(
            (r.url_key, r)
            for r in session.scalars(select(ItemRow).where(ItemRow.url_key.in_(chunk)))
        )
    by_guid = [(k, e) for k, (e, _) in zip(keys, decided, strict=False) if k not in rows]
    by_guid = [(k, e) for k, e in by_guid if e.match_guid and e.guid]
    if by_guid:
        source = by_guid[0][1].source_id
        guids = {e.guid: k for k, e in by_guid}
        query = (
            select(ItemSourceRow.guid, ItemRow)
            .join(ItemRow, ItemRow.id == ItemSourceRow.item_id)
            .where(ItemSourceRow.source_id == source, ItemSourceRow.guid.in_(list(guids)))
        )
        for guid, row in session.execute(query):
            rows.setdefault(guids[guid], row)
    return rows


def insert_ignore(dialect: str, table: Any) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING for the two databases we run on."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _insert(
    session: Session, dialect: str, fresh: list[Fresh], now: datetime
) -> dict[str, tuple[int, int]]:
    """Insert the new items; return key → (id, story id) of those this call inserted."""
    if not fresh:
        return {}
    values = [_values(key, entry, decision, now) for key, entry, decision, _ in fresh]
    table = ItemRow.__table__
    statement = insert_ignore(dialect, table).returning(table.c.id, table.c.url_key)
    inserted = {}
    connection = session.connection()  # Core, not the ORM: a plain executemany
    for start in range(0, len(values), CHUNK):
        for item_id, key in connection.execute(statement, values[start : start + CHUNK]):
            inserted[key] = (item_id, item_id)
    return inserted


def _values(key: str, entry: Entry, decision: Classification, now: datetime) -> dict[str, Any]:
    return {
        "url_key": key,
        "canonical_url": entry.canonical_url,
        "url": entry.url,
        "title": entry.title,
        "summary": entry.summary,
        "text": entry.text,
        "language": entry.language,
        "publisher": entry.publisher,
        "published_at": entry.published_at,
        "published_date": entry.published_date,
        "date_source": entry.date_source,
        "date_note": entry.date_note,
        "first_seen_at": now,
        "updated_at": now,
        "fingerprint": fingerprint(entry.title, entry.summary),
        "article_checked_at": now if entry.article_checked else None,
        **decision_values(decision),
    }


def decision_values(decision: Classification) -> dict[str, Any]:
    return {
        "relevant": decision.relevant,
        "score": decision.score,
        "section": decision.section,
        "topics": list(decision.topics),
        "why": list(decision.why),
        "classifier_version": decision.version,
    }


def _stories(
    session: Session,
    inserted: dict[str, tuple[int, int]],
    fresh: list[Fresh],
    stories: Stories | None,
) -> tuple[list[New], Merged]:
    """Give every inserted item its story: the one the index matches, else its own. When an
    item matches two stories (one announcement grouped twice before it bridged them), the
    others' stored members move to the story it matched best."""
    born: list[New] = []
    keys: list[str] = []  # of the items in ``born``
    merged: Merged = {}
    for key, entry, _, features in fresh:
        if key not in inserted:
            continue
        keys.append(key)
        item_id = inserted[key][0]
        found = stories.story_of(item_id, entry, features) if stories else None
        story_id = found.story_id if found else item_id
        for other in found.merges if found else ():
            merged[other] = story_id
        born.append((item_id, story_id, entry, features))
    if merged:
        merged = {other: _final(merged, other) for other in merged}
        born = [(i, _final(merged, s), e, f) for i, s, e, f in born]
    for key, (item_id, story_id, _, _) in zip(keys, born, strict=True):
        inserted[key] = (item_id, story_id)
    table: Table = ItemRow.__table__  # type: ignore[assignment]
    connection = session.connection()
    own = [item_id for item_id, story_id, _, _ in born if story_id == item_id]
    for start in range(0, len(own), CHUNK):  # a story of its own: one statement for all
        chunk = own[start : start + CHUNK]
        connection.execute(update(table).where(table.c.id.in_(chunk)).values(story_id=table.c.id))
    joined = [{"item": i, "story": s} for i, s, _, _ in born if s != i]
    if joined:
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("item"))
            .values(story_id=bindparam("story")),
            joined,
        )
    for other, story_id in merged.items():  # stored members, in the window or older
        connection.execute(
            update(table)
            .where(
                or_(table.c.story_id == other, (table.c.id == other) & table.c.story_id.is_(None))
            )
            .values(story_id=story_id)
        )
    return born, merged


def _final(merged: Merged, story_id: int) -> int:
    """Where a story's members end up after the merges of one batch (a merged story may be
    merged again)."""
    seen = set()
    while story_id in merged and story_id not in seen:
        seen.add(story_id)
        story_id = merged[story_id]
    return story_id


def _owners(session: Session, changed: Sequence[tuple[ItemRow, Entry]]) -> dict[int, str]:
    """Item id → the source that brought it first (its own source: its edits are edits)."""
    ids = sorted({row.id for row, _ in changed})
    found: dict[int, tuple[datetime, str]] = {}
    for start in range(0, len(ids), CHUNK):
        for item_id, source_id, seen in session.execute(
            select(
                ItemSourceRow.item_id, ItemSourceRow.source_id, ItemSourceRow.first_seen_at
            ).where(ItemSourceRow.item_id.in_(ids[start : start + CHUNK]))
        ):
            if item_id not in found or (seen, source_id) < found[item_id]:
                found[item_id] = (seen, source_id)
    return {item_id: source_id for item_id, (_, source_id) in found.items()}


def _update(
    row: ItemRow, entry: Entry, decision: Classification, now: datetime, own: bool = True
) -> bool:
    """A changed title or summary updates the item (it is never a new item); a date found
    later replaces a first-seen date; article text and checks are kept. Another source with
    the same URL (a listing's short title, a one-line blurb) never replaces a fuller title or
    summary, and adds its topics to the item's."""
    changed = False
    new_print = fingerprint(entry.title, entry.summary)
    if new_print != row.fingerprint and own:
        row.title, row.summary, row.fingerprint = entry.title, entry.summary, new_print
        for name, value in decision_values(decision).items():
            setattr(row, name, value)
        changed = True
    elif new_print != row.fingerprint:
        title = entry.title if len(entry.title) > len(row.title) else row.title
        summary = entry.summary if len(entry.summary) > len(row.summary or "") else row.summary
        topics = list(dict.fromkeys([*row.topics, *decision.topics]))
        values: dict[str, Any] = {"topics": topics}
        if (title, summary) != (row.title, row.summary):
            row.title, row.summary = title, summary
            if decision.score >= row.score:  # else keep the decision made on the fuller text
                values = {**decision_values(decision), "topics": topics}
            changed = True
        if topics != list(row.topics):
            changed = True
        for name, value in values.items():
            setattr(row, name, value)
        row.fingerprint = fingerprint(row.title, row.summary)
    if row.date_source == "first_seen" and entry.date_source != "first_seen":
        row.published_at, row.published_date = entry.published_at, entry.published_date
        row.date_source, row.date_note = entry.date_source, entry.date_note
        changed = True
    if entry.text and not row.text:
        row.text = entry.text
    if entry.article_checked and row.article_checked_at is None:
        row.article_checked_at = now
    if changed:
        row.updated_at = now
    return changed


def _link(
    session: Session,
    dialect: str,
    ids: list[int],
    entries: Iterable[Entry],
    now: datetime,
    new_ids: Collection[int] = (),
) -> None:
    """Link each item to the source it came from; refresh when it was last seen there (not
    for ``new_ids``, items this transaction inserted: their links are new, seen now)."""
    links = [
        {
            "item_id": item_id,
            "source_id": entry.source_id,
            "guid": entry.guid,
            "url": entry.url,
            "first_seen_at": now,
            "last_seen_at": now,
        }
        for item_id, entry in zip(ids, entries, strict=True)
    ]
    if not links:
        return
    connection = session.connection()
    for start in range(0, len(links), CHUNK):
        chunk = links[start : start + CHUNK]
        connection.execute(insert_ignore(dialect, ItemSourceRow.__table__), chunk)
    for source in {link["source_id"] for link in links}:
        item_ids = [
            link["item_id"]
            for link in links
            if link["source_id"] == source and link["item_id"] not in new_ids
        ]
        for start in range(0, len(item_ids), CHUNK):
            session.execute(
                update(ItemSourceRow)
                .where(
                    ItemSourceRow.source_id == source,
                    ItemSourceRow.item_id.in_(item_ids[start : start + CHUNK]),
                )
                .values(last_seen_at=now)
            )
