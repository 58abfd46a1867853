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
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress, repeat
from operator import itemgetter, mul, truediv
from pathlib import Path
from typing import Any

from monitor.classify.features import analyze

FORMAT = 3
_ZEROS = repeat(0.0)  # the default of each ``dict.get`` in a ``map``
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
        terms, values = list(tfidf), list(tfidf.values())
        if len(self.sparse) == 1:
            columns = [list(map(self.sparse[0].get, terms, _ZEROS))]
        else:  # each term's weights for all classes at once, then class by class
            rows = list(map(self.rows.get, terms, repeat(self._zero_row)))
            columns = [list(map(itemgetter(i), rows)) for i in range(len(self.sparse))]
        out = []
        for index, column in enumerate(columns):
            # each term's weight times its value, summed left to right: the additions of a
            # loop over the terms, in C
            z = self.intercept[index] + sum(map(mul, column, values))
            if dense:
                dense_weights = self.dense[index]
                for name, value in dense.items():
                    z += dense_weights.get(name, 0.0) * value
            out.append(z)
        return out

    @cached_property
    def rows(self) -> dict[str, tuple[float, ...]]:
        """term → its weight in each class (0 where a class does not weigh it)."""
        terms = dict.fromkeys(t for weights in self.sparse for t in weights)
        return {t: tuple(weights.get(t, 0.0) for weights in self.sparse) for t in terms}

    @cached_property
    def _zero_row(self) -> tuple[float, ...]:
        return (0.0,) * len(self.sparse)

    def contributions(
        self, index: int, tfidf: dict[str, float], dense: dict[str, float]
    ) -> list[tuple[str, float]]:
        parts = [(t, self.sparse[index].get(t, 0.0) * v) for t, v in tfidf.items()]
        parts += [(n, self.dense[index].get(n, 0.0) * v) for n, v in dense.items()]
        return [p for p in parts if p[1]]


@dataclass(frozen=True)
class Assessment:
    """What the model says of one item."""

    relevance: float
    towards: list[str]  # the words that pushed most for relevance
    against: list[str]
    sections: dict[str, float]  # section → probability


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

    def vectorize(self, features: Iterable[str] | Mapping[str, int]) -> dict[str, float]:
        """The relevance head's input: tf-idf over the vocabulary of all training items."""
        return tfidf(features, self.idf)

    def relevance_probability(self, tfidf: dict[str, float], dense: dict[str, float]) -> float:
        (z,) = self.relevance.logits(tfidf, self._scaled(dense))
        return _sigmoid(z)

    def section_probabilities(
        self, features: Iterable[str] | Mapping[str, int], dense: dict[str, float], kind: str
    ) -> dict[str, float]:
        """Section probabilities from the item's features; the section text head has its own
        vocabulary and idf, fitted on the relevant items only (what sets sections apart is not
        what sets relevant items apart from the rest)."""
        vector = tfidf(features, self.section_idf)
        text = _softmax(self.section_text.classes, self.section_text.logits(vector, {}))
        return _softmax(
            self.section.classes, self.section.logits({}, section_inputs(text, dense, kind))
        )

    def assess(self, counts: Mapping[str, int], dense: dict[str, float], kind: str) -> Assessment:
        """``relevance_probability``, ``explain_relevance`` and ``section_probabilities`` at
        once, with the same operations in the same order (the same numbers), but one lookup
        per feature instead of four (``_table``), and each step a pass in C. This is what
        classifying spends its time on; the methods above are the reference."""
        found = list(map(self._table.get, counts))  # None: a feature no head knows
        present = list(compress(counts, found))
        records = list(filter(None, found))
        frequencies = list(compress(counts.values(), found))
        tf = list(map(_sublinear(frequencies).__getitem__, frequencies))
        # relevance: tf-idf over its vocabulary, each word's contribution, the logit
        idf = list(map(itemgetter(0), records))  # 0.0: not in this vocabulary
        terms = list(compress(present, idf))
        values = _unit(list(map(mul, compress(tf, idf), filter(None, idf))))
        parts = list(map(mul, compress(map(itemgetter(1), records), idf), values))
        z = self.relevance.intercept[0] + sum(parts)
        dense_weights = self.relevance.dense[0]
        for name, value in self._scaled(dense).items():
            z += dense_weights.get(name, 0.0) * value
        towards, against = _extremes(terms, parts, 3)
        # sections: the text head over its own vocabulary, then the stacked head
        section_idf = list(map(itemgetter(2), records))
        section_values = _unit(list(map(mul, compress(tf, section_idf), filter(None, section_idf))))
        rows = list(compress(map(itemgetter(3), records), section_idf))
        logits = [
            self.section_text.intercept[i] + sum(map(mul, map(itemgetter(i), rows), section_values))
            for i in range(len(self.section_text.classes))
        ]
        text = _softmax(self.section_text.classes, logits)
        sections = _softmax(
            self.section.classes, self.section.logits({}, section_inputs(text, dense, kind))
        )
        return Assessment(_sigmoid(z), towards, against, sections)

    @cached_property
    def _table(self) -> dict[str, tuple[float, float, float, tuple[float, ...]]]:
        """feature → (its idf for relevance, its relevance weight, its idf for sections, its
        weight in each section class); 0.0 where a vocabulary or head lacks it."""
        relevance, rows = self.relevance.sparse[0], self.section_text.rows
        zero = (0.0,) * len(self.section_text.classes)
        return {
            t: (
                self.idf.get(t, 0.0),
                relevance.get(t, 0.0),
                self.section_idf.get(t, 0.0),
                rows.get(t, zero),
            )
            for t in dict.fromkeys([*self.idf, *self.section_idf])
        }

    def explain_relevance(
        self, tfidf: dict[str, float], dense: dict[str, float], count: int = 3
    ) -> tuple[list[str], list[str]]:
        """The words that pushed most for and against relevance (the rule signals are explained
        by the rules themselves)."""
        parts = self.relevance.contributions(0, tfidf, {})
        return _extremes([t for t, _ in parts], [v for _, v in parts], count)

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


