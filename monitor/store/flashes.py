"""News alerts (快讯) in the database: queued in the transaction that stores the items that
raise them, then sent exactly once like every message of the outbox (claimed for a lease,
marked ``sent``, retried with back-off, ``failed`` after the last attempt; ``skipped`` when the
profile has no alert recipients; ``monitor.store.flash_outbox``).

The unique key (profile, story) makes an alert once per story: a second source carrying the
same story, a second instance polling it, or a poll stored again finds the row there and adds
nothing (insert-or-ignore).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.flash.rules import NewItem, QueuedFlash
from monitor.items import Classification, Entry
from monitor.store.models import FlashRow
from monitor.store.saving import CHUNK, New, insert_ignore

log = logging.getLogger(__name__)

Matcher = Callable[[Sequence[NewItem], datetime], list[QueuedFlash]]


@dataclass(frozen=True)
class Flash:
    id: int
    profile: str
    story_id: int
    item_id: int
    status: str
    message_id: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


def _flash(row: FlashRow) -> Flash:
    return Flash(
        row.id,
        row.profile,
        row.story_id,
        row.item_id,
        row.status,
        row.message_id,
        row.attempts,
        row.last_error,
        row.created_at,
        row.sent_at,
        row.next_attempt_at,
    )


def new_items(
    born: Sequence[New], decided: Sequence[tuple[Entry, Classification]]
) -> list[NewItem]:
    """The items a transaction inserted, with their classification, as the matcher sees them."""
    decisions = {id(entry): decision for entry, decision in decided}
    found = []
    for item_id, story_id, entry, _ in born:
        decision = decisions.get(id(entry))
        if decision is None:
            continue
        found.append(
            NewItem(
                item_id=item_id,
                story_id=story_id,
                title=entry.title,
                summary=entry.summary,
                text=entry.text or "",
                published_date=entry.published_date,
                dated=entry.date_source != "first_seen",
                relevant=decision.relevant,
                score=decision.score,
                section=decision.section,
                topics=decision.topics,
            )
        )
    return found


def queue_flashes(
    session: Session,
    dialect: str,
    matcher: Matcher,
    born: Sequence[New],
    decided: Sequence[tuple[Entry, Classification]],
    now: datetime,
) -> int:
    """Record the alerts the newly inserted items raise, in the caller's transaction; return
    how many rows were new. A bug in matching is logged and costs the alerts, never the items;
    a database failure rolls back the whole transaction (the poll is then stored again)."""
    try:
        queued = matcher(new_items(born, decided), now)
    except Exception:
        log.exception("news alert rules failed; no alerts for these items")
        return 0
    if not queued:
        return 0
    values = [
        {
            "profile": q.profile,
            "story_id": q.story_id,
            "item_id": q.item_id,
            "status": "pending",
            "message_id": q.message_id,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for q in queued
    ]
    table = FlashRow.__table__
    statement = insert_ignore(dialect, table).returning(table.c.profile, table.c.story_id)
    added = [tuple(r) for r in session.connection().execute(statement, values)]
    for profile, story_id in added:
        log.info("news alert queued profile=%s story=%s", profile, story_id)
    return len(added)


def move_flashes(session: Session, merged: Mapping[int, int]) -> None:
    """Stories merged into others (a new item bridged them) take their alerts along, in the
    caller's transaction: the merged story counts as alerted, and still alerts only once. When
    both stories were alerted for a profile, the target's alert stays and the other keeps its
    old story id."""
    taken = FlashRow.__table__.alias("taken")
    for other, story_id in merged.items():
        session.execute(
            update(FlashRow)
            .where(
                FlashRow.story_id == other,
                FlashRow.profile.not_in(
                    select(taken.c.profile).where(taken.c.story_id == story_id)
                ),
            )
            .values(story_id=story_id)
        )


class FlashStore:
    """Which stories were alerted (a mixin of ``Store``, for the digest's mark)."""

    def session(self) -> AbstractContextManager[Session]:  # provided by Store
        raise NotImplementedError

    def flashed_stories(self, profile: str, story_ids: Iterable[int]) -> set[int]:
        """Of ``story_ids``, those whose alert for ``profile`` was sent."""
        ids = sorted(set(story_ids))
        found: set[int] = set()
        with self.session() as s:
            for start in range(0, len(ids), CHUNK):
                found.update(
                    s.scalars(
                        select(FlashRow.story_id).where(
                            FlashRow.profile == profile,
                            FlashRow.status == "sent",
                            FlashRow.story_id.in_(ids[start : start + CHUNK]),
                        )
                    )
                )
        return found
