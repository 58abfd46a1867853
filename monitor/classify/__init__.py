"""Relevance, topics and section of an item, with the reasons. Pure; no I/O.

Layer 1 (``rules``) scores weighted terms from the configuration; layer 2 (``model``), when a
trained model is given, reads the text and the rule layer's signals and gives a probability of
relevance (the item's score) and of each section. Both contribute to ``why``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from monitor.classify.model import Model, model_features
from monitor.classify.rules import Hit, TermIndex
from monitor.config import SECTIONS, ClassifierConfig, Config
from monitor.items import Classification

RULES_VERSION = "rules-1"
SECTION_PRIOR = 2.0  # weight of a source's section hint in the rules
HINT_ODDS = 4.0  # how much a source's section hint multiplies the model's odds
TOPIC_MIN = 1.5  # a topic is assigned when its hits weigh at least this much,
TOPIC_SHARE = 0.5  # and at least this share of the strongest topic's weight
MAX_TOPICS = 3
TEXT_LIMIT = 4000  # characters of article text considered
EXCLUDE = "exclude"
SECTION_PREFIX = "section:"
# Without section evidence, an item takes the section its kind of publisher usually fills.
KIND_SECTIONS = {"government": "strategy", "company": "industry", "media": "industry"}


@dataclass(frozen=True)
class Doc:
    """What the classifier reads."""

    title: str
    summary: str = ""
    text: str = ""
    url: str = ""
    publisher: str = ""
    section_hint: str | None = None


@dataclass(frozen=True)
class Signals:
    """What the rule layer found in a document."""

    topic_hits: list[Hit]
    exclude_hits: list[Hit]
    section_hits: list[Hit]
    evidence: float
    dense: dict[str, float]


class Classifier:
    def __init__(self, config: Config, model: Model | None = None) -> None:
        self.settings: ClassifierConfig = config.classifier
        self.topic_names = frozenset(config.topics)
        self.index = TermIndex(
            {name: topic.terms for name, topic in config.topics.items()}
            | {EXCLUDE: self.settings.exclude}
            | {SECTION_PREFIX + name: terms for name, terms in self.settings.sections.items()}
        )
        self.kinds = {name: p.kind for name, p in config.publishers.items()}
        self.model = model if self.settings.model else None
        self.version = RULES_VERSION + (f"+{self.model.version}" if self.model else "")

    def signals(self, doc: Doc) -> Signals:
        fields = {"title": doc.title, "summary": doc.summary, "text": doc.text[:TEXT_LIMIT]}
        hits = self.index.match(fields)
        topic_hits = [h for h in hits if h.group in self.topic_names]
        exclude_hits = [h for h in hits if h.group == EXCLUDE]
        section_hits = [h for h in hits if h.group.startswith(SECTION_PREFIX)]
        evidence = _evidence(topic_hits) + sum(h.weight for h in exclude_hits)
        dense = {
            "evidence": evidence,
            "exclude": sum(h.weight for h in exclude_hits),
            "summary": float(bool(doc.summary.strip())),
        }
        for hit in topic_hits:
            dense[f"topic:{hit.group}"] = dense.get(f"topic:{hit.group}", 0.0) + hit.weight
        for hit in section_hits:
            key = "sec:" + hit.group.removeprefix(SECTION_PREFIX)
            dense[key] = dense.get(key, 0.0) + hit.weight
        dense["topics"] = float(sum(k.startswith("topic:") for k in dense))
        return Signals(topic_hits, exclude_hits, section_hits, evidence, dense)

    def classify(self, doc: Doc) -> Classification:
        signals = self.signals(doc)
        kind = self.kinds.get(doc.publisher, "")
        fallback = KIND_SECTIONS.get(kind, "research")
        why = _explain(signals)
        section, section_why = _section(signals.section_hits, doc.section_hint, fallback)
        score = _squash(signals.evidence)
        if self.model is not None:
            features = Counter(model_features(doc.title, doc.summary, kind))  # counted once
            assessed = self.model.assess(features, signals.dense, kind)
            score, towards, against = assessed.relevance, assessed.towards, assessed.against
            probabilities = _with_prior(assessed.sections, doc.section_hint)
            section = max(probabilities, key=lambda s: probabilities[s])
            why.append(
                f"model: relevance {score:.2f}; for: {', '.join(towards) or '-'}; "
                f"against: {', '.join(against) or '-'}"
            )
            rules_part = section_why[0].split(": ", 1)[1]
            section_why = [
                f"section {section}: model {probabilities[section]:.2f}; rules: {rules_part}"
            ]
        score = round(score, 4)
        return Classification(
            relevant=score >= self.settings.threshold,
            score=score,
            topics=_topics(signals.topic_hits),
            section=section,
            why=tuple(why + section_why),
            version=self.version,
        )


def _with_prior(probabilities: dict[str, float], hint: str | None) -> dict[str, float]:
    """A source's section hint (a funding-opportunities feed) as a prior on the model's
    probabilities: the training items carry no hints, so the model cannot learn it."""
    if hint not in probabilities:
        return probabilities
    boosted = {s: p * (HINT_ODDS if s == hint else 1.0) for s, p in probabilities.items()}
    total = sum(boosted.values())
    return {s: p / total for s, p in boosted.items()}


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
    """Evidence → score in (0, 1), for rules without the model: 0.5 at an evidence of 2.25, so
    that thresholds from 0.3 to 0.5 fall between the usual sums of term weights (a threshold
    must not flip at a round evidence such as 2.0, one weight-2 title term)."""
    return 1.0 / (1.0 + math.exp(-1.2 * (evidence - 2.25)))


def _topics(hits: list[Hit]) -> tuple[str, ...]:
    totals: dict[str, float] = defaultdict(float)
    for hit in hits:
        totals[hit.group] += hit.weight
    ranked = sorted((t for t in totals if totals[t] >= TOPIC_MIN), key=lambda t: (-totals[t], t))
    if not ranked:
        return ()
    floor = TOPIC_SHARE * totals[ranked[0]]
    return tuple(t for t in ranked[:MAX_TOPICS] if totals[t] >= floor)


def _explain(signals: Signals) -> list[str]:
    why = [f"{h.group}: {h.term!r} in {h.field} {h.weight:+.1f}" for h in signals.topic_hits]
    why += [f"exclude: {h.term!r} in {h.field} {h.weight:+.1f}" for h in signals.exclude_hits]
    why.append(f"rule evidence {signals.evidence:+.1f}")
    return why
