from __future__ import annotations

import pytest
import yaml

from monitor.dedup import (
    canonical_url,
    clean_link,
    fingerprint,
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
