"""Source kinds on fixtures written in the real formats of the publishers (see tests/data)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.config import SourceConfig
from monitor.errors import ParseError
from monitor.items import ParseResult
from monitor.normalise import normalise
from monitor.sources import registry
from monitor.sources.html import HtmlSource
from monitor.sources.rss import RssSource
from tests.conftest import DATA, data

NOW = datetime(2026, 5, 20, tzinfo=UTC)


def rss(**extra: Any) -> SourceConfig:
    base = {"id": "s", "name": "S", "kind": "rss", "url": "https://x.gov/feed", "publisher": "p"}
    return RssSource.model_validate(base | extra)


def html(selectors: dict[str, str], **extra: Any) -> SourceConfig:
    base = {"id": "s", "name": "S", "kind": "html", "url": "https://x.gov/", "publisher": "p"}
    return HtmlSource.model_validate(base | extra | {"selectors": selectors})


def parse(name: str, source: SourceConfig, url: str = "https://x.gov/feed") -> ParseResult:
    return registry.get(source.kind).parse(data(name), url, None, source)


def test_dod_dnn_feed_with_newlines_in_titles() -> None:
    source = rss(timezone="America/New_York")
    result = parse("dod_dnn_releases.xml", source)
    assert len(result.items) == 5
    assert result.title == "News Releases - U.S. Dept. of War"
    first = result.items[0]
    assert first.title.startswith("Department of War Awards $48 Million")
    assert first.published == datetime(2026, 5, 13, 22, 5, 11, tzinfo=UTC)
    assert "\n" not in result.items[1].title  # the feed breaks this title over lines
    entry = normalise(result.items[4], source, NOW)
    assert entry.published_date == date(2026, 5, 8)  # 11:27 GMT is 07:27 in New York
    assert entry.date_source == "feed"
    assert entry.canonical_url.startswith("https://war.gov/News/Releases/Release/Article/4479905")


def test_wordpress_feed_entities_and_excerpt() -> None:
    result = parse("ukri_wordpress_feed.xml", rss())
    titles = [i.title for i in result.items]
    assert titles[0] == "£30 million to develop 3D nanoscale metamaterials for a sustainable future"
    assert result.items[0].guid == "https://www.ukri.org/?p=215874"
    assert result.items[0].url.startswith("https://www.ukri.org/news/30-million")
    assert "<" not in result.items[0].summary and result.items[0].summary
    assert "Research councils" in result.items[0].categories or result.items[0].categories


def test_drupal_feed_date_taken_from_url_when_configured() -> None:
    plain = rss(timezone="Europe/Brussels")
    with_url_date = rss(timezone="Europe/Brussels", date_in_url=r"-(\d{4}-\d{2}-\d{2})_en$")
    result = parse("jrc_drupal_rss.xml", plain)
    first = result.items[0]
    assert normalise(first, plain, NOW).published_date == date(2024, 9, 24)  # last change
    entry = normalise(first, with_url_date, NOW)
    assert entry.published_date == date(2024, 9, 23)  # the publication date in the URL
    assert entry.summary.startswith("A new JRC report maps")
    empty = [normalise(i, plain, NOW) for i in result.items if not i.summary]
    assert len(empty) == 1  # an empty description stays empty


def test_drupal_core_feed_guid_is_not_a_link() -> None:
    result = parse("darpa_drupal_rss.xml", rss())
    assert result.items
    for item in result.items:
        assert item.url.startswith("https://www.darpa.mil/")
        assert item.guid and " at https://www.darpa.mil" in item.guid


@pytest.mark.parametrize("name", ["govuk_atom.xml", "govuk_org_atom.xml"])
def test_govuk_atom_without_published_uses_updated(name: str) -> None:
    result = parse(name, rss(timezone="Europe/London"))
    assert len(result.items) >= 3
    for item in result.items:
        assert item.published is not None, item.title
        assert item.url.startswith("https://www.gov.uk/")


def test_govuk_atom_local_offset() -> None:
    result = parse("govuk_atom.xml", rss(timezone="Europe/London"))
    first = result.items[0]
    assert first.published == datetime(2024, 9, 26, 13, 30, 2, tzinfo=UTC)
    assert normalise(first, rss(timezone="Europe/London"), NOW).published_date == date(2024, 9, 26)


def test_nsf_tracking_parameters_and_missing_date() -> None:
    source = rss(timezone="America/New_York")
    entries = [normalise(i, source, NOW) for i in parse("nsf_news_rss.xml", source).items]
    first = entries[0]
    assert "WT." not in first.url and "WT." not in first.canonical_url
    assert first.canonical_url == (
        "https://nsf.gov/news/nsf-awards-42-4m-new-grants-support-future-semiconductors"
    )
    assert first.published_date == date(2024, 9, 16)
    undated = entries[-1]
    assert undated.published_date is None and undated.date_source == "first_seen"
    assert undated.canonical_url == "https://nsf.gov/news/news_summ.jsp?cntn_id=310455"
    assert "<" not in entries[1].summary  # escaped HTML descriptions become text


def test_ec_presscorner_single_line_feed() -> None:
    result = parse("ec_presscorner_rss.xml", rss())
    assert len(result.items) >= 3
    assert all(i.published for i in result.items)


WHITE_HOUSE = {
    "item": "ul.wp-block-post-template > li.wp-block-post",
    "title": "h2.wp-block-post-title a",
    "date": "div.wp-block-post-date time",
    "date_attr": "datetime",
}


def test_white_house_block_theme_listing() -> None:
    source = html(WHITE_HOUSE, timezone="America/New_York")
    result = parse("whitehouse_listing.html", source, "https://www.whitehouse.gov/news/")
    assert not result.warnings
    assert len(result.items) >= 4
    for item in result.items:
        assert item.url.startswith("https://www.whitehouse.gov/")
        assert item.published is not None and item.published.tzinfo is not None
        assert "<" not in item.title and item.title == item.title.strip()


ORNL = {
    "item": "div.view-rows-main div.list-item-wrapper",
    "title": "div.list-item-title h2 a",
    "date": "div.list-item-date",
    "summary": "div.list-item-desc p",
}


def test_listing_with_relative_links_and_textual_dates() -> None:
    source = html(ORNL | {"date_format": "%B %d, %Y"}, timezone="America/New_York")
    result = parse("ornl_listing.html", source, "https://www.ornl.gov/all-news")
    first = result.items[0]
    assert first.url == (
        "https://www.ornl.gov/news/"
        "researchers-build-ai-model-database-find-new-alloys-nuclear-fusion-facilities"
    )
    assert first.date_only and first.date_text == "September 16, 2024"
    assert normalise(first, source, NOW).published_date == date(2024, 9, 16)
    assert first.summary.startswith("A team at ORNL used machine learning")
    # Without a format the lenient parser reads the same textual dates.
    lenient = parse("ornl_listing.html", html(ORNL), "https://www.ornl.gov/all-news")
    assert [i.published.date() for i in lenient.items if i.published] == [
        i.published.date() for i in result.items if i.published
    ]


def test_textual_dates_in_other_languages() -> None:
    page = (
        "<html><body><ul>"
        "<li><a href='/a/1.html'>新材料中试平台建设</a><span>2024年9月16日</span></li>"
        "<li><a href='/a/2.html'>Zweite Meldung</a><span>16. September 2024</span></li>"
        "</ul></body></html>"
    ).encode()
    zh = html({"item": "li", "title": "a", "date": "span"}, language="zh")
    de = html({"item": "li", "title": "a", "date": "span"}, language="de")
    parsed_zh = registry.get("html").parse(page, "https://x.gov/list/", None, zh).items[0]
    parsed_de = registry.get("html").parse(page, "https://x.gov/list/", None, de).items[1]
    assert parsed_zh.url == "https://x.gov/a/1.html"
    assert parsed_zh.published and parsed_zh.published.date() == date(2024, 9, 16)
    assert parsed_de.published and parsed_de.published.date() == date(2024, 9, 16)


def test_links_as_items_with_scope() -> None:
    page = b"""<main><a href="/news/">All news</a>
        <a href="/news/new-alloy/">New alloy</a><a href="/news/graphene/">Graphene</a></main>"""
    source = html({"item": "main a[href*='/news/']:not([href$='/news/'])", "title": ":scope"})
    items = registry.get("html").parse(page, "https://r.ac.uk/news/", None, source).items
    assert [(i.title, i.url) for i in items] == [
        ("New alloy", "https://r.ac.uk/news/new-alloy/"),
        ("Graphene", "https://r.ac.uk/news/graphene/"),
    ]


def test_selectors_matching_nothing_give_a_warning() -> None:
    source = html({"item": "div.no-such-thing", "title": "a"})
    result = parse("whitehouse_listing.html", source, "https://www.whitehouse.gov/news/")
    assert result.items == []
    assert result.warnings == ["selector item='div.no-such-thing' matched nothing"]


def test_unsafe_links_are_dropped() -> None:
    page = b"<ul><li><a href='javascript:alert(1)'>Bad</a></li><li><a href='/ok'>Ok</a></li></ul>"
    result = registry.get("html").parse(
        page, "https://x.gov/", None, html({"item": "li", "title": "a"})
    )
    assert [i.title for i in result.items] == ["Ok"]
    assert result.warnings == ["1 of 2 items lacked a title or link"]


@pytest.mark.parametrize(
    "body", [b"", b"<html><body>Not a feed</body></html>", b"\x00\xff garbage"]
)
def test_garbage_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        registry.get("rss").parse(body, "https://x.gov/feed", None, rss())


def test_future_date_is_not_trusted() -> None:
    feed = b"""<rss version="2.0"><channel><title>t</title><item><title>Future</title>
        <link>https://x.gov/f</link><pubDate>Mon, 01 Jan 2035 00:00:00 GMT</pubDate></item>
        </channel></rss>"""
    item = registry.get("rss").parse(feed, "https://x.gov/feed", None, rss()).items[0]
    entry = normalise(item, rss(), NOW)
    assert entry.published_date is None and entry.date_source == "first_seen"
    assert entry.date_note and "future date" in entry.date_note


@pytest.mark.parametrize("path", sorted(DATA.glob("*.xml")), ids=lambda p: p.name)
def test_fixture_feeds_parse_without_warnings(path: Path) -> None:
    result = registry.get("rss").parse(path.read_bytes(), "https://x.gov/feed", None, rss())
    assert result.items and result.warnings == []
    for item in result.items:
        assert item.title and item.url.startswith("https://")
    undated = [i.title for i in result.items if i.published is None]
    assert undated == (
        ["Antarctic research vessel completes first science cruise"]
        if path.name == "nsf_news_rss.xml"
        else []
    )
