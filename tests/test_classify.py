from __future__ import annotations

import io
import json
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from monitor.classify import Classifier, Doc
from monitor.classify.batch import classify_lines
from monitor.classify.evaluate import report, score
from monitor.classify.rules import TermIndex, parse_term
from monitor.cli import cli
from monitor.config import load_config
from tests.conftest import DATA, ROOT

CONFIG = load_config(ROOT / "sources.yaml")
CASES = yaml.safe_load((DATA / "classify_cases.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(CONFIG)


@pytest.mark.parametrize("case", CASES, ids=[c["title"][:40] for c in CASES])
def test_cases(case: dict[str, Any], classifier: Classifier) -> None:
    from monitor.classify.batch import doc_from, source_hints

    decision = classifier.classify(doc_from(case, source_hints(CONFIG)))
    expect = case["expect"]
    assert decision.relevant is expect["relevant"], decision.why
    if "section" in expect:
        assert decision.section == expect["section"], decision.why
    for topic in expect.get("topics", []):
        assert topic in decision.topics, decision.why
    assert decision.why and 0 <= decision.score <= 1


@pytest.mark.parametrize(
    ("term", "text", "found"),
    [
        ("Act", "CHIPS Act passes", True),
        ("Act", "we act now", False),
        ("industrial AI", "Industrial AI rises", True),
        ("industrial AI", "industrial aid", False),
        ("manufactur*", "Manufacturing hub", True),
        ("3D print*", "3D-printed parts", True),
        ("3D print*", "3Dprinting", False),
        ("chips", "chipotle", False),
        ("rare earth*", "rare-earth magnets", True),
        ("稀土", "中国稀土出口", True),
        ("advanced material*", "the advanced-materials strategy", True),
        ("CHIPS", "potato chips", False),
    ],
)
def test_term_syntax(term: str, text: str, found: bool) -> None:
    index = TermIndex({"g": {term: 1.0}})
    assert bool(index.match({"title": text})) is found


def test_each_term_counts_once_in_its_best_field() -> None:
    index = TermIndex({"g": {"graphene": 3.0}})
    (hit,) = index.match({"title": "x", "summary": "graphene", "text": "graphene graphene"})
    assert hit.field == "summary" and hit.weight == pytest.approx(2.1)


def test_bad_terms() -> None:
    for bad in ("", "*", "  ", "--"):
        with pytest.raises(ValueError):
            parse_term(bad)


def test_why_names_the_terms_and_the_section_reason(classifier: Classifier) -> None:
    decision = classifier.classify(
        Doc("UKRI opens call for proposals on battery cathode materials", section_hint="funding")
    )
    assert decision.relevant and decision.section == "funding"
    assert any("batteries: 'batter*' in title" in w for w in decision.why)
    assert any(w.startswith("section funding:") and "source prior" in w for w in decision.why)


def test_batch_keeps_order_and_reports_bad_lines(classifier: Classifier) -> None:
    lines = [
        json.dumps({"title": "Graphene transistor breakthrough", "source": "mit", "id": 1}),
        "{not json",
        json.dumps({"summary": "no title", "id": 3}),
        "",
        json.dumps({"title": "Navy christens destroyer", "source": "war-releases", "id": 4}),
    ]
    out, err = io.StringIO(), io.StringIO()
    done, failed = classify_lines(lines, out, err, classifier, CONFIG)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert (done, failed) == (2, 2)
    assert [r.get("id") for r in rows] == [1, None, 3, 4]
    assert rows[0]["relevant"] is True and rows[0]["section"] == "research"
    assert set(rows[0]) >= {"relevant", "score", "topics", "section", "why"}
    assert rows[1] == {"error": rows[1]["error"], "line": 2} and "invalid JSON" in rows[1]["error"]
    assert rows[2]["error"] == "'title' must be a non-empty string" and rows[2]["line"] == 3
    assert rows[3]["relevant"] is False
    assert err.getvalue().splitlines()[0].startswith("line 2: invalid JSON")
    assert err.getvalue().splitlines()[1].startswith("line 3: ")


def test_cli_classify_reads_stdin() -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["--config", str(ROOT / "sources.yaml"), "classify", "-"],
        input=json.dumps(
            {"title": "新材料产业发展规划发布", "summary": "", "url": "", "source": ""}
        ),
    )
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout.splitlines()[0])
    assert row["relevant"] is True and row["section"] == "strategy"


def test_scores_leave_borderline_apart() -> None:
    rows = [
        {"label": 1, "section": "funding"},
        {"label": 1, "section": "research"},
        {"label": 0},
        {"label": "b", "section": "strategy"},
    ]
    preds = [
        {"relevant": True, "section": "funding"},
        {"relevant": False, "section": "industry"},
        {"relevant": True, "section": "research"},
        {"relevant": True, "section": "strategy"},
    ]
    result = score(rows, preds)
    assert (result.tp, result.fn, result.fp, result.tn) == (1, 1, 1, 0)
    assert result.precision == 0.5 and result.recall == 0.5
    assert result.section_accuracy == 0.5  # measured on every item labeled 1
    assert result.borderline == 1 and result.borderline_included == 1
    assert "precision 0.500" in report(result)


def test_rules_alone_keep_one_weight_two_title_term_above_the_threshold(
    classifier: Classifier,
) -> None:
    decision = classifier.classify(Doc("Shortage of chips eases"))
    assert classifier.signals(Doc("Shortage of chips eases")).evidence == 2.0
    assert decision.relevant and 0.4 < decision.score < 0.5
