"""Which items go in a week's digest, in which section, in which order. Pure; no I/O.

- An item belongs to the ISO week of its publication date; an item without one, to the week it
  was first seen (in the digest's time zone), and the digest says so.
- Items of one story (the same announcement from several sources) appear once: the lead (the
  originating publisher first, then the fullest text: ``monitor.stories.choose_lead``) with the
  others as related coverage. A story belongs to the week of its lead's date. A relevant item of
  this week whose story's lead falls in another week still appears: its story gets an entry
  here too, led by its own members of this week, marked as a follow-up. No relevant item
  disappears from its own week because of a merge.
- Feature (专题): the items the editors pinned there, then up to ``feature_max`` items chosen
  by ``is_feature_candidate`` (a strategy item from a government body or agency whose title or
  first sentence names a major document) among those the editors did not place elsewhere;
  ranked like any section; each feature item is shown only there.
- Within a section: score, then how many sources carried the story, then date, newest first.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from monitor.config import ProfileConfig, Publisher
from monitor.digest.week import Week
from monitor.items import StoredItem
from monitor.stories.glossary import Glossary
from monitor.stories.lead import LeadCandidate, choose_lead
from monitor.text import sentences


def first_sentence(text: str) -> str:
    found = sentences(text)
    return found[0] if found else ""


# Titles that name a major document or decision: what the bulletins lead with.
MAJOR = re.compile(
    r"\b(strateg\w*|plan|national \w+ (program|initiative)|roadmap|road map|"
    r"executive order|act\b|law\b|white paper|blueprint|framework|industrial policy|"
    r"report|review|assessment|outlook|insights?)\b"
    r"|战略|规划|路线图|行动计划|白皮书|法案|报告|政策",
    re.IGNORECASE,
)
FEATURE_KINDS = frozenset({"government", "agency"})
FEATURE_MIN_SCORE = 0.6


@dataclass(frozen=True)
class Entry:
    item: StoredItem
    related: tuple[StoredItem, ...]
    day: date
    dated_by_first_seen: bool
    story_lead: StoredItem | None = None  # the story's lead, when it falls in another week

    @property
    def source_count(self) -> int:
        publishers = {self.item.publisher} | {r.publisher for r in self.related}
        return len(publishers)


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Selection:
    week: Week
    profile: str
    sections: tuple[Section, ...]

    @property
    def count(self) -> int:
        return sum(len(s.entries) for s in self.sections)


def item_day(item: StoredItem, timezone: str) -> tuple[date, bool]:
    """The day an item counts for, and whether that is only the day it was first seen."""
    if item.published_date is not None:
        return item.published_date, False
    return item.first_seen_at.astimezone(ZoneInfo(timezone)).date(), True


def is_feature_candidate(entry: Entry, publishers: dict[str, Publisher]) -> bool:
    """A strategy item from a government body or agency, naming a major document."""
    item = entry.item
    publisher = publishers.get(item.publisher)
    return (
        item.section == "strategy"
        and item.score >= FEATURE_MIN_SCORE
        and publisher is not None
        and publisher.kind in FEATURE_KINDS
        and bool(MAJOR.search(item.title) or MAJOR.search(first_sentence(item.summary)))
    )


def rank_key(entry: Entry) -> tuple[float, int, int, int]:
    return (-round(entry.item.score, 4), -entry.source_count, -entry.day.toordinal(), entry.item.id)


def select(
    items: list[StoredItem],
    week: Week,
    profile_name: str,
    profile: ProfileConfig,
    publishers: dict[str, Publisher],
) -> Selection:
    entries = _stories(items, week, publishers)
    keys = [s.key for s in profile.sections]
    features: list[Entry] = []
    if "feature" in keys:
        # the editors' pins first (``feedback ITEM section=feature``, a published issue's 专题)
        pinned = sorted((e for e in entries if e.item.pinned == "feature"), key=rank_key)
        candidates = sorted(
            (e for e in entries if not e.item.pinned and is_feature_candidate(e, publishers)),
            key=rank_key,
        )
        features = pinned + candidates[: max(profile.feature_max - len(pinned), 0)]
    chosen = {e.item.id for e in features}
    by_section: dict[str, list[Entry]] = defaultdict(list)
    by_section["feature"] = features
    for entry in entries:
        if entry.item.id not in chosen:
            by_section[entry.item.section].append(entry)
    sections, budget = [], profile.max_items
    for spec in profile.sections:
        ranked = sorted(by_section.get(spec.key, []), key=rank_key)[: max(budget, 0)]
        budget -= len(ranked)
        if ranked:
            sections.append(Section(spec.key, spec.label, tuple(ranked)))
    return Selection(week, profile_name, tuple(sections))


def _stories(
    items: list[StoredItem], week: Week, publishers: Mapping[str, Publisher]
) -> list[Entry]:
    """One entry per story with a relevant member in ``week``: led by the story's lead when
    its date is in ``week``, else (a follow-up) by the lead of its members of this week."""
    stories: dict[int, list[StoredItem]] = defaultdict(list)
    for item in items:
        stories[item.story_id or item.id].append(item)
    glossary = Glossary.build(publishers)
    entries = []
    for members in stories.values():
        relevant = [m for m in members if m.relevant]
        days = {m.id: item_day(m, week.timezone) for m in relevant}
        here = [m for m in relevant if week.contains(days[m.id][0])]
        if not here:
            continue
        lead = _lead(relevant, publishers, glossary)
        story_lead = None
        if lead not in here:
            story_lead, lead = lead, _lead(here, publishers, glossary)
        related = tuple(sorted((m for m in members if m.id != lead.id), key=lambda m: m.id))
        entries.append(Entry(lead, related, *days[lead.id], story_lead=story_lead))
    return entries


def _lead(
    members: list[StoredItem], publishers: Mapping[str, Publisher], glossary: Glossary
) -> StoredItem:
    candidates = [
        LeadCandidate(
            item_id=m.id,
            publisher=m.publisher,
            title=m.title,
            text_length=len(m.text or m.summary),
            published=m.published_date,
            relevance=m.score,
        )
        for m in members
    ]
    chosen = choose_lead(candidates, publishers, glossary)
    return next(m for m in members if m.id == chosen)