def tfidf(features: Iterable[str] | Mapping[str, int], idf: dict[str, float]) -> dict[str, float]:
    """Sublinear tf-idf, L2-normalised, as scikit-learn's TfidfVectorizer computes it;
    ``features`` may come counted already (``Counter``: each feature once, in the order
    first seen). Every step is one pass in C (``filter``, ``map``, ``sum``): the same
    operations in the same order as a loop over the features, a few times faster."""
    counts = features if isinstance(features, Mapping) else Counter(features)
    known = list(map(idf.get, counts))  # None where not in the vocabulary; idf values are >= 1
    terms = list(compress(counts, known))
    if not terms:
        return {}
    frequencies = list(compress(counts.values(), known))
    sublinear = _sublinear(frequencies)
    values = list(map(mul, map(sublinear.__getitem__, frequencies), filter(None, known)))
    norm = math.sqrt(sum(map(mul, values, values)))
    return dict(zip(terms, map(truediv, values, repeat(norm)), strict=True)) if norm else {}


_SUBLINEAR = [0.0] + [1.0 + math.log(c) for c in range(1, 128)]


def _sublinear(frequencies: list[int]) -> list[float]:
    """A table of ``1 + log(count)`` long enough for ``frequencies`` (the shared one unless a
    feature occurs 128 times or more: then a longer copy, never a change to the shared one,
    which threads read at once)."""
    top = max(frequencies, default=0)
    if top < len(_SUBLINEAR):
        return _SUBLINEAR
    return _SUBLINEAR + [1.0 + math.log(c) for c in range(len(_SUBLINEAR), top + 1)]


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


def _extremes(terms: list[str], parts: list[float], count: int) -> tuple[list[str], list[str]]:
    """The ``count`` words (not the publisher's kind) that weigh most for, and most against."""
    order = sorted(range(len(parts)), key=parts.__getitem__)  # stable: ties as given
    words = [i for i in order if terms[i][:2] != "__"]
    against = [_name(terms[i]) for i in words[:count] if parts[i] < 0]
    towards = [_name(terms[i]) for i in reversed(words[-count:]) if parts[i] > 0]
    return towards, against


def _unit(values: list[float]) -> list[float]:
    """``values`` over their L2 norm (as ``tfidf`` divides them)."""
    norm = math.sqrt(sum(map(mul, values, values)))
    return list(map(truediv, values, repeat(norm))) if norm else []


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
