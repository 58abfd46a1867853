"""What the review desk shows and what an editor's action means. Pure; no I/O.

- ``overview``: the coming digest of a week and profile by section (each entry's view, the
  classifier's full reasons, whether an editor edited its Chinese text or pinned it), and the
  candidates just below the threshold (items of the week that are out, highest score first,
  those the editors dropped marked so: including one again undoes the drop).
- ``verdicts``: an action → the feedback it stores (``monitor.store.feedback``), the same
  verdicts ``monitor feedback`` records, so the classifier learns from the desk too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from monitor.config import SECTIONS, Config, ProfileConfig
from monitor.digest.build import Composed
from monitor.digest.select import item_day
from monitor.digest.view import ALERTED, ItemView, publisher_names
from monitor.digest.week import Week
from monitor.items import StoredItem

ACTIONS = ("move", "drop", "pin", "include", "edit")
CANDIDATE_MARGIN = 0.25  # candidates score at least the threshold less this
MAX_CANDIDATES = 20
MAX_HEADLINE = 200  # characters of an edited headline
MAX_LEAD = 2000  # characters of an edited lead


class ActionError(ValueError):
    """An action the desk refuses (an unknown section, an empty headline); the message says
    why, in words an editor reads."""


@dataclass(frozen=True)
class DeskEntry:
    view: ItemView  # headline, lead, publisher, date, score, related coverage, as in the email
    section: str
    why: tuple[str, ...]  # every reason the classifier gave
    edited: bool  # the Chinese text is an editor's
    pinned: bool  # an editor put it in 专题


@dataclass(frozen=True)
class DeskSection:
    key: str
    label: str
    entries: tuple[DeskEntry, ...]


@dataclass(frozen=True)
class Candidate:
    item: StoredItem
    day: date
    publisher: str
    dropped: bool  # the editors said it is out


@dataclass(frozen=True)
class Overview:
    week: Week
    profile: str
    title: str
    count: int
    sections: tuple[DeskSection, ...]
    candidates: tuple[Candidate, ...]
    targets: tuple[tuple[str, str], ...]  # (key, label) of the sections an entry may move to
    threshold: float


def overview(
    composed: Composed,
    config: Config,
    profile: str,
    edited: Collection[int],
    dropped: Collection[int],
) -> Overview:
    """The desk's page of a composed digest; ``edited``: entries whose Chinese text is an
    editor's; ``dropped``: items the editors said are out."""
    selection, view = composed.selection, composed.view
    views = {v.item_id: v for s in view.sections for v in s.items}
    sections = tuple(
        DeskSection(
            s.key,
            s.label,
            tuple(
                DeskEntry(
                    view=views[e.item.id],
                    section=s.key,
                    why=e.item.why,
                    edited=e.item.id in edited,
                    pinned=e.item.pinned == "feature",
                )
                for e in s.entries
            ),
        )
        for s in selection.sections
    )
    shown = {i for s in selection.sections for e in s.entries for i in _members(e.item, e.related)}
    threshold = config.classifier.threshold
    return Overview(
        week=selection.week,
        profile=profile,
        title=view.title,
        count=selection.count,
        sections=sections,
        candidates=candidates(composed.items, selection.week, config, shown, dropped, threshold),
        targets=move_targets(config.digest.profiles[profile]),
        threshold=threshold,
    )


def _members(item: StoredItem, related: Sequence[StoredItem]) -> list[int]:
    return [item.id, *(r.id for r in related)]


def candidates(
    items: Mapping[int, StoredItem],
    week: Week,
    config: Config,
    shown: Collection[int],
    dropped: Collection[int],
    threshold: float,
) -> tuple[Candidate, ...]:
    """Items of ``week`` that are out of the digest, scoring at least the threshold less
    ``CANDIDATE_MARGIN`` (or dropped by the editors), highest score first."""
    found = []
    for item in items.values():
        if item.relevant or item.id in shown:
            continue
        day, _ = item_day(item, week.timezone)
        if not week.contains(day):
            continue
        if item.score < threshold - CANDIDATE_MARGIN and item.id not in dropped:
            continue
        full, _ = publisher_names(config.publisher(item.publisher))
        found.append(Candidate(item, day, full, item.id in dropped))
    found.sort(key=lambda c: (-c.item.score, c.item.id))
    return tuple(found[:MAX_CANDIDATES])


def move_targets(profile: ProfileConfig) -> tuple[tuple[str, str], ...]:
    """The profile's sections an entry may be moved to (专题 has its own action: pin)."""
    return tuple((s.key, s.label) for s in profile.sections if s.key != "feature")


def verdicts(action: str, section: str | None, profile: ProfileConfig) -> list[str]:
    """The feedback an action stores, in order (the latest of a kind wins)."""
    keys = {key for key, _ in move_targets(profile)} | set(SECTIONS)
    if action == "drop":
        return ["irrelevant"]
    if action == "pin":
        return ["relevant", "section=feature"]
    if action == "edit":
        return ["relevant"]  # an entry worth rewriting belongs in the digest
    if action in ("move", "include"):
        if section and section not in keys:
            raise ActionError(f"没有这个栏目 unknown section: {section!r}")
        if action == "move" and not section:
            raise ActionError("请选择栏目 choose a section")
        return ["relevant", *([f"section={section}"] if section else [])]
    raise ActionError(f"unknown action: {action!r}")


def edited_text(headline: str, lead: str) -> tuple[str, str]:
    """An editor's headline and lead, trimmed and checked; the news-alert mark the digest
    adds to a headline (shown in the form) is not part of the text."""
    headline, lead = " ".join(headline.split()), lead.strip().replace("\r\n", "\n")
    headline = headline.removesuffix(ALERTED).rstrip()
    if not headline or not lead:
        raise ActionError("标题和导语都不能为空 headline and lead must not be empty")
    if len(headline) > MAX_HEADLINE or len(lead) > MAX_LEAD:
        raise ActionError(f"太长 too long: headline ≤ {MAX_HEADLINE}, lead ≤ {MAX_LEAD} characters")
    return headline, lead
