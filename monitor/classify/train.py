"""Train the learned layer (scikit-learn), and measure it by honest cross-validation.

Training fits two tf-idf vocabularies (all examples; those with a section) and the logistic
regressions of relevance and section, and exports them as a ``Model`` that scores in pure
Python. Cross-validation trains on some folds and scores the held-out fold through that same
pure-Python path, with folds grouped by publisher (no publisher's style leaks from training to
test) or by date (train and test are different periods).

    python -m monitor.classify.train --ship   # rebuild monitor/data/model.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.classify import Classifier, Doc
from monitor.classify.dataset import SHIPPED, Example, load_examples
from monitor.classify.model import (
    FEATURES,
    FORMAT,
    PACKAGED,
    Head,
    Model,
    model_features,
    section_inputs,
)
from monitor.config import Config, load_config

DENSE_SCALE = 0.3
RELEVANCE_C = 4.0
SECTION_C = 3.0
STACK_C = 0.3
INNER_FOLDS = 5


@dataclass(frozen=True)
class Prediction:
    example: Example
    relevant: bool
    score: float
    section: str
    topics: tuple[str, ...] = ()


def _inputs(
    examples: list[Example], rules: Classifier
) -> tuple[list[list[str]], list[dict[str, float]]]:
    texts, dense = [], []
    for e in examples:
        doc = Doc(
            title=e.title, summary=e.summary, publisher=e.publisher, section_hint=e.section_hint
        )
        kind = rules.kinds.get(e.publisher, "")
        texts.append(model_features(e.title, e.summary, kind))
        dense.append(rules.signals(doc).dense)
    return texts, dense


def fit(examples: list[Example], config: Config) -> Model:
    """Train both heads on ``examples``; borderline items teach sections, not relevance."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    rules = Classifier(
        config.model_copy(
            update={"classifier": config.classifier.model_copy(update={"model": False})}
        )
    )
    texts, dense = _inputs(examples, rules)
    vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, lowercase=False)
    dictionary = DictVectorizer()
    text_matrix = vectorizer.fit_transform(texts).tocsr()
    matrix = hstack([text_matrix, dictionary.fit_transform(dense) * DENSE_SCALE]).tocsr()
    terms = list(vectorizer.get_feature_names_out())
    names = list(dictionary.get_feature_names_out())
    rel = [i for i, e in enumerate(examples) if e.label in ("0", "1")]
    relevance = LogisticRegression(C=RELEVANCE_C, class_weight="balanced", max_iter=5000)
    relevance.fit(matrix[rel], [examples[i].label == "1" for i in rel])
    sec = [i for i, e in enumerate(examples) if e.label in ("1", "b") and e.section]
    section_vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, lowercase=False)
    section_matrix = section_vectorizer.fit_transform([texts[i] for i in sec]).tocsr()
    section_terms = list(section_vectorizer.get_feature_names_out())
    section_text, section, section_names = _fit_section(
        section_matrix,
        [str(examples[i].section) for i in sec],
        [dense[i] for i in sec],
        [rules.kinds.get(examples[i].publisher, "") for i in sec],
    )
    basis = f"{FORMAT} {FEATURES} {DENSE_SCALE} {RELEVANCE_C} {SECTION_C} {STACK_C} {INNER_FOLDS}"
    basis += "".join(sorted(e.url + e.label + str(e.section) for e in examples))
    basis += config.classifier.model_dump_json() + json.dumps(
        {k: v.model_dump() for k, v in config.topics.items()}, sort_keys=True
    )
    digest = hashlib.sha1(basis.encode()).hexdigest()[:8]
    return Model(
        idf={t: float(v) for t, v in zip(terms, vectorizer.idf_, strict=True)},
        section_idf={
            t: float(v) for t, v in zip(section_terms, section_vectorizer.idf_, strict=True)
        },
        relevance=_head(["relevant"], relevance.coef_, relevance.intercept_, terms, names),
        section_text=_head(
            list(section_text.classes_),
            section_text.coef_,
            section_text.intercept_,
            section_terms,
            [],
        ),
        section=_head(list(section.classes_), section.coef_, section.intercept_, [], section_names),
        dense_scale=DENSE_SCALE,
        meta={
            "version": f"lr-{digest}",
            "examples": len(examples),
            "feedback": sum(e.origin == "feedback" for e in examples),
            "vocabulary": len(terms),
            "seconds": round(time.perf_counter() - started, 2),
        },
    )


