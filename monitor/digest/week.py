"""ISO weeks in a time zone. Pure; no I/O; ``now`` is passed in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$", re.IGNORECASE)


@dataclass(frozen=True)
class Week:
    year: int
    number: int
    timezone: str

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def first(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def last(self) -> date:
        return self.first + timedelta(days=6)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=ZoneInfo(self.timezone))

    @property
    def end(self) -> datetime:
        return datetime.combine(
            self.first + timedelta(days=7), time(), tzinfo=ZoneInfo(self.timezone)
        )

    def previous(self) -> Week:
        return week_of(self.first - timedelta(days=7), self.timezone)

    def contains(self, day: date) -> bool:
        return self.first <= day <= self.last


def week_of(day: date, timezone: str) -> Week:
    year, number, _ = day.isocalendar()
    return Week(year, number, timezone)


def parse_week(text: str, timezone: str) -> Week:
    """``2026-W47`` → Week; ValueError for anything else or a week that does not exist."""
    match = _WEEK.match(text.strip())
    if not match:
        raise ValueError(f"not an ISO week: {text!r} (use YYYY-Www, e.g. 2026-W47)")
    year, number = int(match[1]), int(match[2])
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError as e:
        raise ValueError(f"{year} has no week {number}") from e
    return Week(year, number, timezone)


def current_week(now: datetime, timezone: str) -> Week:
    return week_of(now.astimezone(ZoneInfo(timezone)).date(), timezone)


def last_complete_week(now: datetime, timezone: str) -> Week:
    return current_week(now, timezone).previous()
