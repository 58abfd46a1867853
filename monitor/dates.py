"""Dates as sources state them → aware datetimes. Pure; no I/O."""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

# A stated date further ahead than this is treated as wrong (time zones explain less than a day).
FUTURE_TOLERANCE = timedelta(days=1)
# Dates outside these years are misreadings (and would overflow time zone arithmetic).
MIN_YEAR, MAX_YEAR = 1900, 2999

# Year-month-day as Chinese and Japanese sites write it: 2026年3月4日, 2026-03-04, 2026/3/4,
# 2026.3.4; anywhere in the text (listings write 发布时间：2026-03-04).
_YMD = re.compile(
    r"(?<!\d)(\d{4})\s*(?:年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]|([-/.])(\d{1,2})\4(\d{1,2})(?!\d))"
)
# A time right after such a date: 10:30, 10:30:15, 10时30分, T10:30+08:00, 下午3:30.
_TIME = re.compile(
    r"(?P<gap>\D{0,12}?)(?<!\d)(?P<h>\d{1,2})\s*[:：时時]\s*(?P<m>\d{2})"
    r"(?:\s*[:：分]\s*(?P<s>\d{2}))?(?!\d)\s*(?P<zone>Z|[+-]\d{2}:?\d{2}(?!\d))?"
)
_WORD = re.compile(r"[A-Za-z0-9]")
_AFTERNOON = ("下午", "午后", "午後", "pm", "p.m.")


def from_struct_time(value: time.struct_time | None) -> datetime | None:
    """feedparser's ``*_parsed`` (UTC) → aware datetime."""
    if value is None:
        return None
    try:
        return _plausible(datetime.fromtimestamp(calendar.timegm(value), tz=UTC))
    except (OverflowError, ValueError, OSError):
        return None


def parse_date(
    text: str, *, fmt: str | None = None, languages: list[str] | None = None, zone: str = "UTC"
) -> tuple[datetime | None, bool]:
    """Parse a stated date; return (aware datetime or None, whether only a date was given).

    ``fmt`` is a strptime format; without it ISO 8601 is tried, then the year-month-day forms of
    Chinese and Japanese sites, then dateparser in the given languages. A date without a time
    zone is taken in ``zone``. Never raises on odd text: an unreadable date is None.
    """
    text = " ".join(text.split())
    if not text:
        return None, False
    tz = ZoneInfo(zone)
    if fmt:
        return _with_format(text, fmt, tz)
    try:
        return _result(_aware(datetime.fromisoformat(text), tz), date_only=len(text) <= 10)
    except ValueError:
        pass
    match = _YMD.search(text)
    stated = _year_month_day(match, text, tz) if match else None
    return stated if stated is not None else _lenient(text, languages, tz)


def _with_format(text: str, fmt: str, tz: ZoneInfo) -> tuple[datetime | None, bool]:
    try:
        parsed = datetime.strptime(text, fmt)
    except ValueError:
        return None, False
    date_only = not any(code in fmt for code in ("%H", "%I", "%M"))
    return _result(_aware(parsed, tz), date_only)


def _year_month_day(
    match: re.Match[str], text: str, tz: ZoneInfo
) -> tuple[datetime | None, bool] | None:
    """The date ``match`` found, at the time that follows it if any. None when a numeric date
    stands among other words or numbers (\"Version 2024.1.2 of 16 May\"): dateparser decides."""
    clock = _TIME.match(text, match.end())
    rest = text[: match.start()] + text[clock.end() if clock else match.end() :]
    if not match.group(2) and _WORD.search(rest):
        return None
    groups = (1, 2, 3) if match.group(2) else (1, 5, 6)
    year, month, day = (int(match.group(group)) for group in groups)
    try:
        stated = datetime(year, month, day, tzinfo=tz)
    except ValueError:
        return None, False
    timed = _at(stated, clock) if clock else None
    return _result(timed, date_only=False) if timed else _result(stated, date_only=True)


def _at(day: datetime, clock: re.Match[str]) -> datetime | None:
    """``day`` at the time ``clock`` states, or None if that time is impossible."""
    hour, minute, second = int(clock["h"]), int(clock["m"]), int(clock["s"] or 0)
    if hour < 12 and any(mark in clock["gap"].lower() for mark in _AFTERNOON):
        hour += 12
    offset = _offset(clock["zone"]) if clock["zone"] else day.tzinfo
    if hour > 23 or minute > 59 or second > 59 or offset is None:
        return None
    return day.replace(hour=hour, minute=minute, second=second, tzinfo=offset)


def _offset(zone: str) -> tzinfo | None:
    """``Z``, ``+08:00`` or ``-0500`` → a fixed offset; None if impossible."""
    if zone == "Z":
        return UTC
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if zone[0] == "-" else delta)


def _lenient(text: str, languages: list[str] | None, tz: ZoneInfo) -> tuple[datetime | None, bool]:
    """dateparser, for dates written out in words (16. September 2024)."""
    import dateparser  # (only here: importing it costs a twentieth of a second)

    try:
        parsed = dateparser.parse(
            text,
            languages=_known(languages),
            settings={"REQUIRE_PARTS": ["day", "month", "year"], "PREFER_DATES_FROM": "past"},
        )
    except (ValueError, OverflowError):  # dateparser on numbers it cannot place (year 99999)
        return None, False
    if parsed is None:
        return None, False
    date_only = parsed.hour == parsed.minute == parsed.second == 0 and ":" not in text
    return _result(_aware(parsed, tz), date_only)


@cache
def _dateparser_languages() -> frozenset[str]:
    from dateparser.data.languages_info import language_order

    return frozenset(language_order)


def _known(languages: list[str] | None) -> list[str] | None:
    """The languages dateparser knows (``zh-CN`` → ``zh``); None (detect) if none is known."""
    known = []
    for code in languages or []:
        primary = re.split(r"[-_]", code.strip())[0].lower()
        for candidate in (code.strip(), primary):
            if candidate in _dateparser_languages():
                known.append(candidate)
                break
    return list(dict.fromkeys(known)) or None


def _aware(value: datetime, tz: ZoneInfo) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _plausible(value: datetime) -> datetime | None:
    return value if MIN_YEAR <= value.year <= MAX_YEAR else None


def _result(value: datetime, date_only: bool) -> tuple[datetime | None, bool]:
    return (value, date_only) if _plausible(value) else (None, False)


def local_date(value: datetime, zone: str, date_only: bool = False) -> date:
    """The calendar date of ``value`` as the publisher sees it."""
    if date_only:
        return value.date()
    return value.astimezone(ZoneInfo(zone)).date()


def is_future(value: datetime, now: datetime) -> bool:
    return value - now > FUTURE_TOLERANCE