def _fit_section(
    text: Any, labels: list[str], dense: list[dict[str, float]], kinds: list[str]
) -> tuple[Any, Any, list[str]]:
    """The stacked section heads: a text model, and a model over its out-of-fold
    log-probabilities, the rules' section evidence and the publisher's kind."""
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    def text_model() -> Any:
        return LogisticRegression(C=SECTION_C, class_weight="balanced", max_iter=5000)

    order = np.random.RandomState(0).permutation(len(labels))
    out_of_fold: list[dict[str, float]] = [{} for _ in labels]
    y = np.array(labels)
    for fold in np.array_split(order, INNER_FOLDS):
        rest = np.setdiff1d(order, fold)
        if len(set(y[rest])) < 2:
            continue
        inner = text_model().fit(text[rest], y[rest])
        for i, row in zip(fold, inner.predict_proba(text[fold]), strict=True):
            out_of_fold[i] = dict(zip(inner.classes_, row, strict=True))
    final_text = text_model().fit(text, y)
    for i, probabilities in enumerate(out_of_fold):
        if not probabilities:  # a fold too small to train: use the final text model
            out_of_fold[i] = dict(
                zip(final_text.classes_, final_text.predict_proba(text[i])[0], strict=True)
            )
    rows = [section_inputs(p, d, k) for p, d, k in zip(out_of_fold, dense, kinds, strict=True)]
    dictionary = DictVectorizer()
    outer = LogisticRegression(C=STACK_C, class_weight="balanced", max_iter=5000)
    outer.fit(dictionary.fit_transform(rows), y)
    return final_text, outer, list(dictionary.get_feature_names_out())


def _identity(features: list[str]) -> list[str]:
    return features


def _head(
    classes: list[str], coef: Any, intercept: Any, terms: list[str], names: list[str]
) -> Head:
    n = len(terms)
    sparse, dense = [], []
    for row in coef:
        sparse.append({terms[j]: float(w) for j, w in enumerate(row[:n]) if abs(w) >= 1e-6})
        dense.append({names[j]: float(w) for j, w in enumerate(row[n:]) if abs(w) >= 1e-6})
    return Head(tuple(classes), tuple(sparse), tuple(dense), tuple(float(b) for b in intercept))


# -- cross-validation ---------------------------------------------------------------------------


def folds_by(examples: list[Example], scheme: str, k: int = 5) -> list[list[int]]:
    """Held-out index sets: ``publisher`` (each publisher in one fold, folds balanced by size)
    or ``date`` (contiguous periods, oldest to newest)."""
    if scheme == "publisher":
        groups: dict[str, list[int]] = {}
        for i, e in enumerate(examples):
            groups.setdefault(e.publisher or f"#{i}", []).append(i)
        folds: list[list[int]] = [[] for _ in range(k)]
        for members in sorted(groups.values(), key=len, reverse=True):
            min(folds, key=len).extend(members)
        return folds
    if scheme == "date":
        order = sorted(range(len(examples)), key=lambda i: (examples[i].date, i))
        size = -(-len(order) // k)
        return [order[i : i + size] for i in range(0, len(order), size)]
    raise ValueError(f"unknown cross-validation scheme {scheme!r} (publisher or date)")


def cross_validate(
    examples: list[Example],
    config: Config,
    scheme: str = "publisher",
    k: int = 5,
    progress: Callable[[int], None] | None = None,
    extra: Sequence[Example] = (),
) -> list[Prediction]:
    """Predictions for every example by a model that never saw it (nor, with ``publisher``,
    anything from its publisher). ``extra`` examples join every fold's training, minus any
    with the URL or title of an example scored (the service's model is trained on more than
    the file evaluated: the Chinese set is scored as the shipped model would see it)."""
    seen = {e.url for e in examples if e.url} | {e.title for e in examples}
    extra = [e for e in extra if e.url not in seen and e.title not in seen]
    predictions: dict[int, Prediction] = {}
    for number, held_out in enumerate(folds_by(examples, scheme, k)):
        held = set(held_out)
        model = fit([*extra, *(e for i, e in enumerate(examples) if i not in held)], config)
        classifier = Classifier(config, model)
        for i in held_out:
            e = examples[i]
            decision = classifier.classify(
                Doc(
                    title=e.title,
                    summary=e.summary,
                    publisher=e.publisher,
                    section_hint=e.section_hint,
                )
            )
            predictions[i] = Prediction(
                e, decision.relevant, decision.score, decision.section, decision.topics
            )
        if progress:
            progress(number)
    return [predictions[i] for i in range(len(examples))]


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ship", action="store_true", help=f"write {PACKAGED}")
    parser.add_argument("--config", type=Path, default=Path("sources.yaml"))
    args = parser.parse_args(list(argv) if argv is not None else None)
    model = fit(load_examples(SHIPPED, "shipped"), load_config(args.config))
    target = PACKAGED if args.ship else Path("model.json")
    model.dump(target)
    print(f"wrote {target}: {model.meta}")


if __name__ == "__main__":
    main()
