"""Sources in the database: their rows, when each is due, who is polling it (claims), what
each poll found, and the per-source figures of ``monitor status``.

A mixin of ``Store`` (which provides ``session()`` and ``engine``); the methods take and return
plain values.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, func, insert, select, update
from sqlalchemy.orm import Session

from monitor.config import SourceConfig
from monitor.store.models import ItemRow, ItemSourceRow, PollRow, SourceRow
from monitor.store.saving import CHUNK, insert_ignore, url_key


@dataclass(frozen=True)
class SourceState:
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None  # of the body last read (a 200 with it again: unchanged)


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
    content_hash: str | None = None
    story_ids: tuple[int, ...] = ()  # of the items found, in their order
    consecutive_failures: int = 0  # of the source, after this poll (known once recorded)


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


@dataclass(frozen=True)
class SourceWeek:
    """How a source fared over a period: its polls and the last error."""

    source_id: str
    polls: int
    failed: int
    last_error: str | None

    @property
    def all_failed(self) -> bool:
        return self.polls > 0 and self.failed == self.polls


class SourceStateStore:
    """Source rows, due times, claims and poll records (a mixin of ``Store``)."""

    engine: Engine

    def session(self) -> AbstractContextManager[Session]:  # provided by Store
        raise NotImplementedError

    def sync_sources(self, sources: Iterable[SourceConfig], now: datetime) -> None:
        """Create or refresh the rows of configured sources; keep their state. Safe when
        several instances start at once (insert-or-ignore, then update)."""
        sources = list(sources)
        if not sources:
            return
        with self.session() as s:
            insert = insert_ignore(self.engine.dialect.name, SourceRow)
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
        return self.source_states([source_id])[source_id]

    def source_states(self, ids: Sequence[str]) -> dict[str, SourceState]:
        """The validators (ETag, Last-Modified, body hash) of each source, in one query; none
        for a source whose definition changed since they were saved."""
        states = dict.fromkeys(ids, SourceState())
        with self.session() as s:
            for start in range(0, len(ids), CHUNK):
                chunk = list(ids[start : start + CHUNK])
                for row in s.scalars(select(SourceRow).where(SourceRow.id.in_(chunk))):
                    if row.validators_for == row.definition:
                        states[row.id] = SourceState(row.etag, row.last_modified, row.content_hash)
        return states

    def known_urls(self, source_id: str, canonical_urls: Collection[str]) -> frozenset[str]:
        """Of ``canonical_urls``, those this source brought before with a date or a checked
        article (their article pages need not be fetched again). Looked up by the items' keys
        (a unique index), so the cost does not grow with the source's history."""
        keys = [url_key(u) for u in canonical_urls]
        found: set[str] = set()
        with self.session() as s:
            for start in range(0, len(keys), CHUNK):
                found.update(
                    s.scalars(
                        select(ItemRow.canonical_url)
                        .join(
                            ItemSourceRow,
                            (ItemSourceRow.item_id == ItemRow.id)
                            & (ItemSourceRow.source_id == source_id),
                        )
                        .where(
                            ItemRow.url_key.in_(keys[start : start + CHUNK]),
                            (ItemRow.date_source != "first_seen")
                            | ItemRow.article_checked_at.is_not(None),
                        )
                    )
                )
        return frozenset(found)

    def record_polls(self, records: Sequence[PollRecord]) -> list[int]:
        """Record several polls in one transaction (a few statements whatever their number);
        see ``record_poll``."""
        if not records:
            return []
        with self.session() as s:
            s.execute(insert(PollRow), [_poll_values(r) for r in records])
            ids = list({r.source_id for r in records})
            rows = {r.id: r for r in s.scalars(select(SourceRow).where(SourceRow.id.in_(ids)))}
            return [_update_source(rows.get(r.source_id), r) for r in records]

    def record_poll(self, record: PollRecord) -> int:
        """Record a poll and update its source's state; return the source's consecutive
        failures after it."""
        return self.record_polls([record])[0]

    def statuses(self, now: datetime) -> list[SourceStatus]:
        since = now - timedelta(days=7)
        recent = select(ItemSourceRow.source_id).where(ItemSourceRow.first_seen_at >= since)
        if self.engine.dialect.name == "sqlite":
            recent = recent.limit(-1)  # not flattened: SQLite then reads the first_seen index
        week = recent.subquery()
        with self.session() as s:
            counts: dict[str, int] = dict(
                s.execute(select(week.c.source_id, func.count()).group_by(week.c.source_id)).all()
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

    def source_weeks(self, start: datetime, end: datetime) -> dict[str, SourceWeek]:
        """Per source polled in [start, end): how many polls, how many failed, the last error."""
        failed = func.sum(case((PollRow.outcome == "error", 1), else_=0))
        with self.session() as s:
            rows = s.execute(
                select(PollRow.source_id, func.count(), failed, func.max(PollRow.id))
                .where(PollRow.started_at >= start, PollRow.started_at < end)
                .group_by(PollRow.source_id)
            ).all()
            last_ids = [int(r[3]) for r in rows if int(r[2] or 0) > 0]
            errors: dict[str, str | None] = {}
            for start_at in range(0, len(last_ids), CHUNK):
                chunk = last_ids[start_at : start_at + CHUNK]
                found = s.execute(
                    select(PollRow.source_id, PollRow.error).where(PollRow.id.in_(chunk))
                )
                errors.update((source_id, error) for source_id, error in found)
        return {
            source_id: SourceWeek(source_id, int(polls), int(bad or 0), errors.get(source_id))
            for source_id, polls, bad, _ in rows
        }

    # -- items ----------------------------------------------------------------------------------


def _poll_values(record: PollRecord) -> dict[str, object]:
    return {
        "source_id": record.source_id,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "outcome": record.outcome,
        "http_status": record.http_status,
        "found": record.found,
        "new": record.new,
        "updated": record.updated,
        "error": record.error,
        "warnings": list(record.warnings),
        "final_url": record.final_url,
        "duration_ms": int((record.finished_at - record.started_at).total_seconds() * 1000),
    }


def _update_source(row: SourceRow | None, record: PollRecord) -> int:
    """Apply a poll to its source's row; return the consecutive failures after it."""
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
        row.content_hash = record.content_hash
    return 0
