"""The offline Chinese skeleton: amounts in Chinese units, the act of a title, whole headlines and
leads of real items in each layout (cases in tests/data/drafting/skeleton_cases.yaml), and the
publishers glossary of sources.yaml that the skeleton names publishers from."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
import yaml

from monitor.config import Publisher
from monitor.drafting import ZhDraft, act_of, amounts_zh, skeleton, to_chinese
from monitor.drafting.acts import Act, counts_zh
from monitor.drafting.skeleton import compact_title, full_name, headline_actor, zh_date
from monitor.stories.facts import Amount, amounts
from tests.conftest import DATA, ROOT

TABLE = yaml.safe_load((DATA / "drafting" / "skeleton_cases.yaml").read_text(encoding="utf-8"))
PUBLISHERS = {key: Publisher(**value) for key, value in TABLE["publishers"].items()}
SKELETONS: list[dict[str, Any]] = TABLE["skeletons"]
CAS = [c for c in SKELETONS if c.get("layout", "cas") == "cas"]


def _id(case: dict[str, Any]) -> str:
    return f"{case.get('layout', 'cas')}:{case['title'][:40]}"


def draft(case: dict[str, Any]) -> ZhDraft:
    return skeleton(
        title=case["title"],
        summary=case.get("summary", ""),
        publisher=PUBLISHERS[case["publisher"]],
        day=date.fromisoformat(case["date"]),
        dated=case.get("dated", True),
        layout=case.get("layout", "cas"),
    )


# --------------------------------------------------------------------------------------- amounts
@pytest.mark.parametrize("case", TABLE["amounts"], ids=lambda c: c["text"][:40])
def test_amounts_zh(case: dict[str, Any]) -> None:
    assert amounts_zh(case["text"]) == case["zh"]


@pytest.mark.parametrize(("value", "currency", "zh"), TABLE["to_chinese"])
def test_to_chinese(value: float, currency: str, zh: str) -> None:
    assert to_chinese(Amount(float(value), currency)) == zh


@pytest.mark.parametrize("case", TABLE["amounts"], ids=lambda c: c["text"][:40])
def test_chinese_form_reads_back_as_the_same_sum(case: dict[str, Any]) -> None:
    """What the skeleton writes parses to exactly the sums of the source (the model guard and
    the story matcher read the Chinese form with the same parser)."""
    written = "，".join(case["zh"])
    assert sorted(amounts(written)) == sorted(amounts(case["text"]))


def test_unknown_currency_keeps_its_code() -> None:
    assert to_chinese(Amount(5e6, "INR")) == "500万INR"


# ------------------------------------------------------------------------------ acts and counts
@pytest.mark.parametrize("case", TABLE["acts"], ids=lambda c: c["title"][:40])
def test_act_of(case: dict[str, Any]) -> None:
    act = act_of(case["title"], case.get("summary", ""))
    assert (act.key, act.verb) == (case["key"], case["verb"])


@pytest.mark.parametrize("case", CAS, ids=_id)
def test_act_of_skeleton_titles(case: dict[str, Any]) -> None:
    assert act_of(case["title"], case.get("summary", "")).key == case["act"]


@pytest.mark.parametrize("case", TABLE["counts"], ids=lambda c: c["text"][:40])
def test_counts_zh(case: dict[str, Any]) -> None:
    assert counts_zh(case["text"]) == case["zh"]


@pytest.mark.parametrize(
    ("amount", "count", "phrase"),
    [
        ("30亿美元", "25个项目", "宣布资助30亿美元支持25个项目"),
        ("30亿美元", "", "宣布资助30亿美元"),
        ("", "25个项目", "宣布资助25个项目"),
        ("", "", "宣布资助"),
    ],
)
def test_phrase_drops_a_missing_part_with_its_connective(
    amount: str, count: str, phrase: str
) -> None:
    act = Act("funding", "宣布资助", "资助", "宣布资助{amount}支持{count}")
    assert act.phrase(amount, count) == phrase


def test_a_call_in_the_summary_outranks_generic_title_words() -> None:
    title = "UK-Canada sustainable critical minerals research partnerships"
    assert act_of(title).key == "partnership"
    assert act_of(title, "Apply for funding to collaborate with a Canadian team.").key == "call"


# ------------------------------------------------------------------------------------ skeletons
@pytest.mark.parametrize("case", SKELETONS, ids=_id)
def test_skeleton(case: dict[str, Any]) -> None:
    result = draft(case)
    assert (result.headline, result.lead) == (case["headline"], case["lead"])
    assert result.source == "skeleton"


@pytest.mark.parametrize("case", CAS, ids=_id)
def test_cas_headline_shape(case: dict[str, Any]) -> None:
    """Region and actor once (欧委会, never 欧欧委会), the Chinese part at most 30 characters,
    and any sum in it is a sum of the title."""
    headline = draft(case).headline
    chinese = headline.split("：", 1)[0]
    publisher = PUBLISHERS[case["publisher"]]
    if publisher.country_zh:
        assert not chinese.startswith(publisher.country_zh * 2)
    assert "欧欧" not in chinese and "美美" not in chinese and "英英" not in chinese
    assert len(chinese) <= 30
    source = amounts(case["title"])
    assert all(any(a.agrees(s) for s in source) for a in amounts(chinese))


@pytest.mark.parametrize("case", SKELETONS, ids=_id)
def test_lead_opens_with_date_and_full_name(case: dict[str, Any]) -> None:
    publisher = PUBLISHERS[case["publisher"]]
    day = date.fromisoformat(case["date"])
    lead = draft(case).lead
    assert lead.startswith(f"{day.month}月{day.day}日")
    assert ("发布日期不详" in lead) is (not case.get("dated", True))
    assert (publisher.name_zh or publisher.name).split("（")[0] in lead.split("：")[0]
    if publisher.abbr and publisher.kind != "media":
        assert f"{publisher.abbr}）" in lead.split("：")[0]
    assert lead.endswith(("。", "?", "？"))


def test_commission_selects_47_strategic_projects() -> None:
    """The case that motivated the skeleton: once 欧欧委会：<English title>."""
    result = skeleton(
        title="Commission selects 47 Strategic Projects to secure and diversify access to raw "
        "materials in the EU",
        summary="",
        publisher=PUBLISHERS["ec"],
        day=date(2025, 3, 3),
        dated=True,
        layout="cas",
    )
    assert result.headline.startswith("欧委会遴选47个战略项目：Commission selects 47")
    assert result.lead.startswith("3月3日，欧盟委员会遴选47个战略项目：Commission selects")


def test_undated_item_says_the_date_is_the_first_sighting() -> None:
    result = skeleton(
        title="NSF awards $42.4M in new grants to support the future of semiconductors",
        summary="",
        publisher=PUBLISHERS["nsf"],
        day=date(2024, 9, 16),
        dated=False,
        layout="cas",
    )
    assert result.lead.startswith(
        "9月16日（发布日期不详，此为首次发现日期），美国国家科学基金会（NSF）"
    )


def test_summary_amount_is_an_aside_not_the_act() -> None:
    """A sum only the summary states is shown, but not put in the headline or the verb."""
    case = next(c for c in CAS if c["title"].startswith("DOD Enters Agreement"))
    result = draft(case)
    assert "320万美元" not in result.headline
    assert "签署合作协议（涉及金额320万美元）：" in result.lead


def test_empty_title_gives_the_chinese_part_alone() -> None:
    result = skeleton(
        title="  ",
        summary="",
        publisher=PUBLISHERS["nsf"],
        day=date(2024, 9, 16),
        dated=True,
        layout="cas",
    )
    assert (result.headline, result.lead) == (
        "美NSF发布",
        "9月16日，美国国家科学基金会（NSF）发布。",
    )


def test_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown layout 'bulletin' \(supported: cas, zj, idei\)"):
        skeleton(
            title="t",
            summary="",
            publisher=PUBLISHERS["nsf"],
            day=date(2024, 9, 16),
            dated=True,
            layout="bulletin",
        )


# ---------------------------------------------------------------------------- names and titles
@pytest.mark.parametrize(
    ("key", "full_country", "actor"),
    [
        ("ec", False, "欧委会"),
        ("ec", True, "欧委会"),
        ("nsf", False, "美NSF"),
        ("nsf", True, "美国NSF"),
        ("govuk", False, "英政府"),
        ("govuk", True, "英国政府"),
        ("defense", False, "美国防部"),
        ("astar", False, "新加坡科技研究局"),
        ("jrc", False, "欧JRC"),
        ("jrc", True, "欧盟JRC"),
    ],
)
def test_headline_actor(key: str, full_country: bool, actor: str) -> None:
    assert headline_actor(PUBLISHERS[key], full_country=full_country) == actor


def test_headline_actor_does_not_double_a_region_the_name_starts_with() -> None:
    union = Publisher(name="EU", name_zh="欧盟理事会", country="EU", country_zh="欧盟")
    assert headline_actor(union) == "欧盟理事会"
    no_short = Publisher(name="Department of Energy", name_zh="美国能源部", country_zh="美")
    assert headline_actor(no_short) == "美国能源部"


@pytest.mark.parametrize(
    ("key", "introduce", "name"),
    [
        ("nsf", False, "美国国家科学基金会（NSF）"),
        ("nsf", True, "美国国家科学基金会（以下简称NSF）"),
        ("ec", False, "欧盟委员会"),
        ("war", False, "美国战争部（原国防部，DoW）"),
    ],
)
def test_full_name(key: str, introduce: bool, name: str) -> None:
    assert full_name(PUBLISHERS[key], introduce=introduce) == name


def test_full_name_without_chinese_name_uses_the_english_one() -> None:
    assert full_name(Publisher(name="Acme Labs", abbr="AL")) == "Acme Labs（AL）"


@pytest.mark.parametrize(
    ("title", "compact"),
    [
        (
            "FACT SHEET: CHIPS and Science Act Will Lower Costs",
            "CHIPS and Science Act Will Lower Costs",
        ),
        ("Advanced manufacturing plan (HTML version)", "Advanced manufacturing plan"),
        (
            "News Release: Scientists at NREL Report New Synapse-Like PhototransistorNews Release: "
            "Scientists at NREL Report New Synapse-Like Phototransistor",
            "Scientists at NREL Report New Synapse-Like Phototransistor",
        ),
        (
            "Biden-Harris Administration Awards $269M for Microelectronics Manufacturing and "
            "Workforce Development; Boosting U.S. Chip-Making Capabilities",
            "Biden-Harris Administration Awards $269M for Microelectronics Manufacturing and "
            "Workforce…",
        ),
        ("Tougher concrete, inspired by bone", "Tougher concrete, inspired by bone"),
    ],
)
def test_compact_title(title: str, compact: str) -> None:
    assert compact_title(title) == compact
    assert len(compact_title(title)) <= 91


@pytest.mark.parametrize(
    ("dated", "text"), [(True, "9月6日"), (False, "9月6日（发布日期不详，此为首次发现日期）")]
)
def test_zh_date(dated: bool, text: str) -> None:
    assert zh_date(date(2024, 9, 6), dated) == text


# ------------------------------------------------------------------------ the publishers glossary
def test_every_publisher_of_a_source_is_named_in_chinese() -> None:
    """The skeleton names a publisher from the glossary: each one a source uses has a Chinese
    name, a country and (but for Chinese publishers: no region prefix at home) its Chinese
    form, and a headline form that is Chinese or an acronym."""
    data = yaml.safe_load((ROOT / "sources.yaml").read_text(encoding="utf-8"))
    glossary = data["publishers"]
    used = {source["publisher"] for source in data["sources"]}
    missing = sorted(used - set(glossary))
    assert not missing
    for key in sorted(used):
        entry = glossary[key]
        domestic = entry.get("country") == "CN"
        for field in ("name_zh", "country") if domestic else ("name_zh", "country", "country_zh"):
            assert entry.get(field), f"{key}: no {field}"
        # a Chinese outlet is named as it names itself (cnBeta.COM), a foreign one in Chinese
        assert domestic or re.search(r"[\u4e00-\u9fff]", entry["name_zh"]), key
        short = entry.get("short_zh") or entry.get("abbr")
        assert short, f"{key}: neither short_zh nor abbr for headlines"
        prefix = entry.get("country_zh") or ""
        assert not prefix or not (entry.get("short_zh") or "").startswith(prefix * 2), key
