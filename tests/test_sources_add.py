"""`monitor sources add / try URL / list`: feed discovery, listing selectors, the publisher from
the glossary, and the block added to sources.yaml as text (comments kept, checked, put back on
error). Pages in tests/data/discover/ reproduce the formats of real sites."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pytest_httpserver import HTTPServer

from monitor.cli import cli
from monitor.config import Config, load_config, validate_config
from monitor.errors import ConfigError
from monitor.sources import discover
from monitor.sources.discover import (
    Addition,
    add_to_text,
    append_to_file,
    feed_candidates,
    looks_like_feed,
    match_publisher,
    propose_selectors,
    read_page,
    slug,
    source_id_for,
)
from monitor.sources.html import KIND as HTML
from monitor.sources.html import HtmlSource
from monitor.yamlload import Located
from tests.conftest import ROOT, base_config, data, source, write_config

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
RSS = "application/rss+xml; charset=UTF-8"
HTML_TYPE = "text/html; charset=utf-8"
REAL_HOSTS = (b"https://www.ukri.org", b"https://www.darpa.mil")


# -- helpers --------------------------------------------------------------------------------------


def page(site: HTTPServer, path: str, fixture: str, content_type: str = HTML_TYPE) -> str:
    """Serve a fixture with the real site's host replaced by the local one; return its URL."""
    body = data(fixture)
    for host in REAL_HOSTS:
        body = body.replace(host, site.url_for("").rstrip("/").encode())
    site.expect_request(path).respond_with_data(body, content_type=content_type)
    return site.url_for(path)


def not_found(site: HTTPServer) -> None:
    site.no_handler_status_code = 404  # guessed feed paths that do not exist


