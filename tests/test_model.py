"""The learned layer: pure-Python scoring equals scikit-learn's; honest cross-validation."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest

from monitor.classify import Classifier, Doc
from monitor.classify.dataset import SHIPPED, Example, load_examples, merge_feedback
from monitor.classify.model import PACKAGED, Model, model_features
from monitor.classify.train import cross_validate, fit, folds_by
from monitor.config import load_config
from monitor.errors import ConfigError
from tests.conftest import ROOT

CONFIG = load_config(ROOT / "sources.yaml")
EXAMPLES = load_examples(SHIPPED, "shipped")


@pytest.fixture(scope="module")
def small_model() -> Model:
    return fit(EXAMPLES[::3], CONFIG)


def test_shipped_training_set_keeps_provenance() -> None:
    rows = [json.loads(line) for line in SHIPPED.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(EXAMPLES) >= 500
    assert all(r["provenance"] for r in rows)
    assert {str(r["label"]) for r in rows} == {"1", "0", "b"}


def test_pure_python_scores_equal_scikit_learn(small_model: Model) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    train = EXAMPLES[::3]
    rules = Classifier(
        CONFIG.model_copy(
            update={"classifier": CONFIG.classifier.model_copy(update={"model": False})}
        )
    )
    texts = [model_features(e.title, e.summary, rules.kinds.get(e.publisher, "")) for e in train]
    vectorizer = TfidfVectorizer(analyzer=lambda x: x, sublinear_tf=True, lowercase=False)
    vectorizer.fit(texts)
    doc = EXAMPLES[1]  # not in the training slice
    features = model_features(doc.title, doc.summary, "")
    expected = vectorizer.transform([features]).toarray()[0]
    ours = small_model.vectorize(features)
    names = vectorizer.get_feature_names_out()
    for j, value in enumerate(expected):
        assert ours.get(names[j], 0.0) == pytest.approx(value, abs=1e-9)
    assert sum(v * v for v in ours.values()) == pytest.approx(1.0)


def test_relevance_is_a_probability_and_explained(small_model: Model) -> None:
    classifier = Classifier(CONFIG, small_model)
    relevant = classifier.classify(Doc("Semiconductor fab investment for advanced packaging"))
    unrelated = classifier.classify(Doc("First Lady hosts Easter egg roll on the South Lawn"))
    assert 0 <= unrelated.score < CONFIG.classifier.threshold <= relevant.score <= 1
    assert any(w.startswith("model: relevance") for w in relevant.why)
    assert any(w.startswith("section ") and "model" in w for w in relevant.why)
    assert relevant.version.startswith("rules-1+lr-")


def test_dump_and_load_give_the_same_decisions(tmp_path: Path, small_model: Model) -> None:
    small_model.dump(tmp_path / "model.json")
    loaded = Model.load(tmp_path / "model.json")
    a, b = Classifier(CONFIG, small_model), Classifier(CONFIG, loaded)
    for e in EXAMPLES[1:40:3]:
        doc = Doc(e.title, e.summary, publisher=e.publisher)
        assert a.classify(doc).score == pytest.approx(b.classify(doc).score, abs=1e-5)
        assert a.classify(doc).section == b.classify(doc).section


def test_publisher_folds_keep_each_publisher_together() -> None:
    folds = folds_by(EXAMPLES, "publisher", 5)
    assert sorted(i for f in folds for i in f) == list(range(len(EXAMPLES)))
    where = {}
    for n, fold in enumerate(folds):
        for i in fold:
            assert where.setdefault(EXAMPLES[i].publisher, n) == n
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) < 0.25 * len(EXAMPLES)


def test_date_folds_are_consecutive_periods() -> None:
    folds = folds_by(EXAMPLES, "date", 5)
    ends = [(min(EXAMPLES[i].date for i in f), max(EXAMPLES[i].date for i in f)) for f in folds]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(ends))


def spy_on_fit(monkeypatch: pytest.MonkeyPatch) -> list[list[Example]]:
    """What each call of ``fit`` trained on, recorded as cross-validation calls it."""
    import monitor.classify.train as train

    seen: list[list[Example]] = []
    real_fit = train.fit

    def spy(examples: list[Example], config: object) -> Model:
        seen.append(list(examples))
        return real_fit(examples, config)  # type: ignore[arg-type]

    monkeypatch.setattr(train, "fit", spy)
    return seen


def test_cross_validation_never_scores_what_it_trained_on(monkeypatch: pytest.MonkeyPatch) -> None:
    trained = spy_on_fit(monkeypatch)
    subset = EXAMPLES[::4]
    predictions = cross_validate(subset, CONFIG, "publisher", k=3)
    assert len(predictions) == len(subset) and len(trained) == 3
    folds = folds_by(subset, "publisher", 3)
    for examples, fold in zip(trained, folds, strict=True):
        assert not {e.publisher for e in examples} & {subset[i].publisher for i in fold}


def test_cross_validation_trains_with_extra_items_but_never_the_scored_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trained = spy_on_fit(monkeypatch)
    scored, extra = EXAMPLES[1::8], EXAMPLES[::8]
    duplicate = scored[0]  # also in the extra set (as the shipped set holds the Chinese one)
    predictions = cross_validate(scored, CONFIG, "date", k=3, extra=[*extra, duplicate])
    assert len(predictions) == len(scored) and len(trained) == 3
    seen = [{e.title for e in examples} for examples in trained]
    for trained_on, fold in zip(seen, folds_by(scored, "date", 3), strict=True):
        assert {e.title for e in extra} <= trained_on
        assert not trained_on & {scored[i].title for i in fold}  # the duplicate too


def test_feedback_overrides_the_shipped_label() -> None:
    shipped = EXAMPLES[:3]
    correction = Example(
        shipped[0].title, "", shipped[0].publisher, "0", None, url=shipped[0].url, origin="feedback"
    )
    extra = Example(
        "New alloy plant", "", "nsf", "1", "industry", url="https://x.gov/a", origin="feedback"
    )
    merged = merge_feedback(shipped, [correction, extra])
    assert [e.label for e in merged] == ["0", shipped[1].label, shipped[2].label, "1"]
    assert merged[0].origin == "feedback" and merged[-1].title == "New alloy plant"


def test_labeled_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text(
        '{"title": "a", "label": 1, "section": "funding"}\n{"title": "b", "label": 7}\nnot json\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_examples(path)
    lines = [p.line for p in info.value.problems]
    assert lines == [2, 3]


def test_the_shipped_model_is_the_one_training_gives() -> None:
    shipped = Model.load(PACKAGED)
    assert shipped.meta["examples"] == len(EXAMPLES)
    assert shipped.version == fit(EXAMPLES, CONFIG).version  # rebuilt after rules changed
    assert not math.isnan(shipped.relevance.intercept[0])


def test_a_sources_section_hint_multiplies_the_odds_of_its_section() -> None:
    from monitor.classify import HINT_ODDS

    classifier = Classifier(CONFIG, Model.load(PACKAGED))
    assert classifier.model is not None
    doc = Doc("Chip plant to be built in Ohio", publisher="ukri")
    signals = classifier.signals(doc)
    features = model_features(doc.title, "", "agency")
    p = classifier.model.section_probabilities(features, signals.dense, "agency")["industry"]
    hinted = classifier.classify(Doc(doc.title, publisher="ukri", section_hint="industry"))
    assert hinted.section == "industry"
    shown = float(hinted.why[-1].split("model ")[1].split(";")[0])
    assert shown == pytest.approx(HINT_ODDS * p / (HINT_ODDS * p + 1 - p), abs=0.006)


def test_the_section_head_has_its_own_vocabulary_from_items_with_sections(
    small_model: Model,
) -> None:
    train = EXAMPLES[::3]
    kinds = Classifier(CONFIG).kinds
    words: dict[str, set[str]] = {"1": set(), "b": set(), "0": set()}
    for e in train:
        words[e.label].update(model_features(e.title, e.summary, kinds.get(e.publisher, "")))
    with_sections = words["1"] | words["b"]
    only_left_out = words["0"] - with_sections
    assert set(small_model.section_idf) == with_sections
    assert only_left_out and not only_left_out & set(small_model.section_idf)
    assert only_left_out <= set(small_model.idf)


def test_the_fast_path_gives_the_reference_numbers() -> None:
    """``Model.assess`` (what classifying runs) computes what the reference methods compute:
    the same relevance, reasons and section probabilities, to the last bit."""
    from collections import Counter

    model = Model.load(PACKAGED)
    classifier = Classifier(CONFIG, model)
    for example in EXAMPLES[::4]:
        doc = Doc(example.title, example.summary, publisher=example.publisher)
        kind = classifier.kinds.get(doc.publisher, "")
        dense = classifier.signals(doc).dense
        features = model_features(doc.title, doc.summary, kind)
        assessed = model.assess(Counter(features), dense, kind)
        vector = model.vectorize(features)
        assert assessed.relevance == model.relevance_probability(vector, dense)
        assert (assessed.towards, assessed.against) == model.explain_relevance(vector, dense)
        assert assessed.sections == model.section_probabilities(features, dense, kind)


def test_tfidf_of_a_word_repeated_beyond_the_table() -> None:
    from monitor.classify.model import tfidf

    vector = tfidf(["x"] * 200 + ["y"] * 3 + ["unknown"], {"x": 2.0, "y": 1.5})
    x, y = (1 + math.log(200)) * 2.0, (1 + math.log(3)) * 1.5
    norm = math.sqrt(x * x + y * y)
    assert vector == {"x": pytest.approx(x / norm), "y": pytest.approx(y / norm)}
    assert list(vector) == ["x", "y"]  # in the order first seen
    assert tfidf(["y"], {"y": 1.5}) == {"y": 1.0}  # the shared table unchanged after
