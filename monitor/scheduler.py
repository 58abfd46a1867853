"""APScheduler wiring only: which jobs exist and when they fire.

- the dispatcher every ``service.tick``: it starts the polls of due sources (their due times
  live in the database, see ``monitor.service``);
- the weekly digest job (``digest.schedule`` in the digest time zone);
- the health check and the outbox (emails due) every few minutes;
- the news alerts (快讯) as often as the outbox, and at once after a poll stored new items.

Every job has ``coalesce=True`` and a misfire grace time, and ``max_instances=1`` but the news
alert job (two runs at once are safe: each alert is claimed before it is sent).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger


def build(workers: int, timezone: str) -> BackgroundScheduler:
    return BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=workers)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=timezone,
    )


def add_periodic(
    scheduler: BackgroundScheduler,
    job_id: str,
    func: Callable[[], None],
    trigger: BaseTrigger,
    *,
    misfire_grace: timedelta,
    next_run_time: datetime | None = None,
    max_instances: int = 1,
) -> None:
    options: dict[str, object] = {"next_run_time": next_run_time} if next_run_time else {}
    if max_instances != 1:
        options["max_instances"] = max_instances
    scheduler.add_job(
        func,
        trigger,
        id=job_id,
        name=job_id,
        misfire_grace_time=int(misfire_grace.total_seconds()) or 1,
        **options,
    )
