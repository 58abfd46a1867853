from __future__ import annotations

from datetime import date

import pytest
import yaml

from monitor.dedup import (
    StoryCandidate,
    canonical_url,
    clean_link,
    fingerprint,
    same_story,
    title_tokens,
)
from tests.conftest import DATA

CASES = yaml.safe_load((DATA / "canonical_urls.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("url", "expected"), CASES)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_clean_link_keeps_the_published_form_without_tracking() -> None:
    assert clean_link("http://www.nsf.gov/x/?WT.mc_id=1&id=3#top") == "http://www.nsf.gov/x/?id=3"
    assert clean_link("https://a.gov/x/") == "https://a.gov/x/"


def test_fingerprint_ignores_case_and_punctuation_but_not_words() -> None:
    assert fingerprint("NSF Awards $42M!", "") == fingerprint("nsf awards 42m", "")
    assert fingerprint("NSF awards $42M", "") != fingerprint("NSF awards $43M", "")


def candidate(item_id: int, title: str, source: str, day: date | None) -> StoryCandidate:
    return StoryCandidate(item_id, item_id, frozenset({source}), title, day)


def test_same_announcement_from_another_source_is_one_story() -> None:
    stored = [
        candidate(
            1,
            "DoD awards $30 million to Northeast Microelectronics Coalition hub",
            "war",
            date(2024, 9, 18),
        ),
        candidate(2, "Unrelated: Navy christens destroyer", "war", date(2024, 9, 18)),
    ]
    found = same_story(
        "Northeast Microelectronics Coalition hub receives $30 million DoD award",
        date(2024, 9, 19),
        "nordtech",
        stored,
    )
    assert found is not None and found.item_id == 1


def test_not_the_same_story() -> None:
    stored = [candidate(1, "NSF invests in semiconductor workforce", "nsf", date(2024, 9, 1))]
    # same source: never merged (a source does not duplicate itself under two URLs)
    assert (
        same_story("NSF invests in semiconductor workforce", date(2024, 9, 1), "nsf", stored)
        is None
    )
    # too far apart in time
    assert (
        same_story("NSF invests in semiconductor workforce", date(2024, 12, 1), "x", stored) is None
    )
    # different topic
    assert same_story("EU adopts critical raw materials act", date(2024, 9, 1), "x", stored) is None


def test_chinese_titles_use_character_bigrams() -> None:
    tokens = title_tokens("我国3D打印产业进入快速发展新阶段")
    assert "打印" in tokens and "产业" in tokens
