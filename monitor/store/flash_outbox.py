"""The news alerts waiting to be sent: claimed, finished and retried like digest deliveries
(``monitor.store.outbox``); ``skipped`` when they cannot be sent to anyone."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from monitor.store.flashes import Flash, _flash
from monitor.store.models import FlashRow
from monitor.store.outbox import Outbox, _due


class FlashOutbox(Outbox):
    """The alerts waiting to be sent, claimed and finished like digest deliveries."""

    def flashes(
        self, status: str | None = None, profile: str | None = None, limit: int = 100
    ) -> list[Flash]:
        """The newest alerts first."""
        with self.store.session() as s:
            query = select(FlashRow).order_by(FlashRow.id.desc()).limit(limit)
            if status:
                query = query.where(FlashRow.status == status)
            if profile:
                query = query.where(FlashRow.profile == profile)
            return [_flash(r) for r in s.scalars(query)]

    def due_flashes(self, now: datetime) -> list[Flash]:
        with self.store.session() as s:
            return [_flash(r) for r in s.scalars(_due(select(FlashRow), FlashRow, now))]

    def claim_flash(self, flash_id: int, now: datetime, lease: timedelta) -> bool:
        return self._claim(FlashRow, flash_id, now, lease)

    def finish_flash(self, flash_id: int, now: datetime, error: str | None) -> str:
        return self._finish(FlashRow, flash_id, now, error)

    def skip_flash(self, flash_id: int, now: datetime, reason: str) -> str:
        """Give up on a claimed alert that cannot be sent (no recipients): never sent, never
        marked in the digest."""
        with self.store.session() as s:
            s.execute(
                update(FlashRow)
                .where(FlashRow.id == flash_id)
                .values(status="skipped", last_error=reason, claimed_until=None, updated_at=now)
            )
        return "skipped"

    def requeue_flashes(self, now: datetime, statuses: tuple[str, ...] = ("failed",)) -> int:
        """Put alerts back to pending (``monitor flashes send --retry``)."""
        with self.store.session() as s:
            result = s.execute(
                update(FlashRow)
                .where(FlashRow.status.in_(statuses))
                .values(
                    status="pending",
                    next_attempt_at=None,
                    claimed_until=None,
                    attempts=0,
                    updated_at=now,
                )
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
