"""Schedules written in sources.yaml → APScheduler triggers. Pure; no I/O.

``mon 08:00`` (a day of the week and a time), a crontab line (``0 8 * * mon``), or
``every 30s`` (an interval, for tests and unusual set-ups).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

_WEEKLY = re.compile(r"^\s*(mon|tue|wed|thu|fri|sat|sun)\w*\s+(\d{1,2}):(\d{2})\s*$", re.I)
_EVERY = re.compile(r"^\s*every\s+(.+)$", re.I)


def parse_schedule(text: str, timezone: str = "UTC") -> BaseTrigger:
    """A trigger for ``text``; ValueError explains what is wrong."""
    from monitor.config import parse_duration

    tz = ZoneInfo(timezone)
    weekly = _WEEKLY.match(text)
    if weekly:
        hour, minute = int(weekly[2]), int(weekly[3])
        if hour > 23 or minute > 59:
            raise ValueError(f"no such time: {text!r}")
        return CronTrigger(day_of_week=weekly[1].lower()[:3], hour=hour, minute=minute, timezone=tz)
    every = _EVERY.match(text)
    if every:
        interval = parse_duration(every[1])
        if interval <= timedelta(0):
            raise ValueError("the interval must be positive")
        return IntervalTrigger(seconds=interval.total_seconds(), timezone=tz)
    try:
        return CronTrigger.from_crontab(text.strip(), timezone=tz)
    except ValueError as e:
        raise ValueError(
            f"not a schedule: {text!r} (use 'mon 08:00', a crontab line, or 'every 1h')"
        ) from e


def first_fire_since(trigger: BaseTrigger, since: datetime) -> datetime | None:
    """The first time ``trigger`` fires at or after ``since``."""
    return trigger.get_next_fire_time(None, since)
