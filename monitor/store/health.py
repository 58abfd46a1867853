"""Health state of sources: the figures the health check needs, and incident transitions that
record the maintainers' alert in the same transaction (so one incident gives one alert)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from monitor.health import WEEKS, SourceStats, first_counted_day, weekly_counts
from monitor.store.models import (
    AlertRow,
    HealthStateRow,
    ItemRow,
    ItemSourceRow,
    PollRow,
    SourceRow,
)
from monitor.store.repo import Store


@dataclass(frozen=True)
class Incident:
    source_id: str
    kind: str
    since: datetime
    detail: str | None


class HealthStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def stats(self, today: date) -> list[SourceStats]:
        first_day = first_counted_day(today)
        with self.store.session() as s:
            rows = s.execute(
                select(ItemSourceRow.source_id, ItemRow.published_date)
                .join(ItemRow, ItemRow.id == ItemSourceRow.item_id)
                .where(ItemRow.published_date > first_day, ItemRow.published_date <= today)
            ).all()
            counts = weekly_counts(rows, today)  # type: ignore[arg-type]
            last_item = dict(
                s.execute(
                    select(ItemSourceRow.source_id, func.max(ItemRow.published_date))
                    .join(ItemRow, ItemRow.id == ItemSourceRow.item_id)
                    .group_by(ItemSourceRow.source_id)
                ).all()
            )
            # The latest poll that read the source (a 304 repeats what the previous one read).
            latest = (
                select(PollRow.source_id, func.max(PollRow.id).label("id"))
                .where(PollRow.outcome != "not_modified")
                .group_by(PollRow.source_id)
                .subquery()
            )
            read = {
                source_id: (outcome, warnings)
                for source_id, outcome, warnings in s.execute(
                    select(PollRow.source_id, PollRow.outcome, PollRow.warnings).join(
                        latest, PollRow.id == latest.c.id
                    )
                ).all()
            }
            return [
                SourceStats(
                    id=r.id,
                    name=r.name,
                    kind=r.kind,
                    consecutive_failures=r.consecutive_failures or 0,
                    last_error=r.last_error,
                    last_outcome=read.get(r.id, (None, ()))[0],
                    last_warnings=tuple(read.get(r.id, (None, ()))[1] or ()),
                    last_success_at=r.last_success_at,
                    last_item_date=last_item.get(r.id),
                    weekly_counts=tuple(counts.get(r.id, [0] * WEEKS)),
                )
                for r in s.scalars(select(SourceRow).order_by(SourceRow.id))
            ]

    def transition(
        self,
        source_id: str,
        kind: str,
        open_: bool,
        detail: str,
        now: datetime,
        alert: tuple[str, str, str],
    ) -> bool:
        """Open or close an incident; when this call changed the state, record ``alert``
        (subject, body, message id) to be sent. Returns whether the state changed."""
        old, new = ("ok", "open") if open_ else ("open", "ok")
        with self.store.session() as s:
            if open_ and s.get(HealthStateRow, (source_id, kind)) is None:
                try:
                    with s.begin_nested():
                        s.add(
                            HealthStateRow(
                                source_id=source_id, kind=kind, state="ok", changed_at=now
                            )
                        )
                except IntegrityError:
                    pass
            result = s.execute(
                update(HealthStateRow)
                .where(
                    HealthStateRow.source_id == source_id,
                    HealthStateRow.kind == kind,
                    HealthStateRow.state == old,
                )
                .values(state=new, changed_at=now, detail=detail)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return False
            subject, body, message_id = alert
            s.add(
                AlertRow(
                    source_id=source_id,
                    kind=kind,
                    event="opened" if open_ else "recovered",
                    subject=subject,
                    body=body,
                    status="pending",
                    message_id=message_id,
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            return True

    def incidents(self) -> list[Incident]:
        with self.store.session() as s:
            rows = s.scalars(
                select(HealthStateRow)
                .where(HealthStateRow.state == "open")
                .order_by(HealthStateRow.source_id, HealthStateRow.kind)
            )
            return [Incident(r.source_id, r.kind, r.changed_at, r.detail) for r in rows]
