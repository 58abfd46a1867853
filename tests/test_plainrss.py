"""The fast reader of plain RSS 2.0 (``monitor.sources.plainrss``) gives exactly what feedparser
gives: the same items, warnings and feed title from the rss kind, and the same values of every
entry key the kind reads, on every feed fixture, on generated feeds (Hypothesis: the elements
it reads and those it must refuse, in any order and number, with text full of entities,
markup, CDATA, comments, mojibake and odd dates) and on the fuzzer's damaged feeds.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

import feedparser
import pytest
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import resolve_relative_uris
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from monitor.config import SourceConfig
from monitor.encoding import decode_body, xml_charset
from monitor.errors import ParseError
from monitor.sources import plainrss
from monitor.sources.rss import RssSource, _parse, _xml_safe

DATA = Path(__file__).parent / "data"
FIXTURES = sorted(DATA.glob("*.xml")) + sorted((DATA / "faults").glob("*.xml"))
EXAMPLES = int(os.environ.get("PLAINRSS_EXAMPLES", "0"))
URL = "https://x.gov/feed/"
KEYS = ("title", "link", "id", "summary", "published", "published_parsed", "tags", "content")
# Fixtures in the subset the fast reader takes (the others hold elements it leaves to feedparser).
PLAIN = {
    "nsf_news_rss.xml",
    "darpa_drupal_rss.xml",
    "ec_presscorner_rss.xml",
    "agency_rss.xml",
    "gbk_declared_utf8.xml",
    "windows1252_feed.xml",
    "utf8_bom_feed.xml",
    "chinese_dates.xml",
    "links_feed.xml",
}


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=EXAMPLES or examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def source(**extra: Any) -> SourceConfig:
    base = {"id": "s", "name": "S", "kind": "rss", "url": "https://x.gov/feed", "publisher": "p"}
    return RssSource.model_validate(base | extra)


def prepared(body: bytes) -> bytes:
    """The document as the rss kind hands it to either reader."""
    document, _ = _xml_safe(decode_body(body, None, xml_charset(body)).text)
    return document.encode("utf-8")


def outcome(body: bytes, fast: bool, src: SourceConfig) -> object:
    try:
        return _parse(body, URL, None, src, fast=fast)
    except ParseError as e:
        return ("ParseError", str(e))


def same_entries(data: bytes) -> bool:
    """When the fast reader takes ``data``: its entries hold what feedparser's hold, key by key
    (None when it leaves the document to feedparser)."""
    plain = plainrss.read(data)
    if plain is None:
        return False
    headers = {"content-type": "application/xml; charset=utf-8"}
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=True)
    assert not parsed.get("bozo"), "the fast reader took a document feedparser finds malformed"
    assert plain.version == parsed.get("version")
    assert plain.title == parsed.feed.get("title")
    assert len(plain.entries) == len(parsed.entries)
    for mine, theirs in zip(plain.entries, parsed.entries, strict=True):
        for key in KEYS:
            assert dict.get(mine, key) == dict.get(theirs, key), (key, mine, dict(theirs))
    return True


def equivalent(body: bytes, src: SourceConfig | None = None) -> bool:
    """Both paths give the same result; returns whether the fast reader took the document."""
    src = src or source()
    assert outcome(body, True, src) == outcome(body, False, src)
    try:
        data = prepared(body)
    except Exception:
        return False
    return same_entries(data)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixtures_read_alike(path: Path) -> None:
    taken = equivalent(path.read_bytes())
    assert taken == (path.name in PLAIN)


def test_benchmark_feeds_are_read_fast() -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from feedserver import feed

    for n in range(3):
        assert equivalent(feed(n, 50))


# -- generated feeds ----------------------------------------------------------------------------

WORDS = ["Agency", "awards", "$29.9 million", "稀土", "café", "Ã©t", "naïve", "a", "x-y", "   "]
PIECES = [
    "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#233;", "&#xE9;", "&#x80;", "&#150;",
    "&#x85;", "&#13;", "&#10;", "&#9;", "&amp;nbsp;", "&amp;amp;", "&amp;bogus;", "&amp;#8220;",
    "&lt;b&gt;bold&lt;/b&gt;", "&lt;p&gt;para&lt;/p&gt;", "&lt;script&gt;x()&lt;/script&gt;",
    "&lt;a href=\"/rel\"&gt;link&lt;/a&gt;", "&lt;br/&gt;", "&lt;blink&gt;no&lt;/blink&gt;",
    "<![CDATA[<p>cdata &amp; <b>x</b></p>]]>", "<![CDATA[plain]]>", "<![CDATA[]]>",
    "<!-- note -->", "<?pi data?>", "\n", "\t", " ", "\u00a0", "\u2028", "\u0085", "Ã", "©",
    "http://", "https://x.gov/a?b=1&amp;c=2", "/rel/path", "javascript:alert(1)", "&amp;c;",
]  # fmt: skip
DATES = [
    "Wed, 04 Mar 2026 10:30:00 +0800", "Mon, 14 Sep 2026 18:32:21 GMT", "14 Sep 2026 18:32 EST",
    "2026-03-04T10:30:00Z", "2026年12月3日", "Thu, 31 Feb 2026 10:00:00 GMT", "", "2026-13-45",
    " Wed, 04 Mar 2026 10:30:00 +0000 ", "Wed, 04 Mar 26 10:30:00 +0000", "Sun, 1 Mar 2026",
]  # fmt: skip


def rarely(odds: int) -> st.SearchStrategy[bool]:
    """True about once in ``odds`` (not at a bound, which Hypothesis tries often)."""
    return st.integers(0, odds).map(lambda n: n == odds // 2)


@st.composite
def texts(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(WORDS + PIECES), max_size=5))
    if draw(st.booleans()):
        plain = st.characters(codec="utf-8", exclude_characters="<&")
        parts.append(draw(st.text(plain, max_size=8)))
    if draw(rarely(60)):
        parts.append("<b>markup</b>")  # an element inside: left to feedparser
    return "".join(parts)


@st.composite
def leaf(draw: st.DrawFn, tag: str, attributes: list[str] | None = None) -> str:
    attrs = ""
    for name, values in ATTRIBUTES.items():
        if name in (attributes or []) and draw(st.booleans()):
            attrs += f' {name}="{draw(st.sampled_from(values))}"'
    if draw(rarely(200)):
        attrs += ' type="text"'  # an attribute the fast reader refuses
    body = draw(st.sampled_from(DATES)) if tag == "pubDate" else draw(texts())
    return f"<{tag}{attrs}>{body}</{tag}>" if body or draw(st.booleans()) else f"<{tag}{attrs}/>"


ATTRIBUTES = {
    "isPermaLink": ["true", "false", "TRUE", "", " true"],
    "domain": ["", "https://x.gov/c", "tags"],
    "href": ["https://x.gov/", "/self"],
    "rel": ["self", "alternate"],
    "url": ["https://x.gov/a.mp3"],
}
ITEM_PARTS = [
    ("title", []), ("link", []), ("guid", ["isPermaLink"]), ("description", []), ("pubDate", []),
    ("category", ["domain"]), ("category", []), ("author", []), ("comments", []),
    ("enclosure", ["url"]), ("dc:creator", []),
]  # fmt: skip
ODD_ITEM_PARTS = [
    "dc:date", "atom:link", "content:encoded", "source", "title", "link", "guid", "image", "id",
]  # fmt: skip
CHANNEL_PARTS = [
    ("title", []), ("link", []), ("description", []), ("language", []), ("pubDate", []),
    ("lastBuildDate", []), ("category", ["domain"]), ("atom:link", ["href", "rel"]),
    ("generator", []), ("ttl", []), ("copyright", []),
]  # fmt: skip


@st.composite
def items(draw: st.DrawFn) -> str:
    chosen = [part for part in ITEM_PARTS if draw(st.booleans())]
    parts = [draw(leaf(tag, attrs)) for tag, attrs in chosen]
    if draw(rarely(6)):  # something the fast reader leaves to feedparser
        parts.append(draw(leaf(draw(st.sampled_from(ODD_ITEM_PARTS)))))
    parts = draw(st.permutations(parts))
    return "<item>" + "".join(parts) + "</item>"


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    chosen = draw(st.lists(st.sampled_from(CHANNEL_PARTS), max_size=6))
    parts = [draw(leaf(tag, attrs)) for tag, attrs in chosen]
    parts += draw(st.lists(items(), max_size=4))
    if draw(st.booleans()):
        title = draw(leaf("title")) if draw(st.booleans()) else ""
        parts.append(f"<image><url>https://x.gov/i.png</url>{title}<link>/</link></image>")
    parts = draw(st.permutations(parts))
    plain = ' xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/"'
    declarations = draw(
        st.sampled_from(
            [
                plain,
                plain,
                plain,
                ' xmlns:dc="http://purl.org/dc/elements/1.1/"',
                plain + ' xmlns:content="http://purl.org/rss/1.0/modules/content/"',
                ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://purl.org/rss/1.0/"',
            ]
        )
    )
    version = draw(st.sampled_from(["2.0", "0.91", "2.01", "", "1.0", None]))
    attrs = "" if version is None else f' version="{version}"'
    base = draw(st.sampled_from([None, "https://x.gov/news/", "", "/rel/", "javascript:x"]))
    attrs += "" if base is None else f' xml:base="{base}"'
    head = draw(st.sampled_from(['<?xml version="1.0" encoding="utf-8"?>\n', "", "\ufeff"]))
    body = f"{head}<rss{attrs}{declarations}><channel>{''.join(parts)}</channel></rss>"
    return body.encode("utf-8")


@fuzz(600)
@given(body=documents())
def test_generated_feeds_read_alike(body: bytes) -> None:
    event("fast reader" if equivalent(body) else "feedparser")


@fuzz(150)
@given(body=documents(), cut=st.integers(0, 4000), insert=st.sampled_from(["<", "&", "]]>", "<x>"]))
def test_damaged_generated_feeds_read_alike(body: bytes, cut: int, insert: str) -> None:
    cut = min(cut, len(body))
    equivalent(body[:cut] + insert.encode() + body[cut:])


def test_generated_feeds_mostly_take_the_fast_path() -> None:
    """The generator above is no vacuous test: most of what it makes is read fast."""
    taken = 0

    @fuzz(100)
    @given(body=documents())
    def count(body: bytes) -> None:
        nonlocal taken
        taken += equivalent(body)

    count()
    assert taken >= 30


@fuzz(300)
@given(text=st.text(st.characters(codec="utf-8", exclude_characters="<&")))
def test_markup_steps_leave_text_without_markup_alone(text: str) -> None:
    """What the fast reader assumes: on text with no ``<`` or ``&``, feedparser's relative-URI
    resolution and sanitiser only strip it and turn CR LF into LF."""
    output = text.strip()
    resolved = resolve_relative_uris(output, "https://x.gov/", "utf-8", "text/html")
    assert resolved == output
    assert _sanitize_html(resolved, "utf-8", "text/html") == output.strip().replace("\r\n", "\n")
