"""Which new items meet which profile's alert rule. Pure; no I/O.

An item alerts a profile when the classifier kept it (relevant), it is fresh (published within
the rule's ``max_age``, or undated and so first seen now: a new source's backlog never alerts),
it meets every condition the rule sets, and, when the rule has ``any_of``, every condition of
one of those alternatives. Sums of money are read from the title, the summary and the opening
of the text (``monitor.stories.facts``); a sum counts for ``min_amount`` only in a currency the
rule names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from monitor.config import AlertConfig, AlertMatch, Config, ProfileConfig
from monitor.stories.facts import amounts

TEXT_CHARS = 1000  # of the article text read for sums of money


@dataclass(frozen=True)
class NewItem:
    """An item the current transaction inserted, with its story and its classification."""

    item_id: int
    story_id: int
    title: str
    summary: str
    text: str
    published_date: date | None
    dated: bool  # False: the date is only when it was first seen
    relevant: bool
    score: float
    section: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class QueuedFlash:
    """An alert to record: the profile, the story, the item that triggered it."""

    profile: str
    story_id: int
    item_id: int
    message_id: str


def meets(rule: AlertMatch, item: NewItem) -> bool:
    """Whether ``item`` meets every condition ``rule`` sets."""
    if rule.min_score is not None and item.score < rule.min_score:
        return False
    if rule.sections and item.section not in rule.sections:
        return False
    if rule.topics and not set(rule.topics) & set(item.topics):
        return False
    return not rule.min_amount or _large_sum(rule.min_amount, item)


def _large_sum(least: Mapping[str, float], item: NewItem) -> bool:
    text = "\n".join((item.title, item.summary, item.text[:TEXT_CHARS]))
    return any(a.value >= least[a.currency] for a in amounts(text) if a.currency in least)


def fresh(item: NewItem, alert: AlertConfig, now: datetime) -> bool:
    """Published within ``max_age`` of ``now`` (an undated item was first seen now)."""
    if not item.dated or item.published_date is None:
        return True
    return item.published_date >= (now - alert.max_age).date()


def alerts(alert: AlertConfig, item: NewItem, now: datetime) -> bool:
    """Whether ``item`` is a news alert under ``alert``."""
    if not (alert.enabled and item.relevant and fresh(item, alert, now)):
        return False
    if not meets(alert, item):
        return False
    return not alert.any_of or any(meets(option, item) for option in alert.any_of)


def flash_message_id(profile: str, story_id: int, domain: str) -> str:
    """Deterministic: the same alert sent again after a crash is recognisably the same."""
    tag = hashlib.sha1(f"{profile}\0{story_id}".encode()).hexdigest()[:8]
    return f"<flash.{profile}.{story_id}.{tag}@{domain}>"


class FlashMatcher:
    """The alert rules of every profile of a configuration; called by the store on the items
    a transaction inserted (``monitor.store.flashes.queue_flashes``)."""

    def __init__(self, profiles: Mapping[str, ProfileConfig], domain: str) -> None:
        self.rules = {name: p.alert for name, p in profiles.items() if p.alert is not None}
        self.domain = domain

    @classmethod
    def of(cls, config: Config, domain: str) -> FlashMatcher | None:
        """None when no profile has an alert rule (then nothing is even looked at)."""
        matcher = cls(config.digest.profiles, domain)
        return matcher if matcher.rules else None

    def __call__(self, items: Sequence[NewItem], now: datetime) -> list[QueuedFlash]:
        """The alerts ``items`` raise: one per profile and story (the first item of a story
        that meets the rule triggers it)."""
        found: dict[tuple[str, int], QueuedFlash] = {}
        for item in items:
            for name, rule in self.rules.items():
                key = (name, item.story_id)
                if key not in found and alerts(rule, item, now):
                    message_id = flash_message_id(name, item.story_id, self.domain)
                    found[key] = QueuedFlash(name, item.story_id, item.item_id, message_id)
        return list(found.values())
