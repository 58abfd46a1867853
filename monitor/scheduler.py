"""APScheduler wiring only: which jobs exist and when they fire.

- one job per source: its interval, a random delay (jitter), ``max_instances=1``,
  ``coalesce=True`` and a misfire grace time; the first run is the source's due time kept in the
  database, so a restart neither polls everything at once nor skips a source for an interval;
- the weekly digest job (``digest.schedule`` in the digest time zone);
- the health check and the outbox (emails due) every few minutes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger


def build(workers: int, timezone: str) -> BackgroundScheduler:
    return BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=workers)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=timezone,
    )


def first_run(
    due: datetime | None, now: datetime, interval: timedelta, jitter: timedelta
) -> datetime:
    """When a source's job first fires after start: its due time, or, when overdue, soon but
    spread over the jitter window so that overdue sources do not all fire at once."""
    spread = min(jitter, interval).total_seconds()
    if due is None or due <= now:
        return now + timedelta(seconds=random.uniform(1, max(spread, 1)))
    return due


def add_source_job(
    scheduler: BackgroundScheduler,
    source_id: str,
    func: Callable[[str], None],
    *,
    interval: timedelta,
    jitter: timedelta,
    start: datetime,
    misfire_grace: timedelta,
) -> None:
    scheduler.add_job(
        func,
        IntervalTrigger(
            seconds=interval.total_seconds(),
            start_date=start,
            jitter=int(jitter.total_seconds()) or None,
        ),
        args=[source_id],
        id=f"poll:{source_id}",
        name=f"poll {source_id}",
        misfire_grace_time=int(misfire_grace.total_seconds()) or 1,
        next_run_time=start,
    )


def add_periodic(
    scheduler: BackgroundScheduler,
    job_id: str,
    func: Callable[[], None],
    trigger: BaseTrigger,
    *,
    misfire_grace: timedelta,
    next_run_time: datetime | None = None,
) -> None:
    options = {"next_run_time": next_run_time} if next_run_time else {}
    scheduler.add_job(
        func,
        trigger,
        id=job_id,
        name=job_id,
        misfire_grace_time=int(misfire_grace.total_seconds()) or 1,
        **options,
    )
