"""Layer 2 of the classifier: a learned linear model, scored in pure Python. Pure; no I/O but
``load``/``dump``.

Features are sublinear tf-idf over ``features.analyze`` of title and summary, plus a token for the
publisher's kind, plus dense features computed by the rule
layer (evidence per topic, exclusions, section evidence). Relevance is one binary logistic
regression over all of them; its probability is the item's score. Section is stacked: a
multinomial regression over the text (tf-idf with its own vocabulary, from the items that have a
section) gives section probabilities, and a second one combines
their logarithms with the rules' section evidence and the publisher's kind (stacking lets the
rules' evidence count for what it is worth, which one joint model over thousands of text
features does not learn from a few hundred examples). Training lives in
``monitor.classify.train`` (scikit-learn); scoring needs no third-party library, so the service
stays small.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from monitor.classify.features import analyze

FORMAT = 3
FEATURES = 4  # bump when model_features or features.analyze change
PACKAGED = Path(__file__).resolve().parent.parent / "data" / "model.json"


@dataclass(frozen=True)
class Head:
    """A linear layer: one weight vector per class (a single one for a binary head)."""

    classes: tuple[str, ...]
    sparse: tuple[dict[str, float], ...]
    dense: tuple[dict[str, float], ...]
    intercept: tuple[float, ...]

    def logits(self, tfidf: dict[str, float], dense: dict[str, float]) -> list[float]:
        # term by term, each class's weights at once: each class's sum takes the same terms
        # in the same order as a loop over the classes would
        out = list(self.intercept)
        table = self._by_term
        for term, value in tfidf.items():
            for index, w in table.get(term, ()):
                out[index] += w * value
        if dense:
            for index, dense_weights in enumerate(self.dense):
                z = out[index]
                for name, value in dense.items():
                    z += dense_weights.get(name, 0.0) * value
                out[index] = z
        return out

    @cached_property
    def _by_term(self) -> dict[str, list[tuple[int, float]]]:
        """term → (class, weight) of the classes that weigh it."""
        table: dict[str, list[tuple[int, float]]] = {}
        for index, weights in enumerate(self.sparse):
            for term, w in weights.items():
                table.setdefault(term, []).append((index, w))
        return table

    def contributions(
        self, index: int, tfidf: dict[str, float], dense: dict[str, float]
    ) -> list[tuple[str, float]]:
        parts = [(t, self.sparse[index].get(t, 0.0) * v) for t, v in tfidf.items()]
        parts += [(n, self.dense[index].get(n, 0.0) * v) for n, v in dense.items()]
        return [p for p in parts if p[1]]


@dataclass(frozen=True)
class Model:
    idf: dict[str, float]
    section_idf: dict[str, float]
    relevance: Head
    section_text: Head
    section: Head
    dense_scale: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "model"))

    def vectorize(self, features: Iterable[str]) -> dict[str, float]:
        """The relevance head's input: tf-idf over the vocabulary of all training items."""
        return tfidf(features, self.idf)

    def relevance_probability(self, tfidf: dict[str, float], dense: dict[str, float]) -> float:
        (z,) = self.relevance.logits(tfidf, self._scaled(dense))
        return _sigmoid(z)

    def section_probabilities(
        self, features: list[str], dense: dict[str, float], kind: str
    ) -> dict[str, float]:
        """Section probabilities from the item's features; the section text head has its own
        vocabulary and idf, fitted on the relevant items only (what sets sections apart is not
        what sets relevant items apart from the rest)."""
        vector = tfidf(features, self.section_idf)
        text = _softmax(self.section_text.classes, self.section_text.logits(vector, {}))
        return _softmax(
            self.section.classes, self.section.logits({}, section_inputs(text, dense, kind))
        )

    def explain_relevance(
        self, tfidf: dict[str, float], dense: dict[str, float], count: int = 3
    ) -> tuple[list[str], list[str]]:
        """The words that pushed most for and against relevance (the rule signals are explained
        by the rules themselves)."""
        words = {t: v for t, v in tfidf.items() if not t.startswith("__")}
        parts = self.relevance.contributions(0, words, {})
        ranked = sorted(parts, key=lambda p: p[1])
        against = [_name(t) for t, v in ranked[:count] if v < 0]
        towards = [_name(t) for t, v in reversed(ranked[-count:]) if v > 0]
        return towards, against

    def _scaled(self, dense: dict[str, float]) -> dict[str, float]:
        return {k: v * self.dense_scale for k, v in dense.items()}

    # -- files ----------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "meta": self.meta,
            "dense_scale": self.dense_scale,
            "idf": self.idf,
            "section_idf": self.section_idf,
            "relevance": _head_json(self.relevance),
            "section_text": _head_json(self.section_text),
            "section": _head_json(self.section),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        if data.get("format") != FORMAT:
            raise ValueError(f"unsupported model format {data.get('format')!r}")
        return cls(
            idf={k: float(v) for k, v in data["idf"].items()},
            section_idf={k: float(v) for k, v in data["section_idf"].items()},
            relevance=_head(data["relevance"]),
            section_text=_head(data["section_text"]),
            section=_head(data["section"]),
            dense_scale=float(data["dense_scale"]),
            meta=dict(data.get("meta", {})),
        )

    def dump(self, path: Path) -> None:
        from monitor.digest.render import write_atomic

        write_atomic(path, json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> Model:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def find_model(data_dir: Path) -> Path | None:
    """The model to use: a retrained one in the data directory, else the shipped one."""
    for path in (data_dir / "model.json", PACKAGED):
        if path.is_file():
            return path
    return None


def tfidf(features: Iterable[str], idf: dict[str, float]) -> dict[str, float]:
    """Sublinear tf-idf, L2-normalised, as scikit-learn's TfidfVectorizer computes it."""
    counts: dict[str, int] = {}
    get = counts.get
    for f in features:
        if f in idf:
            counts[f] = get(f, 0) + 1
    values = {t: (1.0 + math.log(c)) * idf[t] for t, c in counts.items()}
    total: float = 0  # (the additions of sum(), in a loop)
    for v in values.values():
        total += v * v
    norm = math.sqrt(total)
    return {t: v / norm for t, v in values.items()} if norm else {}


def model_features(title: str, summary: str, kind: str) -> list[str]:
    """Text features and the publisher's kind. The publisher's identity is left out on
    purpose (it measured no better, and content should decide: a UKRI item about a chip plant
    is industry); so is a source's section hint, which no training item carries (it is applied
    as a prior instead, see ``monitor.classify``)."""
    features = analyze(f"{title} . {summary}")
    features.append(f"__kind:{kind or '-'}")
    return features


def section_inputs(
    text_probabilities: dict[str, float], dense: dict[str, float], kind: str
) -> dict[str, float]:
    """What the stacked section head reads: the text head's log-probabilities, the rules'
    section evidence, and the publisher's kind."""
    inputs = {f"text:{c}": math.log(p + 1e-6) for c, p in text_probabilities.items()}
    inputs.update((k, v) for k, v in dense.items() if k.startswith("sec:"))
    inputs[f"kind:{kind or '-'}"] = 1.0
    return inputs


def _softmax(classes: tuple[str, ...], logits: list[float]) -> dict[str, float]:
    top = max(logits)
    exps = [math.exp(z - top) for z in logits]
    total = sum(exps)
    return {c: e / total for c, e in zip(classes, exps, strict=True)}


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def _name(feature: str) -> str:
    return feature.removeprefix("__")


def _round(weights: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 6) for k, v in weights.items() if abs(v) >= 1e-6}


def _head_json(head: Head) -> dict[str, Any]:
    return {
        "classes": list(head.classes),
        "sparse": [_round(w) for w in head.sparse],
        "dense": [_round(w) for w in head.dense],
        "intercept": [round(b, 6) for b in head.intercept],
    }


def _head(data: dict[str, Any]) -> Head:
    return Head(
        classes=tuple(data["classes"]),
        sparse=tuple({k: float(v) for k, v in w.items()} for w in data["sparse"]),
        dense=tuple({k: float(v) for k, v in w.items()} for w in data["dense"]),
        intercept=tuple(float(b) for b in data["intercept"]),
    )
