"""Messages sent exactly once: digest deliveries and maintainers' alerts.

A message is recorded ``pending`` before it is sent. A sender claims it with a compare-and-set
update (``sending`` until a lease expires), sends it, and marks it ``sent``; a failure puts it back
to ``pending`` with a later ``next_attempt_at``, or ``failed`` after the last attempt. Only the
instance whose update changed the row sends, so two instances sharing a database never both send;
a sender killed mid-send leaves a claim that expires, after which the message is sent again with
the same Message-ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from monitor.store.models import AlertRow, DeliveryRow, Outgoing
from monitor.store.repo import Store


@dataclass(frozen=True)
class Delivery:
    id: int
    week: str
    profile: str
    recipient: str
    channel: str
    status: str
    message_id: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class Alert:
    id: int
    source_id: str
    kind: str
    event: str
    subject: str
    body: str
    status: str
    message_id: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def _delivery(row: DeliveryRow) -> Delivery:
    return Delivery(
        row.id,
        row.week,
        row.profile,
        row.recipient,
        row.channel,
        row.status,
        row.message_id,
        row.attempts,
        row.last_error,
        row.created_at,
        row.sent_at,
        row.next_attempt_at,
    )


def _alert(row: AlertRow) -> Alert:
    return Alert(
        row.id,
        row.source_id,
        row.kind,
        row.event,
        row.subject,
        row.body,
        row.status,
        row.message_id,
        row.attempts,
        row.last_error,
        row.created_at,
        row.sent_at,
    )


class Outbox:
    def __init__(self, store: Store, *, max_attempts: int = 5, backoff: timedelta) -> None:
        self.store = store
        self.max_attempts = max_attempts
        self.backoff = backoff

    # -- deliveries -----------------------------------------------------------------------------

    def ensure_deliveries(
        self,
        week: str,
        profile: str,
        recipients: list[str],
        message_id: Any,
        now: datetime,
        channel: str = "smtp",
    ) -> list[Delivery]:
        """Record a pending delivery for each recipient that has none; return all of them."""
        with self.store.session() as s:
            for recipient in recipients:
                exists = s.scalars(
                    select(DeliveryRow.id).where(
                        DeliveryRow.week == week,
                        DeliveryRow.profile == profile,
                        DeliveryRow.recipient == recipient,
                        DeliveryRow.channel == channel,
                    )
                ).first()
                if exists is not None:
                    continue
                try:
                    with s.begin_nested():
                        s.add(
                            DeliveryRow(
                                week=week,
                                profile=profile,
                                recipient=recipient,
                                channel=channel,
                                status="pending",
                                message_id=message_id(recipient),
                                attempts=0,
                                created_at=now,
                                updated_at=now,
                            )
                        )
                except IntegrityError:  # another instance recorded it first
                    pass
        return self.deliveries(week=week, profile=profile)

    def deliveries(
        self, week: str | None = None, profile: str | None = None, status: str | None = None
    ) -> list[Delivery]:
        with self.store.session() as s:
            query = select(DeliveryRow).order_by(
                DeliveryRow.week, DeliveryRow.profile, DeliveryRow.recipient
            )
            if week:
                query = query.where(DeliveryRow.week == week)
            if profile:
                query = query.where(DeliveryRow.profile == profile)
            if status:
                query = query.where(DeliveryRow.status == status)
            return [_delivery(r) for r in s.scalars(query)]

    def due_deliveries(self, now: datetime) -> list[Delivery]:
        with self.store.session() as s:
            return [_delivery(r) for r in s.scalars(_due(select(DeliveryRow), DeliveryRow, now))]

    def claim_delivery(self, delivery_id: int, now: datetime, lease: timedelta) -> bool:
        return self._claim(DeliveryRow, delivery_id, now, lease)

    def finish_delivery(self, delivery_id: int, now: datetime, error: str | None) -> str:
        return self._finish(DeliveryRow, delivery_id, now, error)

    def requeue_deliveries(
        self,
        now: datetime,
        *,
        week: str | None = None,
        profile: str | None = None,
        statuses: tuple[str, ...] = ("failed",),
    ) -> int:
        """Put deliveries back to pending (``monitor deliveries retry``, ``--resend``)."""
        with self.store.session() as s:
            query = update(DeliveryRow).where(DeliveryRow.status.in_(statuses))
            if week:
                query = query.where(DeliveryRow.week == week)
            if profile:
                query = query.where(DeliveryRow.profile == profile)
            result = s.execute(
                query.values(
                    status="pending",
                    next_attempt_at=None,
                    claimed_until=None,
                    attempts=0,
                    updated_at=now,
                )
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    # -- alerts ---------------------------------------------------------------------------------

    def due_alerts(self, now: datetime) -> list[Alert]:
        with self.store.session() as s:
            return [_alert(r) for r in s.scalars(_due(select(AlertRow), AlertRow, now))]

    def alerts(self, limit: int = 50) -> list[Alert]:
        with self.store.session() as s:
            rows = s.scalars(select(AlertRow).order_by(AlertRow.id.desc()).limit(limit))
            return [_alert(r) for r in rows]

    def claim_alert(self, alert_id: int, now: datetime, lease: timedelta) -> bool:
        return self._claim(AlertRow, alert_id, now, lease)

    def finish_alert(self, alert_id: int, now: datetime, error: str | None) -> str:
        return self._finish(AlertRow, alert_id, now, error)

    # -- shared ---------------------------------------------------------------------------------

    def _claim(self, model: Any, row_id: int, now: datetime, lease: timedelta) -> bool:
        with self.store.session() as s:
            result = s.execute(
                update(model)
                .where(model.id == row_id, _claimable(model, now))
                .values(
                    status="sending",
                    claimed_until=now + lease,
                    attempts=model.attempts + 1,
                    updated_at=now,
                )
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def _finish(self, model: Any, row_id: int, now: datetime, error: str | None) -> str:
        """Mark sent, or schedule another attempt, or give up; return the new status."""
        with self.store.session() as s:
            row: Outgoing | None = s.get(model, row_id)
            if row is None:
                return "missing"
            row.claimed_until, row.updated_at = None, now
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", now, None
            elif row.attempts >= self.max_attempts:
                row.status, row.last_error = "failed", error
            else:
                row.status, row.last_error = "pending", error
                row.next_attempt_at = now + self.backoff * (2 ** (row.attempts - 1))
            return row.status


def _claimable(model: Any, now: datetime) -> Any:
    return or_(
        (model.status == "pending")
        & (model.next_attempt_at.is_(None) | (model.next_attempt_at <= now)),
        (model.status == "sending") & (model.claimed_until < now),
    )


def _due(query: Any, model: Any, now: datetime) -> Any:
    return query.where(_claimable(model, now)).order_by(model.id)
