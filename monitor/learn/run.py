"""``monitor learn PUBLISHED``: read an issue the editors published, match its citations to the
stored items, record what the editors kept (relevant, in that section) and dropped (not
relevant, weakly: only items the draft they saw showed), report what they cited that the
service never saw, then train. Learning the same issue twice changes nothing more."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.digest.week import Week, parse_week, week_of
from monitor.errors import FetchError, MonitorError
from monitor.learn.match import (
    CitationRef,
    EntryMatch,
    EntryRef,
    ItemIndex,
    host_of,
    is_watched,
    issue_key,
    labels,
    match_entries,
    missed_by_host,
)

if TYPE_CHECKING:
    from monitor.app import App, Trained
    from monitor.learn.published import PublishedIssue

log = logging.getLogger(__name__)
LOOK_BACK = timedelta(days=35)  # cited items may be older than the issue's week
LOOK_AHEAD = timedelta(days=7)
RESOLVE_SECONDS = 30.0  # for following the redirects of unmatched citations, all together


class LearnError(MonitorError):
    """The issue cannot be learned (a clear message for the editor)."""


@dataclass(frozen=True)
class Learned:
    name: str
    key: str
    layout: str
    week: str
    profile: str
    already: bool  # learned before: nothing changed
    matches: list[EntryMatch]
    verdicts: list[tuple[int, str, bool]]
    drafted: list[int] | None  # the entries of the draft the editors saw (None: no draft)
    cautious: bool  # the issue matched too little of that draft: none of it marked dropped
    missed: dict[str, dict[str, Any]]
    trained: Trained | None

    @property
    def kept(self) -> int:
        return sum(1 for v in self.verdicts if v[1] == "relevant")

    @property
    def dropped(self) -> int:
        return sum(1 for v in self.verdicts if v[1] == "irrelevant")


def learn(
    app: App,
    path: Path,
    *,
    week: str | None = None,
    profile: str | None = None,
    resolve: bool = True,
    train: bool = True,
) -> Learned:
    from monitor.learn.published import PublishedError, read_published

    labels_by_name = {
        s.label: s.key for p in app.config.digest.profiles.values() for s in p.sections
    }
    try:
        issue = read_published(path, labels_by_name)
    except PublishedError as e:
        raise LearnError(f"{path}: {e}") from e
    except OSError as e:
        raise LearnError(f"{path}: cannot read it ({e.strerror or e})") from e
    entries = [
        EntryRef(
            e.headline,
            e.section,
            tuple(
                CitationRef(c.title, c.url)
                for c in e.citations
                if (c.title or c.url) and c.kind != "paper"  # a journal article: not news
            ),
        )
        for e in issue.entries
    ]
    if not any(e.citations for e in entries):
        raise LearnError(f"{path}: no citations found (no original titles or links)")
    key = issue_key(entries)
    chosen = profile or _profile_for(app, issue.layout)
    the_week = parse_week(week, app.timezone) if week else _week_of_issue(app, issue)
    candidates = app.store.items_in_period(
        the_week.first - LOOK_BACK,
        the_week.last + LOOK_AHEAD,
        the_week.start - LOOK_BACK,
        the_week.end + LOOK_AHEAD,
    )
    index = ItemIndex(candidates)
    matches = match_entries(entries, index)
    watched = [host_of(s.url) for s in app.config.sources]
    if resolve:
        _resolve_redirects(app, matches, index, watched)
    drafted = app.store.digest_items(the_week.label, chosen)
    story_of = {i.id: i.story_id or i.id for i in candidates}
    matched = sum(1 for m in matches if m.items)
    kept_drafted = drafted is not None and any(
        story_of.get(d, d) in {story_of.get(i, i) for m in matches for i in m.items}
        for d in drafted
    )
    cautious = drafted is not None and (matched * 2 < len(matches) or not kept_drafted)
    if cautious:
        # not recognisably the issue drafted for that week: dropping the draft's entries on
        # its word would be a guess; only what the editors kept is learned
        log.warning(
            "learn: %d of %d entries matched, none of the draft kept: no entry marked dropped",
            matched,
            len(matches),
        )
    verdicts = labels(matches, None if cautious else drafted, story_of)
    missed = missed_by_host(matches, watched)
    report = {
        "entries": len(entries),
        "matched": sum(1 for m in matches if m.items),
        "kept": sum(1 for v in verdicts if v[1] == "relevant"),
        "dropped": sum(1 for v in verdicts if v[1] == "irrelevant"),
        "missed": missed,
    }
    recorded = app.store.record_learned(
        key, path.name, the_week.label, chosen, report, verdicts, app.clock()
    )
    trained = app.train() if recorded and train else None
    return Learned(
        path.name,
        key,
        issue.layout,
        the_week.label,
        chosen,
        not recorded,
        matches,
        verdicts if recorded else [],
        drafted,
        cautious,
        missed,
        trained,
    )


def _profile_for(app: App, layout: str) -> str:
    digest = app.config.digest
    if digest.profiles[digest.default_profile].layout == layout:
        return digest.default_profile
    for name, profile in digest.profiles.items():
        if profile.layout == layout:
            return name
    return digest.default_profile


def _week_of_issue(app: App, issue: PublishedIssue) -> Week:
    """The week the issue covers: the period it states (a single day is its publication
    date: the week before), else the week most of its cited and lead dates fall in."""
    if issue.period is not None and issue.period[0] != issue.period[1]:
        return week_of(issue.period[1], app.timezone)
    days: list[date] = [c.date for e in issue.entries for c in e.citations if c.date]
    days += [e.lead_date for e in issue.entries if e.lead_date]
    if days:
        weeks = Counter(week_of(d, app.timezone).label for d in days)
        return parse_week(weeks.most_common(1)[0][0], app.timezone)
    if issue.period is not None:
        return week_of(issue.period[0], app.timezone).previous()
    raise LearnError("the issue states no period and no dates: name its week with --week")


def _resolve_redirects(
    app: App, matches: list[EntryMatch], index: ItemIndex, watched: list[str]
) -> None:
    """A cited link that redirects (an old address, a moved page) names the item it lands on.
    Only links to hosts some source watches are followed: the service fetches nothing from a
    site nobody configured."""
    deadline = time.monotonic() + RESOLVE_SECONDS
    for match in matches:
        still = []
        for citation in match.missed:
            if (
                citation.url is None
                or not is_watched(host_of(citation.url), watched)
                or time.monotonic() >= deadline
            ):
                still.append(citation)
                continue
            try:
                fetched = app.client.get(citation.url, accept="text/html", deadline=deadline)
            except FetchError as e:
                log.info("learn: cited link not resolved url=%s error=%s", citation.url, e)
                still.append(citation)
                continue
            item_id, _ = index.find(CitationRef(citation.title, fetched.final_url))
            if item_id is None:
                still.append(citation)
            elif item_id not in match.items:
                match.items.append(item_id)
                match.how.append("redirect")
        match.missed = still
