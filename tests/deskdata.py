"""A week of items for the review desk's tests: an App on a real database with five items of
2026-W18 (one with a hostile title, one just below the threshold), an article page to add by
URL, and helpers to sign in and read forms."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from monitor.dedup import canonical_url, clean_link
from monitor.items import Classification, Entry
from tests.conftest import Clock, base_config, make_app, smtp_settings

TOKEN = "desk-token-0123456789-abcdef"
NOW = datetime(2026, 5, 6, 3, 0, tzinfo=UTC)  # Wednesday of 2026-W19: the coming digest is W18
WEEK = "2026-W18"
EDITOR = "chief@example.org"
HOSTILE = "<script>alert('x')</script> Graphene <b>membranes</b> scale up"

ARTICLE = """<!doctype html><html lang="en"><head><title>Missed: DOE funds a
solid-state battery pilot line</title><meta property="og:site_name" content="Energy.gov">
<meta name="date" content="2026-04-30"></head><body><article>
<h1>Missed: DOE funds a solid-state battery pilot line</h1>
<p>April 30, 2026. The U.S. Department of Energy announced $75 million for a pilot
manufacturing line for solid-state batteries with new ceramic electrolyte materials.</p>
<p>The award supports advanced manufacturing of battery cells, materials processing and
scale-up of production at a national laboratory with industry partners.</p>
<p>Officials said the program would strengthen domestic supply chains for critical materials
used in energy storage and semiconductors.</p>
</article></body></html>"""


@dataclass(frozen=True)
class Seeded:
    funding: int
    research: int
    hostile: int
    industry: int
    candidate: int


def entry(slug: str, title: str, day: date, publisher: str = "nsf", **changes: Any) -> Entry:
    url = f"https://news.example.org/{slug}"
    base = Entry(
        source_id="desk-test",
        publisher=publisher,
        canonical_url=canonical_url(url),
        url=clean_link(url),
        guid=None,
        title=title,
        summary=f"{title}. A longer summary of the announcement for the digest's lead.",
        published_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
        published_date=day,
        date_source="feed",
        date_note=None,
        language="en",
    )
    return replace(base, **changes)


def decision(relevant: bool, score: float, section: str) -> Classification:
    why = (f"rule: {section} terms", "topic advanced-manufacturing: 'manufacturing'")
    return Classification(relevant, score, ("advanced-manufacturing",), section, why)


def seed(app: Any) -> Seeded:
    """Five items of 2026-W18, each its own story."""
    rows = [
        (
            entry("nsf-award", "NSF awards $30M for additive manufacturing", date(2026, 4, 28)),
            decision(True, 0.92, "funding"),
        ),
        (
            entry(
                "mit-alloy", "MIT team prints a crack-free titanium alloy", date(2026, 4, 29), "mit"
            ),
            decision(True, 0.81, "research"),
        ),
        (entry("graphene", HOSTILE, date(2026, 4, 29), "ukri"), decision(True, 0.71, "research")),
        (
            entry(
                "fab-opens",
                "Chipmaker opens a new wafer fab in Ohio",
                date(2026, 4, 30),
                "whitehouse",
            ),
            decision(True, 0.76, "industry"),
        ),
        (
            entry("workshop", "Workshop on coatings for turbine blades", date(2026, 5, 1)),
            decision(False, 0.41, "research"),
        ),
    ]
    ids = app.store.save_entries(rows, NOW).item_ids
    return Seeded(*ids)


def desk_app(tmp_path: Path, db_url: str, smtp_port: int | None = None, **settings: Any) -> Any:
    config = base_config()
    values: dict[str, Any] = {"review_token": TOKEN, "digest_to": (EDITOR,)}
    if smtp_port is not None:
        values["smtp"] = smtp_settings(smtp_port)
    return make_app(tmp_path, db_url, config, Clock(NOW), **(values | settings))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sections_of(text: str) -> dict[str, str]:
    """Section label → its text, from the plain-text email of the cas layout."""
    labels = ("专题", "战略规划", "项目资助", "行业观察", "研究进展")
    found: dict[str, str] = {}
    current = ""
    for line in text.splitlines():
        stripped = line.strip().strip("【】#=- ")
        if stripped in labels:
            current = stripped
        found[current] = found.get(current, "") + line + "\n"
    return found
