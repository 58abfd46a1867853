"""Source health: is a source failing, emptied by a redesign, or silent? Pure; no I/O.

Three kinds of incident, each opened once and closed once:
- ``failing``: the last ``threshold`` polls in a row failed;
- ``empty``: an ``html`` source answered 200 but its item selector matched nothing (a redesign);
- ``silent``: no new item for far longer than the source's usual rate (over the last 8 weeks of
  publication dates), e.g. a feed that still answers but was frozen or moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

KINDS = ("failing", "empty", "silent")
WEEKS = 8
MIN_SILENCE = timedelta(days=3)


@dataclass(frozen=True)
class SourceStats:
    id: str
    name: str
    kind: str
    consecutive_failures: int
    last_error: str | None
    last_outcome: str | None
    last_warnings: tuple[str, ...]
    last_success_at: datetime | None
    last_item_date: date | None
    weekly_counts: tuple[int, ...]  # items published in each of the last 8 weeks, oldest first


def first_counted_day(today: date) -> date:
    """The day before the first of the ``WEEKS`` weeks counted (publication dates after it)."""
    return today - timedelta(weeks=WEEKS)


def weekly_counts(published: Iterable[tuple[str, date]], today: date) -> dict[str, list[int]]:
    """Per source, its items published in each of the last ``WEEKS`` weeks, oldest first, from
    (source, publication date) pairs dated after ``first_counted_day`` and up to ``today``."""
    first = first_counted_day(today)
    counts: dict[str, list[int]] = {}
    for source_id, day in published:
        week = min((day - first).days // 7, WEEKS - 1)
        counts.setdefault(source_id, [0] * WEEKS)[week] += 1
    return counts


@dataclass(frozen=True)
class Verdict:
    kind: str
    open: bool
    detail: str


def evaluate(
    stats: SourceStats, now: datetime, *, threshold: int, silence_factor: float
) -> list[Verdict]:
    return [
        _failing(stats, threshold),
        _empty(stats),
        _silent(stats, now.date(), silence_factor),
    ]


def _failing(stats: SourceStats, threshold: int) -> Verdict:
    failing = stats.consecutive_failures >= threshold
    detail = (
        f"{stats.consecutive_failures} polls in a row failed; last error: {stats.last_error}"
        if failing
        else "polls succeed"
    )
    return Verdict("failing", failing, detail)


def _empty(stats: SourceStats) -> Verdict:
    matched_nothing = [w for w in stats.last_warnings if "matched nothing" in w]
    empty = stats.last_outcome == "ok" and bool(matched_nothing)
    detail = (
        f"the page answered but {matched_nothing[0]}: the site was probably redesigned"
        if empty
        else "selectors match"
    )
    return Verdict("empty", empty, detail)


def expected_gap(weekly_counts: tuple[int, ...]) -> timedelta | None:
    """The usual time between two items, or None when there is too little history to say."""
    total = sum(weekly_counts)
    if total < 2:
        return None
    return timedelta(days=7 * len(weekly_counts) / total)


def _silent(stats: SourceStats, today: date, factor: float) -> Verdict:
    gap = expected_gap(stats.weekly_counts)
    if gap is None or stats.last_item_date is None:
        return Verdict("silent", False, "not enough history to judge")
    limit = max(gap * factor, MIN_SILENCE)
    quiet = timedelta(days=(today - stats.last_item_date).days)
    silent = quiet > limit
    detail = (
        f"no new item for {quiet.days} days; usually one every {gap.days or 1} days "
        f"({sum(stats.weekly_counts)} in {len(stats.weekly_counts)} weeks)"
    )
    return Verdict("silent", silent, detail if silent else "publishing at its usual rate")
