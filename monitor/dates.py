"""Dates as sources state them → aware datetimes. Pure; no I/O."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dateparser

# A stated date further ahead than this is treated as wrong (time zones explain less than a day).
FUTURE_TOLERANCE = timedelta(days=1)


def from_struct_time(value: time.struct_time | None) -> datetime | None:
    """feedparser's ``*_parsed`` (UTC) → aware datetime."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError):
        return None


def parse_date(
    text: str, *, fmt: str | None = None, languages: list[str] | None = None, zone: str = "UTC"
) -> tuple[datetime | None, bool]:
    """Parse a stated date; return (aware datetime or None, whether only a date was given).

    ``fmt`` is a strptime format; without it ISO 8601 is tried, then dateparser in the given
    languages. A date without a time zone is taken in ``zone``.
    """
    text = " ".join(text.split())
    if not text:
        return None, False
    tz = ZoneInfo(zone)
    if fmt:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            return None, False
        date_only = not any(code in fmt for code in ("%H", "%I", "%M"))
        return _aware(parsed, tz), date_only
    try:
        parsed = datetime.fromisoformat(text)
        return _aware(parsed, tz), len(text) <= 10
    except ValueError:
        pass
    parsed = dateparser.parse(
        text,
        languages=languages,
        settings={"REQUIRE_PARTS": ["day", "month", "year"], "PREFER_DATES_FROM": "past"},
    )
    if parsed is None:
        return None, False
    date_only = parsed.hour == parsed.minute == parsed.second == 0 and ":" not in text
    return _aware(parsed, tz), date_only


def _aware(value: datetime, tz: ZoneInfo) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=tz)


def local_date(value: datetime, zone: str, date_only: bool = False) -> date:
    """The calendar date of ``value`` as the publisher sees it."""
    if date_only:
        return value.date()
    return value.astimezone(ZoneInfo(zone)).date()


def is_future(value: datetime, now: datetime) -> bool:
    return value - now > FUTURE_TOLERANCE
