"""Relevance, topics and section of an item, with the reasons. Pure; no I/O.

Layer 1 (``rules``) scores weighted terms from the configuration; layer 2 (``model``, when a
trained model is given) adds a learned probability. Both contribute to ``why``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from monitor.classify.rules import Hit, TermIndex
from monitor.config import SECTIONS, ClassifierConfig, Config
from monitor.items import Classification

RULES_VERSION = "rules-1"
SECTION_PRIOR = 2.0  # weight of a source's section hint
TOPIC_MIN = 1.0  # a topic is assigned when its hits weigh at least this much
MAX_TOPICS = 4
TEXT_LIMIT = 4000  # characters of article text considered
EXCLUDE = "exclude"
# Without section evidence, an item takes the section its kind of publisher usually fills.
KIND_SECTIONS = {"government": "strategy", "company": "industry", "media": "industry"}
SECTION_PREFIX = "section:"


@dataclass(frozen=True)
class Doc:
    """What the classifier reads."""

    title: str
    summary: str = ""
    text: str = ""
    url: str = ""
    publisher: str = ""
    section_hint: str | None = None


class Classifier:
    def __init__(self, config: Config) -> None:
        self.settings: ClassifierConfig = config.classifier
        self.topic_names = frozenset(config.topics)
        self.index = TermIndex(
            {name: topic.terms for name, topic in config.topics.items()}
            | {EXCLUDE: self.settings.exclude}
            | {SECTION_PREFIX + name: terms for name, terms in self.settings.sections.items()}
        )
        self.kinds = {name: p.kind for name, p in config.publishers.items()}
        self.version = RULES_VERSION

    def classify(self, doc: Doc) -> Classification:
        fields = {"title": doc.title, "summary": doc.summary, "text": doc.text[:TEXT_LIMIT]}
        hits = self.index.match(fields)
        topic_hits = [h for h in hits if h.group in self.topic_names]
        exclude_hits = [h for h in hits if h.group == EXCLUDE]
        section_hits = [h for h in hits if h.group.startswith(SECTION_PREFIX)]
        evidence = _evidence(topic_hits) + sum(h.weight for h in exclude_hits)
        score = round(_squash(evidence), 4)
        topics = _topics(topic_hits)
        fallback = KIND_SECTIONS.get(self.kinds.get(doc.publisher, ""), "research")
        section, section_why = _section(section_hits, doc.section_hint, fallback)
        why = _explain(topic_hits, exclude_hits, evidence) + section_why
        return Classification(
            relevant=score >= self.settings.threshold,
            score=score,
            topics=topics,
            section=section,
            why=tuple(why),
            version=self.version,
        )


def _section(hits: list[Hit], hint: str | None, fallback: str) -> tuple[str, list[str]]:
    totals: dict[str, float] = defaultdict(float)
    reasons: dict[str, list[str]] = defaultdict(list)
    for hit in hits:
        name = hit.group.removeprefix(SECTION_PREFIX)
        totals[name] += hit.weight
        reasons[name].append(f"{hit.term!r} {hit.weight:+.1f}")
    if hint in SECTIONS:
        totals[hint] += SECTION_PRIOR
        reasons[hint].append(f"source prior {SECTION_PRIOR:+.1f}")
    if not totals or max(totals.values()) <= 0:
        return fallback, [f"section {fallback}: no section evidence (the publisher's usual)"]
    order = {name: i for i, name in enumerate(SECTIONS)}
    best = max(totals, key=lambda s: (totals[s], s == hint, -order[s]))
    return best, [f"section {best}: " + ", ".join(reasons[best])]


def _evidence(hits: list[Hit]) -> float:
    """Sum of topic evidence; one term counts once even if listed under several topics."""
    best: dict[str, float] = {}
    for hit in hits:
        best[hit.term.lower()] = max(best.get(hit.term.lower(), 0.0), hit.weight)
    return sum(best.values())


def _squash(evidence: float) -> float:
    """Evidence → score in (0, 1); 0.5 at an evidence of 2.5 (e.g. one strong title term)."""
    return 1.0 / (1.0 + math.exp(-1.2 * (evidence - 2.5)))


def _topics(hits: list[Hit]) -> tuple[str, ...]:
    totals: dict[str, float] = defaultdict(float)
    for hit in hits:
        totals[hit.group] += hit.weight
    ranked = sorted((t for t in totals if totals[t] >= TOPIC_MIN), key=lambda t: (-totals[t], t))
    return tuple(ranked[:MAX_TOPICS])


def _explain(topic_hits: list[Hit], exclude_hits: list[Hit], evidence: float) -> list[str]:
    why = [f"{h.group}: {h.term!r} in {h.field} {h.weight:+.1f}" for h in topic_hits]
    why += [f"exclude: {h.term!r} in {h.field} {h.weight:+.1f}" for h in exclude_hits]
    why.append(f"rule evidence {evidence:+.1f}")
    return why
