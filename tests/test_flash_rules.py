"""News alert rules: validated with the rest of sources.yaml (every error names its key and
line), and matched against new items (pure). The alert email escapes web text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.drafting.skeleton import ZhDraft
from monitor.errors import ConfigError
from monitor.flash.message import flash_html, flash_text, flash_view
from monitor.flash.rules import FlashMatcher, NewItem
from monitor.items import StoredItem
from tests.conftest import base_config, write_config

NOW = datetime(2026, 5, 6, 3, 0, tzinfo=UTC)


def with_alert(tmp_path: Path, alert: Any, profile: str = "cas") -> Path:
    cfg = base_config()
    cfg["digest"]["profiles"][profile]["alert"] = alert
    return write_config(tmp_path / "sources.yaml", cfg)


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


def test_a_valid_rule_loads(tmp_path: Path) -> None:
    rule = {
        "min_score": 0.8,
        "any_of": [
            {"sections": ["strategy"]},
            {"sections": ["funding"], "min_amount": {"USD": 5e7}},
        ],
        "recipients": ["desk@example.org"],
        "max_age": "2d",
    }
    config = load_config(with_alert(tmp_path, rule))
    alert = config.digest.profiles["cas"].alert
    assert alert is not None and alert.min_score == 0.8 and alert.max_age.days == 2
    assert alert.any_of[1].min_amount == {"USD": 50_000_000}
    assert config.digest.profiles["zj"].alert is None


@pytest.mark.parametrize(
    ("alert", "key", "message"),
    [
        ({"min_scor": 0.9}, "alert.min_scor", "unknown key (allowed: any_of, enabled, max_age"),
        ({"min_score": 1.5}, "alert.min_score", "less than or equal to 1"),
        ({"sections": ["gossip"]}, "alert.sections[0]", "'strategy', 'funding'"),
        ({"topics": ["semiconductor"]}, "alert.topics[0]", "did you mean 'semiconductors'?"),
        ({"min_amount": {"XYZ": 5}}, "alert.min_amount", "unknown currency XYZ (supported: USD"),
        ({"min_amount": {"USD": -1}}, "alert.min_amount", "greater than 0"),
        ({"recipients": ["desk@example.org"]}, "alert", "set at least one of min_score"),
        (
            {"min_score": 0.5, "recipients": ["desk", "a@b.org"]},
            "alert.recipients",
            "not an email address: 'desk'",
        ),
        ({"any_of": [{"recipients": []}]}, "alert.any_of[0].recipients", "unknown key"),
        ({"any_of": [{}]}, "alert.any_of[0]", "set at least one of"),
        ({"min_score": 0.5, "max_age": "soon"}, "alert.max_age", "not a duration"),
    ],
)
def test_an_invalid_rule_names_its_key_and_line(
    tmp_path: Path, alert: dict[str, Any], key: str, message: str
) -> None:
    path = with_alert(tmp_path, alert)
    (problem,) = problems(path)
    assert f": digest.profiles.cas.{key}: " in problem, problem
    assert message in problem, problem
    assert problem.startswith(f"{path}:"), problem
    assert int(problem.split(":")[1]) >= line_of(path, "alert:")


def test_a_section_the_profile_does_not_show_is_refused(tmp_path: Path) -> None:
    cfg = base_config()
    profile = cfg["digest"]["profiles"]["zj"]
    profile["sections"] = [s for s in profile["sections"] if s["key"] != "research"]
    profile["alert"] = {"sections": ["research"]}
    path = write_config(tmp_path / "sources.yaml", cfg)
    (problem,) = problems(path)
    assert "digest.profiles.zj.alert.sections[0]" in problem
    assert "'research' is not in this profile's sections" in problem


def item(**changes: Any) -> NewItem:
    values: dict[str, Any] = {
        "item_id": 7,
        "story_id": 5,
        "title": "NSF awards $42.4M to semiconductor research",
        "summary": "The National Science Foundation announced awards.",
        "text": "",
        "published_date": date(2026, 5, 5),
        "dated": True,
        "relevant": True,
        "score": 0.95,
        "section": "funding",
        "topics": ("semiconductors",),
    }
    return NewItem(**(values | changes))


def matcher(tmp_path: Path, alert: dict[str, Any]) -> FlashMatcher:
    found = FlashMatcher.of(load_config(with_alert(tmp_path, alert)), "example.org")
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("alert", "changes", "alerts"),
    [
        ({"min_score": 0.9}, {}, True),
        ({"min_score": 0.9}, {"score": 0.89}, False),
        ({"min_score": 0.1}, {"relevant": False}, False),  # only what the classifier keeps
        ({"sections": ["strategy"]}, {}, False),
        ({"sections": ["strategy", "funding"]}, {}, True),
        ({"topics": ["batteries", "semiconductors"]}, {}, True),
        ({"topics": ["batteries"]}, {}, False),
        ({"min_amount": {"USD": 40_000_000}}, {}, True),
        ({"min_amount": {"USD": 50_000_000}}, {}, False),
        ({"min_amount": {"EUR": 1}}, {}, False),  # a sum in dollars is not a sum in euros
        ({"min_amount": {"EUR": 1e9}}, {"title": "EU commits €3 billion to chips"}, True),
        ({"min_amount": {"USD": 1e6}}, {"title": "Award", "text": "It is worth $2 million."}, True),
        ({"min_score": 0.5, "enabled": False}, {}, False),
        ({"min_score": 0.5}, {"published_date": date(2026, 5, 2)}, False),  # older than 3 days
        ({"min_score": 0.5, "max_age": "7d"}, {"published_date": date(2026, 5, 2)}, True),
        ({"min_score": 0.5}, {"published_date": date(2020, 1, 1), "dated": False}, True),
        (
            {"min_score": 0.9, "any_of": [{"sections": ["strategy"]}, {"topics": ["batteries"]}]},
            {},
            False,
        ),
        (
            {"min_score": 0.9, "any_of": [{"sections": ["strategy"]}, {"sections": ["funding"]}]},
            {},
            True,
        ),
    ],
)
def test_rules_match_new_items(
    tmp_path: Path, alert: dict[str, Any], changes: dict[str, Any], alerts: bool
) -> None:
    queued = matcher(tmp_path, alert)([item(**changes)], NOW)
    assert bool(queued) is alerts
    if alerts:
        (flash,) = queued
        assert (flash.profile, flash.story_id, flash.item_id) == ("cas", 5, 7)
        assert flash.message_id.startswith("<flash.cas.5.") and flash.message_id.endswith(
            "@example.org>"
        )


def test_one_alert_per_profile_and_story(tmp_path: Path) -> None:
    cfg = base_config()
    for name in ("cas", "zj"):
        cfg["digest"]["profiles"][name]["alert"] = {"min_score": 0.5}
    found = FlashMatcher.of(load_config(write_config(tmp_path / "s.yaml", cfg)), "x.org")
    assert found is not None
    items = [item(item_id=7), item(item_id=8), item(item_id=9, story_id=9)]
    queued = found(items, NOW)
    assert sorted((q.profile, q.story_id, q.item_id) for q in queued) == [
        ("cas", 5, 7),
        ("cas", 9, 9),
        ("zj", 5, 7),
        ("zj", 9, 9),
    ]


def test_no_rule_no_matcher() -> None:
    from monitor.config import validate_config
    from monitor.yamlload import Located

    assert FlashMatcher.of(validate_config(Located("x", base_config())), "x.org") is None


def test_the_alert_email_escapes_web_text(tmp_path: Path) -> None:
    config = load_config(with_alert(tmp_path, {"min_score": 0.5}))
    stored = StoredItem(
        id=3,
        url="javascript:alert(1)",
        title="<script>x</script> Lab & Co",
        summary="",
        text=None,
        language="en",
        publisher="nsf",
        published_at=None,
        published_date=date(2026, 5, 5),
        date_source="feed",
        first_seen_at=NOW,
        story_id=3,
        relevant=True,
        score=0.9,
        section="research",
        topics=("semiconductors",),
        why=(),
    )
    zh = ZhDraft("美NSF：<b>x</b>", "5月5日，美国国家科学基金会（NSF）：<b>x</b>。")
    view = flash_view(stored, zh, config, "cas", date(2026, 5, 5), True)
    html = flash_html(view)
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>" not in html
    assert "javascript:" not in html  # only http(s) links
    text = flash_text(view)
    assert "栏目：研究进展" in text and "主题：半导体" in text
    assert "编译自[2026-05-05]\n<script>x</script> Lab & Co\n" in text


def test_the_documented_rule_is_valid() -> None:
    import re

    import yaml

    from monitor.config import validate_config
    from monitor.yamlload import Located
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```yaml\n(.*?)```", text, re.S)
    rule = yaml.safe_load(example)["digest"]["profiles"]["cas"]["alert"]
    cfg = base_config()
    cfg["digest"]["profiles"]["cas"]["alert"] = rule
    config = validate_config(Located("docs/alerts.md", cfg))
    alert = config.digest.profiles["cas"].alert
    assert alert is not None and len(alert.any_of) == 2 and alert.recipients


def test_the_commented_rule_in_sources_yaml_is_valid_once_uncommented(tmp_path: Path) -> None:
    from tests.conftest import ROOT

    lines = (ROOT / "sources.yaml").read_text(encoding="utf-8").splitlines()
    start = lines.index("      # alert:")
    block = []
    for line in lines[start:]:
        if not line.startswith("      #"):
            break
        block.append(line.replace("      # ", "      ", 1))
    uncommented = [*lines[:start], *block, *lines[start + len(block) :]]
    path = tmp_path / "sources.yaml"
    path.write_text("\n".join(uncommented) + "\n", encoding="utf-8")
    alert = load_config(path).digest.profiles["cas"].alert
    assert alert is not None and len(alert.any_of) == 2 and alert.recipients == []
