"""The shipped sources.yaml watches the publishers the editors cite.

`tests/data/coverage/cited_hosts.txt` lists the hosts the reference bulletins cite; a source
watches a host when its URL's host is that host, a subdomain or a parent of it (``www.`` ignored,
as `monitor learn` reports missed citations). docs/sources.md gives the count, the table and a
reason for every host no enabled source watches. Each source added for these publishers is
parsed here on a hand-made fixture in its real format (cases.yaml beside the fixtures).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import Config, SourceConfig, load_config
from monitor.learn.match import host_of, is_watched
from monitor.normalise import normalise
from monitor.sources import registry
from tests.conftest import ROOT

COVERAGE = Path(__file__).parent / "data" / "coverage"
REFERENCE = ROOT.parent / "shared" / "reference"
SECTION = "## Coverage of the cited publishers"
TARGET = 0.9
NOW = datetime(2026, 5, 20, tzinfo=UTC)
CASES: list[dict[str, Any]] = yaml.safe_load((COVERAGE / "cases.yaml").read_text(encoding="utf-8"))


@cache
def config() -> Config:
    return load_config(ROOT / "sources.yaml")


def cited_hosts() -> list[str]:
    lines = (COVERAGE / "cited_hosts.txt").read_text(encoding="utf-8").splitlines()
    return [host for line in lines if (host := line.split("#", 1)[0].strip())]


def watchers(host: str) -> list[str]:
    """The enabled sources that watch ``host``."""
    return [s.id for s in config().sources if s.enabled and is_watched(host, [host_of(s.url)])]


def coverage_section() -> str:
    text = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    assert SECTION in text, f"docs/sources.md has no section {SECTION!r}"
    return re.split(r"\n## ", text.split(SECTION, 1)[1], maxsplit=1)[0]


def documented_uncovered() -> dict[str, str]:
    """Host → reason, from the section's bullet list "- `host` (outlet): reason"."""
    found = re.findall(r"^- `([^`]+)`[^:\n]*:\s*(.+)$", coverage_section(), re.M)
    return dict(found)


def documented_table() -> dict[str, set[str]]:
    """Host → source ids, from the section's table rows "| `host` | `id`, `id` |"."""
    rows = re.findall(r"^\| `([^`]+)` \|([^|\n]*)\|", coverage_section(), re.M)
    return {host: set(re.findall(r"`([^`]+)`", ids)) for host, ids in rows}


def test_cited_hosts_are_distinct_and_bare() -> None:
    hosts = cited_hosts()
    assert len(hosts) == len(set(hosts)) >= 30
    for host in hosts:
        assert re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", host), host
        assert not host.startswith("www."), host


def test_most_cited_hosts_are_watched_by_an_enabled_source() -> None:
    hosts = cited_hosts()
    covered = [h for h in hosts if watchers(h)]
    uncovered = sorted(set(hosts) - set(covered))
    assert len(covered) / len(hosts) >= TARGET, f"{len(covered)}/{len(hosts)}; missing {uncovered}"


def test_every_uncovered_host_is_documented_with_a_reason() -> None:
    uncovered = {h for h in cited_hosts() if not watchers(h)}
    documented = documented_uncovered()
    assert set(documented) == uncovered
    for host, reason in documented.items():
        assert len(reason.split()) >= 4, host


def test_the_documented_count_and_table_match_the_config() -> None:
    hosts = cited_hosts()
    covered = [h for h in hosts if watchers(h)]
    assert f"{len(covered)} of {len(hosts)}" in coverage_section()
    table = documented_table()
    assert set(table) == set(covered)
    for host in covered:
        assert table[host] == set(watchers(host)), host


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared/reference is not beside the repository")
def test_every_url_the_reference_bulletins_cite_has_its_host_listed() -> None:
    hosts = set(cited_hosts())
    text = " ".join(p.read_text(encoding="utf-8") for p in REFERENCE.glob("*.txt"))
    cited = {host_of(url) for url in re.findall(r"https?://[^\s)）]+", text)}
    assert cited and cited <= hosts, sorted(cited - hosts)


def test_every_source_with_a_coverage_fixture_has_a_case() -> None:
    """A source whose comment names a fixture here is tested on that fixture."""
    pieces = (ROOT / "sources.yaml").read_text(encoding="utf-8").split("\n  - id: ")
    cases = {case["source"]: case["fixture"] for case in CASES}
    for before, block in pairwise(pieces):
        comment = before.split("\n\n")[-1]
        fixtures = [f.rstrip(".") for f in re.findall(r"tests/data/coverage/([\w.]+)", comment)]
        source_id = block.split("\n", 1)[0]
        if fixtures:
            assert cases.get(source_id) in fixtures, source_id
    for source_id, fixture in cases.items():
        assert (COVERAGE / fixture).is_file(), fixture
        config().source(source_id)  # KeyError: a case for a source that does not exist


def parse_case(case: dict[str, Any]) -> tuple[SourceConfig, Any]:
    source = config().source(case["source"])
    body = (COVERAGE / case["fixture"]).read_bytes()
    return source, registry.get(source.kind).parse(body, source.url, None, source)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["source"])
def test_source_definition_reads_its_fixture(case: dict[str, Any]) -> None:
    source, result = parse_case(case)
    assert result.warnings == []
    assert len(result.items) == case["items"]
    first = result.items[0]
    assert first.title == case["title"]
    assert first.url == case["url"]
    for item in result.items:
        assert item.title and "<" not in item.title and item.title == item.title.strip()
        assert item.url.startswith("https://") and host_of(item.url)
    entry = normalise(first, source, NOW)
    expected = case["date"]
    assert entry.published_date == (date.fromisoformat(str(expected)) if expected else None)
    if expected is None:  # the listing has no date: the article page must give it
        assert source.fetch_articles and entry.date_source == "first_seen"


@pytest.mark.parametrize("case", [c for c in CASES if "charset" in c], ids=lambda c: c["source"])
def test_chinese_pages_in_gbk_are_decoded_from_their_declaration(case: dict[str, Any]) -> None:
    body = (COVERAGE / case["fixture"]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert f"charset={case['charset']}".encode() in body
    source, result = parse_case(case)
    assert source.language == "zh" and source.timezone == "Asia/Shanghai"
    assert result.warnings == [] and result.items[0].title == case["title"]


def test_chinese_sources_read_chinese_dates_in_shanghai_time() -> None:
    chinese = [s for s in config().sources if s.language == "zh"]
    assert len(chinese) >= 15
    assert {s.timezone for s in chinese} <= {"Asia/Shanghai", "Asia/Singapore", "Asia/Tokyo"}
    publishers = {config().publishers[s.publisher].name_zh for s in chinese}
    ministries_and_media = {
        "工业和信息化部",
        "科学技术部",
        "国家发展和改革委员会",
        "科技日报",
        "新华网",
    }
    assert ministries_and_media <= publishers
