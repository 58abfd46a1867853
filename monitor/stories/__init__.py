"""Story grouping: items of several sources that announce one thing form one story.

``StoryIndex`` keeps recent items and decides, item by item, whether a new one joins a story
already seen; ``group`` runs it over a batch; ``choose_lead`` picks the member the digest shows
first. Pure; no I/O.
"""

from __future__ import annotations

from monitor.stories.lead import LeadCandidate, choose_lead
from monitor.stories.match import StoryDoc, StoryIndex, StoryMatch, Tuning, group

__all__ = [
    "LeadCandidate",
    "StoryDoc",
    "StoryIndex",
    "StoryMatch",
    "Tuning",
    "choose_lead",
    "group",
]
