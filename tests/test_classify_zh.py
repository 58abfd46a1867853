"""Chinese items: the shipped labeled Chinese set is well-formed, Chinese terms match as
configured, Chinese text gives the model useful features, and typical Chinese items classify
right (rules alone, and with the shipped model)."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from monitor.classify import Classifier, Doc
from monitor.classify.dataset import SHIPPED, load_examples
from monitor.classify.features import analyze
from monitor.classify.model import PACKAGED, Model
from monitor.config import SECTIONS, load_config
from tests.conftest import ROOT

CONFIG = load_config(ROOT / "sources.yaml")
LABELED_ZH = ROOT / "monitor" / "data" / "labeled_zh.jsonl"
ROWS = [json.loads(line) for line in LABELED_ZH.read_text(encoding="utf-8").splitlines()]
CJK = re.compile(r"[\u3400-\u9fff]")


# -- the labeled Chinese set ------------------------------------------------------------------


def test_labeled_zh_is_well_formed() -> None:
    assert len(ROWS) >= 150
    fields = {"id", "publisher", "date", "title", "summary", "url", "label", "section", "topics"}
    for row in ROWS:
        assert fields <= row.keys(), row
        assert row["provenance"].strip(), row["id"]
        assert row["label"] in (1, 0, "b"), row["id"]
        assert CJK.search(row["title"]), row["id"]
        assert row["url"].startswith(("http://", "https://")), row["id"]
        date.fromisoformat(row["date"])
        if row["label"] == 0:
            assert row["section"] is None and row["topics"] == [], row["id"]
        else:
            assert row["section"] in SECTIONS, row["id"]
            assert row["topics"] and set(row["topics"]) <= set(CONFIG.topics), row["id"]
    assert len({r["id"] for r in ROWS}) == len(ROWS)
    assert len({r["url"] for r in ROWS}) == len(ROWS)
    assert len(load_examples(LABELED_ZH)) == len(ROWS)  # the project's own loader reads it


def test_labeled_zh_is_a_realistic_mix() -> None:
    labels = Counter(str(r["label"]) for r in ROWS)
    assert labels["1"] >= 60 and labels["0"] >= 60 and labels["b"] >= 10
    sections = Counter(r["section"] for r in ROWS if r["label"] == 1)
    assert all(sections[s] >= 5 for s in SECTIONS), sections
    publishers = Counter(r["publisher"] for r in ROWS)
    assert len(publishers) >= 10
    assert max(publishers.values()) < len(ROWS) / 2  # no single outlet dominates


def test_shipped_training_set_includes_the_chinese_set() -> None:
    """So that a fresh installation classifies Chinese sources well; figures for the Chinese
    set are cross-validated (docs/classification.md), never measured on the shipped model."""
    shipped = {e.url for e in load_examples(SHIPPED, "shipped")}
    assert {r["url"] for r in ROWS} <= shipped


# -- terms and features -----------------------------------------------------------------------


def _groups(classifier: Classifier, title: str) -> set[str]:
    return {h.group for h in classifier.index.match({"title": title})}


@pytest.fixture(scope="module")
def rules() -> Classifier:
    return Classifier(CONFIG)  # rules alone: deterministic, independent of the shipped model


@pytest.mark.parametrize(
    ("title", "group"),
    [
        ("2022年一季度镍钴锂行业运行情况", "critical-minerals"),
        ("积体电路与積體電路产业", "semiconductors"),
        ("鋰電池與儲能產業", "batteries"),
        ("高端钢材实现自主量产", "steel-metals"),
        ("首批次新材料保险补偿", "advanced-manufacturing"),
        ("石化化工行业经济运行情况", "chemicals-polymers"),
    ],
)
def test_chinese_topic_terms_match_as_text(rules: Classifier, title: str, group: str) -> None:
    assert group in _groups(rules, title)


def test_namibia_is_not_nano(rules: Classifier) -> None:
    """纳米比亚 (Namibia) contains 纳米 (nano): the exclusion cancels it."""
    signals = rules.signals(Doc(title="习近平会见纳米比亚总统"))
    assert signals.evidence <= 0
    assert not rules.classify(Doc(title="习近平会见纳米比亚总统")).relevant


def test_chinese_text_gives_character_features() -> None:
    features = analyze("我国稀土永磁材料产量增长")
    assert {"稀土", "永磁", "材料", "产量"} <= set(features)  # character bigrams
    assert {"稀", "土"} <= set(features)  # and characters
    mixed = analyze("5G+工业互联网 and AI chips")
    assert {"工业", "互联", "5g", "ai", "chips", "ai chips"} <= set(mixed)
    assert not any(" " in f and CJK.search(f) for f in mixed)  # no word pairs across scripts


def test_english_features_are_unchanged() -> None:
    assert analyze("The new advanced-manufacturing hub opens") == [
        "advancedmanufacturing",
        "hub",
        "opens",
        "advancedmanufacturing hub",
        "hub opens",
    ]


# -- Chinese items that must classify right ---------------------------------------------------

CASES = [
    # (title, summary, relevant, section or None)
    ("工信部等六部门印发《原材料工业数字化转型实施方案》", "", True, "strategy"),
    ("国务院常务会议审议通过《稀土管理条例（草案）》", "", True, "strategy"),
    ("2024年上半年全国锂离子电池行业运行情况", "", True, "industry"),
    ("某新材料公司年产5万吨碳纤维项目投产", "", True, "industry"),
    ("科研团队研制出新型钙钛矿太阳能电池 光电转换效率创世界纪录", "", True, "research"),
    ("关于组织开展首批次新材料保险补偿资金申请工作的通知", "", True, "funding"),
    ("山西一煤矿发生瓦斯爆炸事故 已致多人遇难", "", False, None),
    ("博物馆青铜器展览开幕", "", False, None),
    ("习近平同纳米比亚总统会谈", "", False, None),
    ("全国夏粮收购进度过半", "", False, None),
]


@pytest.fixture(scope="module")
def shipped() -> Classifier:
    return Classifier(CONFIG, Model.load(PACKAGED))


@pytest.mark.parametrize("case", CASES, ids=[c[0][:20] for c in CASES])
def test_chinese_cases_with_the_shipped_model(
    shipped: Classifier, case: tuple[str, str, bool, str | None]
) -> None:
    title, summary, relevant, section = case
    decision = shipped.classify(Doc(title=title, summary=summary, publisher="miit"))
    assert decision.relevant is relevant, decision.why
    if section:
        assert decision.section == section, decision.why


@pytest.mark.parametrize("case", CASES, ids=[c[0][:20] for c in CASES])
def test_chinese_cases_with_rules_alone(
    rules: Classifier, case: tuple[str, str, bool, str | None]
) -> None:
    title, summary, relevant, _ = case
    assert rules.classify(Doc(title=title, summary=summary)).relevant is relevant


def test_labeled_zh_paths_are_package_data() -> None:
    assert Path(LABELED_ZH).parent == Path(SHIPPED).parent