def config_file(tmp_path: Path, *sources: dict[str, Any], comment: str = "") -> Path:
    path = write_config(tmp_path / "sources.yaml", base_config(sources=list(sources)))
    if comment:
        path.write_text(comment + path.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def invoke(tmp_path: Path, config: Path, *args: str) -> Result:
    env = {
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
        "MONITOR_ALLOW_PRIVATE_HOSTS": "1",
        "MONITOR_CONFIG": str(config),
        "MONITOR_LOG_LEVEL": "WARNING",
    }
    return CliRunner().invoke(cli, list(args), env=env)


def soup_of(name: str) -> Any:
    return read_page(data(name), None)


def extract(content: bytes, url: str, selectors: dict[str, Any]) -> list[tuple[str, Any, str]]:
    spec = {"id": "t", "name": "t", "kind": "html", "url": url, "publisher": "nsf"}
    source = HtmlSource.model_validate(spec | {"selectors": selectors})
    items = HTML.parse(content, url, None, source).items
    return [(i.url, i.published, i.title) for i in items]


# -- feed candidates ------------------------------------------------------------------------------


def test_the_feeds_a_wordpress_page_names_come_first_comment_feeds_left_out() -> None:
    info, _ = soup_of("discover/wordpress_news.html")
    named, guessed = feed_candidates(info.html, "https://www.ukri.org/news/")
    assert [c.url for c in named] == [
        "https://www.ukri.org/feed/",
        "https://www.ukri.org/news/feed/",
    ]
    assert not any("comments" in c.url for c in named + guessed)
    assert guessed[0].url == "https://www.ukri.org/?feed=rss2" and guessed[0].how == "WordPress"
    assert len(guessed) <= discover.MAX_GUESSED


def test_a_drupal_page_without_feed_links_gets_drupals_feed_paths_first() -> None:
    info, _ = soup_of("discover/drupal_news.html")
    named, guessed = feed_candidates(info.html, "https://www.darpa.mil/news")
    assert named == []
    assert [(c.url, c.how) for c in guessed[:2]] == [
        ("https://www.darpa.mil/rss.xml", "Drupal"),
        ("https://www.darpa.mil/node/feed", "Drupal"),
    ]
    assert "https://www.darpa.mil/feed" in [c.url for c in guessed]


def test_looks_like_feed_by_type_or_by_its_first_element() -> None:
    assert looks_like_feed(data("ukri_wordpress_feed.xml"), "text/html")
    assert looks_like_feed(b"<feed xmlns='http://www.w3.org/2005/Atom'/>", "")
    assert looks_like_feed(b"", "application/atom+xml; charset=utf-8")
    assert not looks_like_feed(data("discover/wordpress_news.html"), "text/html")
    assert not looks_like_feed(b'<?xml version="1.0"?><html/>', "application/xhtml+xml")


# -- listing selectors ----------------------------------------------------------------------------

# The selectors maintainers wrote by hand for these pages (sources.yaml), to compare with.
HAND_WRITTEN = {
    "ornl_listing.html": (
        "https://www.ornl.gov/all-news",
        {
            "item": "div.view-rows-main div.list-item-wrapper",
            "title": "div.list-item-title h2 a",
            "date": "div.list-item-date",
            "date_attr": "datetime",
        },
    ),
    "whitehouse_listing.html": (
        "https://www.whitehouse.gov/news/",
        {
            "item": "ul.wp-block-post-template > li.wp-block-post",
            "title": "h2.wp-block-post-title a",
            "date": "div.wp-block-post-date time",
            "date_attr": "datetime",
        },
    ),
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_proposed_selectors_read_what_hand_written_ones_read(name: str) -> None:
    url, hand = HAND_WRITTEN[name]
    info, soup = soup_of(name)
    proposals = propose_selectors(soup, info.language or "en")
    assert proposals, name
    expected = extract(data(name), url, hand)
    assert len(expected) >= 4
    assert extract(data(name), url, proposals[0].model_dump(exclude_defaults=True)) == expected


def test_the_main_listing_wins_over_a_sidebar_and_volatile_classes_are_left_out() -> None:
    _, soup = soup_of("discover/listing_no_feed.html")
    best = propose_selectors(soup, "en")[0]
    assert best.item == "article.news-item"
    assert best.summary == "p.news-item__teaser"
    items = extract(
        data("discover/listing_no_feed.html"),
        "https://dept.example.org/news",
        {k: v for k, v in best.model_dump(exclude_defaults=True).items()},
    )
    assert len(items) == 5 and all(published is not None for _, published, _ in items)
    assert items[0][0] == "https://dept.example.org/news/2026/03/self-healing-ceramic-coatings"
    assert not any("/events/" in url for url, _, _ in items)


def test_a_gbk_listing_with_chinese_dates_is_read() -> None:
    info, soup = soup_of("discover/gbk_listing.html")
    assert info.language == "zh" and info.title.endswith("科学技术部")
    best = propose_selectors(soup, "zh")[0]
    items = extract(
        data("discover/gbk_listing.html"),
        "https://www.most.gov.cn/kjbgz/",
        {**best.model_dump(exclude_defaults=True)},
    )
    assert [p.date().isoformat() for _, p, _ in items] == [
        "2026-03-04",
        "2026-03-02",
        "2026-02-26",
        "2026-02-20",
    ]
    assert items[0][2] == "科技部召开新材料领域重点专项推进会"


def test_no_selectors_without_repeated_dated_blocks() -> None:
    _, soup = soup_of("discover/drupal_news.html")
    assert propose_selectors(soup, "en") == []
    _, soup = soup_of("discover/wordpress_news.html")  # two items only
    assert propose_selectors(soup, "en") == []


# -- publisher and id -----------------------------------------------------------------------------


def glossary_config() -> Config:
    publishers = {
        "nist": {"name": "National Institute of Standards and Technology", "abbr": "NIST"},
        "ec": {"name": "European Commission"},
        "jrc": {"name": "European Commission Joint Research Centre", "abbr": "JRC"},
        "fraunhofer": {"name": "Fraunhofer-Gesellschaft"},
        "ukri": {"name": "UK Research and Innovation", "abbr": "UKRI"},
        "mit": {"name": "Massachusetts Institute of Technology", "abbr": "MIT"},
    }
    sources = [
        source("nist-news", "rss", "https://www.nist.gov/news-events/news/rss.xml", "nist"),
        source("ec-press", "rss", "https://ec.europa.eu/commission/presscorner/api/rss", "ec"),
        source(
            "jrc-news", "rss", "https://joint-research-centre.ec.europa.eu/node/2/rss_en", "jrc"
        ),
        source("mit-news", "rss", "https://news.mit.edu/rss/research", "mit"),
    ]
    raw = base_config(publishers=publishers, sources=sources)
    return validate_config(Located("test", raw))


@pytest.mark.parametrize(
    ("url", "site_name", "expected"),
    [
        ("https://www.nist.gov/news-events/news", "", "nist"),  # a source on the same host
        ("https://digital-strategy.ec.europa.eu/en/news", "", "ec"),  # the parent host's source
        ("https://joint-research-centre.ec.europa.eu/jrc-news", "", "jrc"),
        ("https://dmse.mit.edu/news", "", "mit"),  # a sibling host of one site
        ("https://www.fraunhofer.de/en/press.html", "", "fraunhofer"),  # key is a host label
        ("https://www.ukri.org/news/", "", "ukri"),  # no source there, the key is a label
        ("https://blog.example.org/", "UKRI", "ukri"),  # the site calls itself by the abbreviation
        ("https://www.purdue.edu/newsroom/", "Purdue University", None),
        ("https://www.cam.ac.uk/news", "University of Cambridge", None),  # ac.uk is no match
    ],
)
def test_the_publisher_comes_from_the_glossary_when_the_host_is_known(
    url: str, site_name: str, expected: str | None
) -> None:
    assert match_publisher(url, glossary_config(), site_name) == expected


def test_ids_and_new_publisher_keys() -> None:
    config = glossary_config()
    assert source_id_for("purdue", "https://www.purdue.edu/newsroom/", set()) == "purdue-newsroom"
    assert source_id_for("nist", "https://www.nist.gov/news-events/news", {"nist-news"}) == (
        "nist-news-2"
    )
    assert source_id_for("most", "https://www.most.gov.cn/kjbgz/index.html", set()) == "most-kjbgz"
    assert discover.new_publisher_key("https://news.purdue.edu/x", config) == "purdue"
    assert discover.new_publisher_key("https://www.nist.gov/x", config) == "nist-2"  # taken
    assert slug("Materials Science — News!") == "materials-science-news"
    assert slug("科技日报") == ""


# -- sources.yaml as text -------------------------------------------------------------------------

NEW = {"id": "example-newsroom", "name": "Example — News", "publisher": "example", "kind": "rss"}
NEW = NEW | {"url": "https://news.example-institute.org/rss/feed.xml"}


def test_a_block_added_to_the_shipped_file_changes_no_line_of_it() -> None:
    text = (ROOT / "sources.yaml").read_text(encoding="utf-8")
    addition = Addition([NEW], {"example": {"name": "Example Institute"}}, "checked by a test")
    changed = add_to_text(text, addition)
    operations = difflib.SequenceMatcher(
        None, text.splitlines(), changed.splitlines(), autojunk=False
    ).get_opcodes()
    assert {op for op, *_ in operations} == {"equal", "insert"}  # only lines added
    inserted = [changed.splitlines()[j1:j2] for op, _, _, j1, j2 in operations if op == "insert"]
    assert len(inserted) == 2  # the glossary entry and the source block, nothing else
    config = discover.check_text(changed, "sources.yaml")
    assert config.sources[-1].id == "example-newsroom" and "example" in config.publishers
    assert "  # checked by a test\n  - id: example-newsroom\n" in changed


def test_a_flow_style_list_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="flow style"):
        add_to_text("version: 1\nsources: [{id: a}]\n", Addition([NEW]))


def test_an_empty_list_becomes_a_block_and_its_comment_stays() -> None:
    changed = add_to_text("version: 1\nsources: []  # none yet\ndigest: {}\n", Addition([NEW]))
    assert changed.startswith("version: 1\nsources: # none yet\n  - id: example-newsroom\n")
    assert changed.endswith(
        "    url: https://news.example-institute.org/rss/feed.xml\ndigest: {}\n"
    )


def test_the_file_is_left_as_it_was_when_the_result_does_not_validate(tmp_path: Path) -> None:
    path = config_file(tmp_path, source("nist-news", "rss", "https://a.example/f", "nsf"))
    before = path.read_bytes()
    duplicate = NEW | {"id": "nist-news", "publisher": "nsf"}
    with pytest.raises(ConfigError, match="duplicate source id 'nist-news'"):
        append_to_file(path, Addition([duplicate]))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sources.yaml"]  # no temporary left


# -- the commands ---------------------------------------------------------------------------------


def wordpress_site(site: HTTPServer) -> str:
    not_found(site)
    page(site, "/feed/", "discover/wordpress_site_feed.xml", RSS)
    page(site, "/news/feed/", "ukri_wordpress_feed.xml", RSS)
    return page(site, "/news/", "discover/wordpress_news.html")


def test_sources_add_tries_the_feeds_a_page_names_and_prints_a_checked_block(
    tmp_path: Path, site: HTTPServer
) -> None:
    url = wordpress_site(site)
    config = config_file(tmp_path)
    before = config.read_bytes()
    result = invoke(tmp_path, config, "sources", "add", url)
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"✓ {site.url_for('/feed/')} (rss, named by the page): 2 items" in out
    assert f"✓ {site.url_for('/news/feed/')} (rss, named by the page): 4 items" in out
    assert "← chosen" in out.split(site.url_for("/news/feed/"))[1].splitlines()[0]
    assert "metamaterials" in out and "relevant" in out and "why:" in out
    block = out.split("checked definition")[1]
    assert "  - id: ukri-news\n" in block and "    publisher: ukri\n" in block  # site name UKRI
    assert f"    url: {site.url_for('/news/feed/')}\n" in block and "kind: rss" in block
    assert config.read_bytes() == before  # printed, not written


def test_sources_add_write_appends_the_source_and_it_polls(
    tmp_path: Path, site: HTTPServer
) -> None:
    url = wordpress_site(site)
    config = config_file(tmp_path, comment="# our sources: keep this comment\n")
    result = invoke(tmp_path, config, "sources", "add", url, "--write", "--id", "ukri-all")
    assert result.exit_code == 0, result.output
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# our sources: keep this comment\n")
    assert "# checked against: the live feed by `monitor sources add`" in text
    added = load_config(config).source("ukri-all")
    assert added.url == site.url_for("/news/feed/") and added.publisher == "ukri"
    listed = invoke(tmp_path, config, "sources", "list")
    assert listed.exit_code == 0 and "ukri-all" in listed.output and "1 sources" in listed.output
    tried = invoke(tmp_path, config, "sources", "try", "ukri-all")
    assert tried.exit_code == 0 and "4 items" in tried.output


def test_sources_add_proposes_selectors_for_a_listing_without_a_feed(
    tmp_path: Path, site: HTTPServer
) -> None:
    not_found(site)
    url = page(site, "/news", "discover/listing_no_feed.html")
    config = config_file(tmp_path)
    result = invoke(tmp_path, config, "sources", "add", url, "--write")
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"✗ {site.url_for('/feed')} (rss, common path): HTTP 404" in out
    assert "(html, listing): 5 items, 5 dated" in out
    assert "Self-healing ceramic coatings survive" in out
    assert "new publisher 'localhost'" in out  # an unknown host: a new key to fill in
    written = load_config(config)
    added = written.sources[-1]
    assert added.kind == "html" and added.url == url
    assert added.model_dump()["selectors"]["item"] == "article.news-item"
    assert written.publishers["localhost"].name == "Department of Materials Science and Metallurgy"
    tried = invoke(tmp_path, config, "sources", "try", added.id)  # the written definition polls
    assert tried.exit_code == 0, tried.output
    assert "5 items" in tried.output and "2026-03-04 (listing)" in tried.output


def test_sources_add_finds_a_drupal_feed_by_convention(tmp_path: Path, site: HTTPServer) -> None:
    not_found(site)
    page(site, "/rss.xml", "darpa_drupal_rss.xml", RSS)
    url = page(site, "/news", "discover/drupal_news.html")
    config = config_file(tmp_path)
    result = invoke(tmp_path, config, "sources", "add", url, "--publisher", "darpa")
    assert result.exit_code == 0, result.output
    assert f"✓ {site.url_for('/rss.xml')} (rss, Drupal): 3 items" in result.output
    assert "    publisher: darpa\n" in result.output and "new publisher" not in result.output


def test_sources_try_url_adds_nothing_and_a_configured_url_is_that_source(
    tmp_path: Path, site: HTTPServer
) -> None:
    url = wordpress_site(site)
    feed = site.url_for("/news/feed/")
    config = config_file(tmp_path)
    before = config.read_bytes()
    tried = invoke(tmp_path, config, "sources", "try", url)
    assert tried.exit_code == 0, tried.output
    assert "← chosen" in tried.output and "checked definition" in tried.output
    assert config.read_bytes() == before
    config = config_file(tmp_path, source("ukri-news", "rss", feed, "ukri"))
    known = invoke(tmp_path, config, "sources", "try", feed)
    assert known.exit_code == 0, known.output
    assert "4 items" in known.output and "checked definition" not in known.output


def test_sources_add_explains_a_page_with_neither_feed_nor_listing(
    tmp_path: Path, site: HTTPServer
) -> None:
    not_found(site)
    url = page(site, "/about", "discover/drupal_news.html")
    site.expect_request("/rss.xml").respond_with_data(
        "<html>not a feed</html>", content_type="text/html"
    )
    result = invoke(tmp_path, config_file(tmp_path), "sources", "add", url)
    assert result.exit_code == 1
    assert "✗" in result.output and "not a feed" in result.output
    assert "no feed that works, and no listing" in result.output


def test_sources_add_refuses_bad_arguments(tmp_path: Path) -> None:
    config = config_file(tmp_path, source("nist-news", "rss", "https://a.example/f", "nsf"))
    not_url = invoke(tmp_path, config, "sources", "add", "ftp://example.org/feed")
    assert not_url.exit_code == 2 and "not an http(s) URL" in not_url.output
    taken = invoke(tmp_path, config, "sources", "add", "https://b.example/", "--id", "nist-news")
    assert taken.exit_code == 2 and "a source 'nist-news' exists" in taken.output
    bad_key = invoke(tmp_path, config, "sources", "add", "https://b.example/", "--publisher", "X Y")
    assert bad_key.exit_code == 2 and "--publisher" in bad_key.output


def test_sources_add_on_a_host_that_does_not_resolve_says_so(tmp_path: Path) -> None:
    result = invoke(tmp_path, config_file(tmp_path), "sources", "add", "https://news.invalid/")
    assert result.exit_code == 1
    assert "DNS: name does not resolve: news.invalid" in result.output
    assert "robots" not in result.output


def test_sources_add_with_the_address_of_a_feed_uses_it(tmp_path: Path, site: HTTPServer) -> None:
    feed = page(site, "/news/feed/", "ukri_wordpress_feed.xml", RSS)
    result = invoke(tmp_path, config_file(tmp_path), "sources", "add", feed)
    assert result.exit_code == 0, result.output
    assert f"✓ {feed} (rss, the address given): 4 items, 4 dated" in result.output
    assert "    name: News – UKRI\n" in result.output  # the feed's own title
    assert len(site.log) == 2  # robots.txt and the feed: nothing guessed
