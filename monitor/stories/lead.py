"""Which member of a story the digest shows first. Pure; no I/O.

The originating publisher leads: the one that made the decision. A government or agency
publisher comes before a lab, a lab before a university, company or other, and those before the
media; a publisher the other members' titles name as the actor ("NSF awards ...", reported by a
university) moves up one rank. Then the fullest text, the earliest date, the highest relevance,
and the lowest item id, so the choice never depends on input order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from monitor.stories.glossary import Glossary

if TYPE_CHECKING:
    from monitor.config import Publisher

_KIND_RANK = {
    "government": 4,
    "agency": 4,
    "lab": 3,
    "university": 2,
    "company": 2,
    "other": 2,
    "media": 1,
}


@dataclass(frozen=True)
class LeadCandidate:
    item_id: int
    publisher: str
    title: str
    text_length: int = 0  # characters of summary or article text
    published: date | None = None
    relevance: float = 0.0


def choose_lead(
    members: Sequence[LeadCandidate],
    publishers: Mapping[str, Publisher],
    glossary: Glossary | None = None,
) -> int:
    """The item id of the member to show first (``glossary``: built from ``publishers`` when
    not given; pass it when choosing for many stories)."""
    if not members:
        raise ValueError("a story has at least one member")
    if len(members) == 1:
        return members[0].item_id
    glossary = glossary or Glossary.build(publishers)

    def key(m: LeadCandidate) -> tuple[int, int, int, float, int]:
        others = [o.title for o in members if o.item_id != m.item_id]
        rank = _rank(m.publisher, publishers) + (1 if _named(m, others, glossary) else 0)
        day = (m.published or date.max).toordinal()
        return (-rank, -m.text_length, day, -m.relevance, m.item_id)

    return min(members, key=key).item_id


def _rank(publisher: str, publishers: Mapping[str, Publisher]) -> int:
    known = publishers.get(publisher)
    return _KIND_RANK.get(known.kind, 0) if known else 0


def _named(member: LeadCandidate, others: Sequence[str], glossary: Glossary) -> bool:
    """Whether another member's title names this member's publisher as its actor."""
    surfaces = glossary.surfaces(f"org:{member.publisher}")
    for title in others:
        for surface in surfaces:
            flags = 0 if surface.isupper() or len(surface) <= 4 else re.IGNORECASE
            if re.search(rf"(?<!\w){re.escape(surface)}(?!\w)", title, flags):
                return True
    return False
