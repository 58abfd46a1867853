"""The repository: the only code that opens database sessions.

Methods take and return plain values (``monitor.items``), never ORM rows, so callers stay free of
SQLAlchemy. Writes that may race with another instance rely on unique keys, not on locks of ours.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, Insert, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.classify.dataset import Example
from monitor.config import SourceConfig
from monitor.dedup import StoryCandidate, fingerprint, same_story
from monitor.errors import StoreError
from monitor.items import Classification, Entry, Mention, StoredItem
from monitor.store.db import make_engine, upgrade
from monitor.store.models import (
    DigestRow,
    FeedbackRow,
    ItemRow,
    ItemSourceRow,
    PollRow,
    SourceRow,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceState:
    etag: str | None = None
    last_modified: str | None = None
    known_urls: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PollRecord:
    source_id: str
    started_at: datetime
    finished_at: datetime
    outcome: str  # ok | not_modified | error
    http_status: int | None = None
    found: int = 0
    new: int = 0
    updated: int = 0
    error: str | None = None
    warnings: tuple[str, ...] = ()
    final_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    validators_for: str | None = None
    consecutive_failures: int = 0  # of the source, after this poll (known once recorded)


@dataclass(frozen=True)
class SaveResult:
    new: int
    updated: int
    item_ids: tuple[int, ...]


@dataclass(frozen=True)
class SourceStatus:
    id: str
    name: str
    kind: str
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_outcome: str | None
    last_error: str | None
    consecutive_failures: int
    last_new_item_at: datetime | None
    items_7d: int


def url_key(canonical: str) -> str:
    return hashlib.sha1(canonical.encode()).hexdigest()


class Store:
    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self.upgrade()

    def upgrade(self) -> None:
        try:
            upgrade(self.engine)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot migrate the database: {e}") from e

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except SQLAlchemyError as e:
            session.rollback()
            raise StoreError(str(e)) from e
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    # -- sources --------------------------------------------------------------------------------

    def sync_sources(self, sources: Iterable[SourceConfig], now: datetime) -> None:
        """Create or refresh the rows of configured sources; keep their state. Safe when
        several instances start at once (insert-or-ignore, then update)."""
        sources = list(sources)
        if not sources:
            return
        with self.session() as s:
            insert = _insert_ignore(self.engine.dialect.name, SourceRow)
            s.execute(
                insert,
                [
                    {
                        "id": source.id,
                        "kind": source.kind,
                        "url": source.url,
                        "name": source.name,
                        "publisher": source.publisher,
                        "definition": source.fingerprint(),
                        "created_at": now,
                        "consecutive_failures": 0,
                    }
                    for source in sources
                ],
            )
            rows = {r.id: r for r in s.scalars(select(SourceRow))}
            for source in sources:
                row = rows[source.id]
                row.kind, row.url, row.name = source.kind, source.url, source.name
                row.publisher, row.definition = source.publisher, source.fingerprint()

    def due_times(self) -> dict[str, datetime | None]:
        """When each source is next due (None: never polled)."""
        with self.session() as s:
            return dict(s.execute(select(SourceRow.id, SourceRow.next_due_at)).all())

    def due_sources(self, ids: Collection[str], now: datetime, limit: int) -> list[str]:
        """Of ``ids``, those due now and not claimed (or whose claim has expired: the poller
        died), the longest overdue first."""
        if not ids or limit <= 0:
            return []
        with self.session() as s:
            return list(
                s.scalars(
                    select(SourceRow.id)
                    .where(
                        SourceRow.id.in_(list(ids)),
                        SourceRow.next_due_at.is_(None) | (SourceRow.next_due_at <= now),
                        SourceRow.claimed_until.is_(None) | (SourceRow.claimed_until < now),
                    )
                    .order_by(SourceRow.next_due_at.asc().nulls_first(), SourceRow.id)
                    .limit(limit)
                )
            )

    def claim_source(
        self,
        source_id: str,
        now: datetime,
        lease: timedelta,
        owner: str,
        early: timedelta = timedelta(0),
    ) -> bool:
        """Take the right to poll a due source (compare-and-set): False when it is not due yet
        (``early`` is the tolerance) or another poll of it is under way."""
        with self.session() as s:
            result = s.execute(
                update(SourceRow)
                .where(
                    SourceRow.id == source_id,
                    SourceRow.next_due_at.is_(None) | (SourceRow.next_due_at <= now + early),
                    SourceRow.claimed_until.is_(None) | (SourceRow.claimed_until < now),
                )
                .values(claimed_until=now + lease, claimed_by=owner)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def release_source(self, source_id: str, next_due: datetime, owner: str | None = None) -> None:
        """End a claim and set when the source is next due; with ``owner``, only if the claim
        is still ours (an expired claim may have passed to another instance)."""
        with self.session() as s:
            query = update(SourceRow).where(SourceRow.id == source_id)
            if owner is not None:
                query = query.where(SourceRow.claimed_by == owner)
            s.execute(query.values(next_due_at=next_due, claimed_until=None, claimed_by=None))

    def release_claims(self, owner: str) -> list[str]:
        """Drop every claim held by ``owner`` (this instance, restarted after a crash, or
        stopping); the sources stay due. Returns their ids."""
        with self.session() as s:
            ids = list(s.scalars(select(SourceRow.id).where(SourceRow.claimed_by == owner)))
            if ids:
                s.execute(
                    update(SourceRow)
                    .where(SourceRow.claimed_by == owner)
                    .values(claimed_until=None, claimed_by=None)
                )
            return ids

    def source_state(self, source_id: str) -> SourceState:
        with self.session() as s:
            row = s.get(SourceRow, source_id)
            known = s.scalars(
                select(ItemRow.canonical_url)
                .join(ItemSourceRow, ItemSourceRow.item_id == ItemRow.id)
                .where(
                    ItemSourceRow.source_id == source_id,
                    (ItemRow.date_source != "first_seen") | ItemRow.article_checked_at.is_not(None),
                )
            ).all()
            if row is None or row.validators_for != row.definition:
                return SourceState(known_urls=frozenset(known))
            return SourceState(row.etag, row.last_modified, frozenset(known))

    def record_poll(self, record: PollRecord) -> int:
        """Record a poll and update its source's state; return the source's consecutive
        failures after it."""
        with self.session() as s:
            s.add(
                PollRow(
                    source_id=record.source_id,
                    started_at=record.started_at,
                    finished_at=record.finished_at,
                    outcome=record.outcome,
                    http_status=record.http_status,
                    found=record.found,
                    new=record.new,
                    updated=record.updated,
                    error=record.error,
                    warnings=list(record.warnings),
                    final_url=record.final_url,
                    duration_ms=int(
                        (record.finished_at - record.started_at).total_seconds() * 1000
                    ),
                )
            )
            row = s.get(SourceRow, record.source_id)
            if row is None:
                return int(record.outcome == "error")
            row.last_poll_at = record.finished_at
            row.last_outcome = record.outcome
            row.last_http_status = record.http_status
            if record.outcome == "error":
                row.consecutive_failures = (row.consecutive_failures or 0) + 1
                row.last_error = record.error
                return row.consecutive_failures
            row.consecutive_failures = 0
            row.last_error = None
            row.last_success_at = record.finished_at
            if record.new:
                row.last_new_item_at = record.finished_at
            if record.outcome == "ok":
                row.etag, row.last_modified = record.etag, record.last_modified
                row.validators_for = record.validators_for
            return 0

    def statuses(self, now: datetime) -> list[SourceStatus]:
        since = now - timedelta(days=7)
        with self.session() as s:
            counts = dict(
                s.execute(
                    select(ItemSourceRow.source_id, func.count())
                    .where(ItemSourceRow.first_seen_at >= since)
                    .group_by(ItemSourceRow.source_id)
                ).all()
            )
            return [
                SourceStatus(
                    id=r.id,
                    name=r.name,
                    kind=r.kind,
                    last_poll_at=r.last_poll_at,
                    last_success_at=r.last_success_at,
                    last_outcome=r.last_outcome,
                    last_error=r.last_error,
                    consecutive_failures=r.consecutive_failures or 0,
                    last_new_item_at=r.last_new_item_at,
                    items_7d=counts.get(r.id, 0),
                )
                for r in s.scalars(select(SourceRow).order_by(SourceRow.id))
            ]

    # -- items ----------------------------------------------------------------------------------

    def save_entries(
        self, entries: list[tuple[Entry, Classification]], now: datetime
    ) -> SaveResult:
        """Insert new items, update changed ones, link every item to the source it came from."""
        new = updated = 0
        ids = []
        with self.session() as s:
            candidates = self._story_candidates(s, now)
            for entry, decision in entries:
                item_id, outcome = self._save_one(s, entry, decision, now, candidates)
                ids.append(item_id)
                new += outcome == "new"
                updated += outcome == "updated"
        return SaveResult(new, updated, tuple(ids))

    def _save_one(
        self,
        s: Session,
        entry: Entry,
        decision: Classification,
        now: datetime,
        candidates: list[StoryCandidate],
    ) -> tuple[int, str]:
        key = url_key(entry.canonical_url)
        row = s.scalars(select(ItemRow).where(ItemRow.url_key == key)).first()
        if row is None and entry.guid and entry.match_guid:  # a feed known to change URLs
            row = s.scalars(
                select(ItemRow)
                .join(ItemSourceRow, ItemSourceRow.item_id == ItemRow.id)
                .where(ItemSourceRow.source_id == entry.source_id, ItemSourceRow.guid == entry.guid)
            ).first()
        if row is None:
            try:
                with s.begin_nested():
                    row = self._insert(s, entry, decision, key, now, candidates)
                    self._link(s, row.id, entry, now)
                return row.id, "new"
            except IntegrityError:  # another instance inserted it first
                row = s.scalars(select(ItemRow).where(ItemRow.url_key == key)).one()
        changed = self._update(row, entry, decision, now)
        self._link(s, row.id, entry, now)
        return row.id, "updated" if changed else "unchanged"

    def _insert(
        self,
        s: Session,
        entry: Entry,
        decision: Classification,
        key: str,
        now: datetime,
        candidates: list[StoryCandidate],
    ) -> ItemRow:
        row = ItemRow(
            url_key=key,
            canonical_url=entry.canonical_url,
            url=entry.url,
            title=entry.title,
            summary=entry.summary,
            text=entry.text,
            language=entry.language,
            publisher=entry.publisher,
            published_at=entry.published_at,
            published_date=entry.published_date,
            date_source=entry.date_source,
            date_note=entry.date_note,
            first_seen_at=now,
            updated_at=now,
            fingerprint=fingerprint(entry.title, entry.summary),
            article_checked_at=now if entry.article_checked else None,
        )
        _apply(row, decision)
        s.add(row)
        s.flush()
        story = same_story(entry.title, entry.published_date, entry.source_id, candidates)
        row.story_id = story.story_id if story else row.id
        candidates.append(
            StoryCandidate(
                row.id, row.story_id, frozenset({entry.source_id}), row.title, row.published_date
            )
        )
        return row

    def _update(self, row: ItemRow, entry: Entry, decision: Classification, now: datetime) -> bool:
        changed = False
        new_print = fingerprint(entry.title, entry.summary)
        if new_print != row.fingerprint:
            row.title, row.summary, row.fingerprint = entry.title, entry.summary, new_print
            _apply(row, decision)
            changed = True
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

    def _link(self, s: Session, item_id: int, entry: Entry, now: datetime) -> None:
        link = s.get(ItemSourceRow, (item_id, entry.source_id))
        if link is None:
            s.add(
                ItemSourceRow(
                    item_id=item_id,
                    source_id=entry.source_id,
                    guid=entry.guid,
                    url=entry.url,
                    first_seen_at=now,
                    last_seen_at=now,
                )
            )
            s.flush()
        else:
            link.last_seen_at = now

    def _story_candidates(self, s: Session, now: datetime) -> list[StoryCandidate]:
        since = now - timedelta(days=21)
        rows = s.execute(
            select(ItemRow.id, ItemRow.story_id, ItemRow.title, ItemRow.published_date).where(
                ItemRow.first_seen_at >= since
            )
        ).all()
        sources: dict[int, set[str]] = {}
        for item_id, source_id in s.execute(
            select(ItemSourceRow.item_id, ItemSourceRow.source_id).where(
                ItemSourceRow.first_seen_at >= since
            )
        ):
            sources.setdefault(item_id, set()).add(source_id)
        return [
            StoryCandidate(
                r.id,
                r.story_id or r.id,
                frozenset(sources.get(r.id, ())),
                r.title,
                r.published_date,
            )
            for r in rows
        ]

    def items_in_period(
        self, first: date, last: date, start: datetime, end: datetime
    ) -> list[StoredItem]:
        """Items published between ``first`` and ``last`` (dates, inclusive), or, lacking a
        publication date, first seen in [``start``, ``end``)."""
        with self.session() as s:
            rows = s.scalars(
                select(ItemRow).where(
                    or_(
                        ItemRow.published_date.between(first, last),
                        (ItemRow.published_date.is_(None))
                        & (ItemRow.first_seen_at >= start)
                        & (ItemRow.first_seen_at < end),
                    )
                )
            ).all()
            return self._stored(s, rows)

    def items_by_story(self, story_ids: Iterable[int]) -> list[StoredItem]:
        ids = list(set(story_ids))
        if not ids:
            return []
        with self.session() as s:
            rows = s.scalars(select(ItemRow).where(ItemRow.story_id.in_(ids))).all()
            return self._stored(s, rows)

    def _stored(self, s: Session, rows: Iterable[ItemRow]) -> list[StoredItem]:
        rows = list(rows)
        mentions: dict[int, list[Mention]] = {}
        if rows:
            links = s.execute(
                select(
                    ItemSourceRow.item_id,
                    ItemSourceRow.source_id,
                    ItemSourceRow.url,
                    SourceRow.publisher,
                )
                .join(SourceRow, SourceRow.id == ItemSourceRow.source_id, isouter=True)
                .where(ItemSourceRow.item_id.in_([r.id for r in rows]))
                .order_by(ItemSourceRow.source_id)
            ).all()
            for item_id, source_id, url, publisher in links:
                mentions.setdefault(item_id, []).append(Mention(source_id, publisher or "", url))
        return [_stored_item(r, mentions.get(r.id, [])) for r in rows]

    def item(self, item_id: int) -> StoredItem | None:
        with self.session() as s:
            row = s.get(ItemRow, item_id)
            return self._stored(s, [row])[0] if row else None

    # -- feedback -------------------------------------------------------------------------------

    def add_feedback(self, item_id: int, verdict: str, now: datetime) -> None:
        with self.session() as s:
            s.add(FeedbackRow(item_id=item_id, verdict=verdict, created_at=now))

    def feedback_examples(self, hints: dict[str, str | None] | None = None) -> list[Example]:
        """One labeled example per item with feedback; the latest verdict of each kind wins."""
        hints = hints or {}
        with self.session() as s:
            rows = s.execute(
                select(FeedbackRow.item_id, FeedbackRow.verdict).order_by(FeedbackRow.id)
            ).all()
            verdicts: dict[int, dict[str, str]] = {}
            for item_id, verdict in rows:
                key = "section" if verdict.startswith("section=") else "label"
                verdicts.setdefault(item_id, {})[key] = verdict.removeprefix("section=")
            examples = []
            for item in self._stored(s, s.scalars(select(ItemRow).where(ItemRow.id.in_(verdicts)))):
                given = verdicts[item.id]
                label = {"relevant": "1", "irrelevant": "0"}.get(given.get("label", ""), "1")
                source = item.mentions[0].source_id if item.mentions else ""
                examples.append(
                    Example(
                        title=item.title,
                        summary=item.summary,
                        publisher=item.publisher,
                        label=label,
                        section=given.get("section") or item.section,
                        date=str(item.published_date or item.first_seen_at.date()),
                        url=item.url,
                        section_hint=hints.get(source),
                        origin="feedback",
                    )
                )
            return examples

    # -- digests --------------------------------------------------------------------------------

    def record_digest(
        self,
        week: str,
        profile: str,
        item_count: int,
        content_hash: str,
        files: list[str],
        now: datetime,
    ) -> None:
        """Record (or refresh) the digest of a week and profile; safe when two instances draft
        the same digest at once (the unique key decides, the loser updates)."""
        with self.session() as s:
            query = select(DigestRow).where(DigestRow.week == week, DigestRow.profile == profile)
            row = s.scalars(query).first()
            if row is None:
                try:
                    with s.begin_nested():
                        row = DigestRow(
                            week=week,
                            profile=profile,
                            created_at=now,
                            item_count=item_count,
                            content_hash=content_hash,
                            files=files,
                        )
                        s.add(row)
                    return
                except IntegrityError:
                    row = s.scalars(query).one()
            row.created_at, row.item_count = now, item_count
            row.content_hash, row.files = content_hash, files


def _insert_ignore(dialect: str, table: type[SourceRow]) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING for the two databases we run on."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _apply(row: ItemRow, decision: Classification) -> None:
    row.relevant, row.score, row.section = decision.relevant, decision.score, decision.section
    row.topics, row.why = list(decision.topics), list(decision.why)
    row.classifier_version = decision.version


def _stored_item(row: ItemRow, mentions: list[Mention]) -> StoredItem:
    return StoredItem(
        id=row.id,
        url=row.url,
        title=row.title,
        summary=row.summary,
        text=row.text,
        language=row.language,
        publisher=row.publisher,
        published_at=row.published_at,
        published_date=row.published_date,
        date_source=row.date_source,
        first_seen_at=row.first_seen_at,
        story_id=row.story_id,
        relevant=row.relevant,
        score=row.score,
        section=row.section,
        topics=tuple(row.topics or ()),
        why=tuple(row.why or ()),
        mentions=tuple(mentions),
    )
