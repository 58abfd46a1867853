"""Property-based fuzzing of what sources send us (Hypothesis, derandomized for CI).

Valid RSS 2.0, Atom and RSS 1.0 (RDF) feeds and an HTML listing are mutated (bytes flipped, cut
anywhere, invalid UTF-8, NUL and control characters, wrong charset declarations, huge and empty
fields, nested CDATA, odd character references). The source kinds must return items with a title
and an http(s) link, or raise ``ParseError``; nothing else. ``parse_date``, ``canonical_url`` and
``clean_link`` must never raise on any text.

``FAULT_FUZZ_EXAMPLES=5000`` runs a deeper search locally (the default keeps the file near 20 s).
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import SourceConfig
from monitor.dates import local_date, parse_date
from monitor.dedup import canonical_url, clean_link
from monitor.errors import ParseError
from monitor.items import ParseResult
from monitor.sources.html import HtmlKind, HtmlSource
from monitor.sources.rss import RssKind, RssSource, _parse

EXAMPLES = int(os.environ.get("FAULT_FUZZ_EXAMPLES", "0"))


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=EXAMPLES or examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>工业和信息化部 &amp; Agency news</title><link>https://x.gov.cn/</link>
<description>News releases</description>
<item><title>工业和信息化部发布《新材料产业发展指南》</title>
<link>https://x.gov.cn/art/2026/1.html</link>
<description><![CDATA[<p>第一段 &nbsp; text <a href="/rel">link</a></p>]]></description>
<pubDate>2026年12月3日</pubDate><guid>https://x.gov.cn/art/2026/1.html</guid></item>
<item><title>Second &#8220;release&#8221; &lt;b&gt;bold&lt;/b&gt;</title>
<link>/art/2026/2.html?utm_source=rss&amp;id=2</link>
<description>The second release &#xE9;t&#233;.</description>
<pubDate>Wed, 04 Mar 2026 10:30:00 +0800</pubDate><category>Materials</category></item>
<item><title>Third</title><link>https://x.gov.cn/art/2026/3.html</link>
<dc:date>2026-03-04T10:30:00+08:00</dc:date></item>
</channel></rss>
"""
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ja">
<title>経済産業省 news</title><id>tag:x.go.jp,2026:feed</id><updated>2026-03-04T10:30:00Z</updated>
<link rel="self" href="https://x.go.jp/feed"/>
<entry><title type="html">新素材の&lt;em&gt;指針&lt;/em&gt;</title><id>tag:x.go.jp,2026:1</id>
<link href="https://x.go.jp/news/1"/><updated>2026-03-04T10:30:00+09:00</updated>
<published>2026年3月4日</published><summary>概要 summary</summary></entry>
<entry><title>Second</title><id>https://x.go.jp/news/2</id><updated>2026-03-05T00:00:00Z</updated>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Body</p></div></content></entry>
</feed>
"""
RDF = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://x.de/feed"><title>Ministerium</title><link>https://x.de/</link>
<description>Meldungen</description></channel>
<item rdf:about="https://x.de/a/1"><title>Größere Förderung für Werkstoffe</title>
<link>https://x.de/a/1</link><dc:date>2026-03-04</dc:date></item>
<item rdf:about="https://x.de/a/2"><title>Zweite Meldung</title><link>https://x.de/a/2</link>
<dc:date>16. September 2024</dc:date></item>
</rdf:RDF>
"""
LISTING = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>新闻 列表</title>
<base href="https://x.gov.cn/list/"></head><body><ul class="news">
<li><a href="/art/1.html">工业和信息化部发布新材料指南</a><span>2026年03月04日</span></li>
<li><a href="2.html?utm_source=x">第二条 &amp; more</a><span>2026-03-04</span></li>
<li><a href="javascript:void(0)">脚本</a><span>2026/3/4</span></li>
<li><a href="https://x.gov.cn/3"><em>Third</em></a><span>发布时间：2026-03-04 10:30</span></li>
</ul></body></html>
"""
DOCUMENTS = [RSS, ATOM, RDF]
CHARSETS = [None, "", "utf-8", "UTF8", "gbk", "gb2312", "big5", "shift_jis", "utf-16",
            "utf-32", "iso-8859-1", "windows-1252", "us-ascii", "utf-7", "unicode_escape",
            "base64", "bogus", "x-\x00", "utf-8\"; q=1"]  # fmt: skip
BODY_ENCODINGS = ["utf-8", "gb18030", "utf-16", "big5", "shift_jis", "latin-1", "utf-8-sig"]
INSERTS = [
    b"\xff", b"\xfe\xff", b"\xc3", b"\xe2\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00",
    b"\x01\x1b\x7f", b"\r\n", b"<![CDATA[", b"]]>", b"<![CDATA[<![CDATA[x]]>]]>", b"&#0;",
    b"&#xD800;", b"&#x110000;", b"&#99999999999;", b"&#65535;", b"&bogus;", b"&amp;", b"&",
    b"<", b">", b"\"", b"'", b"<item>", b"</item>", b"<entry>", b"<title>", b"</title>",
    b"<link>javascript:alert(1)</link>", b"<link>http://[::1</link>", b"<link>http://x:99999/</link>",
    b"<!DOCTYPE rss [<!ENTITY a \"&#xD800;\">]>", b"<?xml version='1.0' encoding='utf-16'?>",
    b"<title></title>", b"A" * 20_000, "標題".encode("gbk"), b"<pubDate>99999-1-1</pubDate>",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, documents: list[str]) -> bytes:
    """One of ``documents``, perhaps re-encoded or re-declared, then damaged a few times."""
    text = draw(st.sampled_from(documents))
    declared = draw(st.sampled_from(["utf-8", "gbk", "utf-16", "iso-8859-1", "bogus", "utf-8"]))
    text = text.replace('encoding="utf-8"', f'encoding="{declared}"', 1)
    text = text.replace('charset="utf-8"', f'charset="{declared}"', 1)
    body = bytearray(text.encode(draw(st.sampled_from(BODY_ENCODINGS)), "replace"))
    for _ in range(draw(st.integers(0, 6))):
        _mutate(draw, body)
    return bytes(body)


def _mutate(draw: st.DrawFn, body: bytearray) -> None:
    at = draw(st.integers(0, len(body)))
    operation = draw(st.sampled_from(["flip", "cut", "insert", "delete", "repeat", "random"]))
    if operation == "flip" and at < len(body):
        body[at] ^= 1 << draw(st.integers(0, 7))
    elif operation == "cut":
        del body[at:]
    elif operation == "insert":
        body[at:at] = draw(st.sampled_from(INSERTS))
    elif operation == "delete":
        del body[at : at + draw(st.integers(1, 64))]
    elif operation == "repeat":
        body[at:at] = body[at : at + draw(st.integers(1, 200))] * draw(st.integers(2, 5))
    else:
        body[at:at] = draw(st.binary(max_size=16))


def rss_source(**extra: Any) -> SourceConfig:
    base = {"id": "s", "name": "S", "kind": "rss", "url": "https://x.gov/feed", "publisher": "p"}
    return RssSource.model_validate(base | extra)


def html_source(**extra: Any) -> SourceConfig:
    base = {"id": "s", "name": "S", "kind": "html", "url": "https://x.gov/", "publisher": "p"}
    selectors = {"item": "ul.news > li", "title": "a", "date": "span"}
    return HtmlSource.model_validate(base | extra | {"selectors": selectors})


SOURCES = st.sampled_from(
    [{}, {"language": "zh", "timezone": "Asia/Shanghai"}, {"language": "zh-CN"}, {"language": "xx"}]
)


def check(result: ParseResult) -> None:
    """What every caller of a source kind relies on."""
    assert isinstance(result, ParseResult)
    for item in result.items:
        assert item.title.strip()
        parts = urlsplit(item.url)
        assert parts.scheme in ("http", "https") and parts.hostname, item.url
        assert item.published is None or item.published.utcoffset() is not None
    assert all(isinstance(warning, str) and warning for warning in result.warnings)


def parse_or_parse_error(kind: Any, body: bytes, charset: str | None, source: SourceConfig) -> None:
    try:
        result = kind.parse(body, "https://x.gov/feed/", charset, source)
    except ParseError as e:
        assert "parser failed on this input" not in str(e), "a library failure reached the guard"
        return
    check(result)


@fuzz(400)
@given(body=mutated(DOCUMENTS), charset=st.sampled_from(CHARSETS), extra=SOURCES)
def test_rss_kind_on_damaged_feeds(body: bytes, charset: str | None, extra: dict[str, str]) -> None:
    parse_or_parse_error(RssKind(), body, charset, rss_source(**extra))


@fuzz(150)
@given(body=st.binary(max_size=2000), charset=st.sampled_from(CHARSETS))
def test_rss_kind_on_arbitrary_bytes(body: bytes, charset: str | None) -> None:
    parse_or_parse_error(RssKind(), body, charset, rss_source())


@fuzz(200)
@given(body=mutated([LISTING]), charset=st.sampled_from(CHARSETS), extra=SOURCES)
def test_html_kind_on_damaged_listings(
    body: bytes, charset: str | None, extra: dict[str, str]
) -> None:
    parse_or_parse_error(HtmlKind(), body, charset, html_source(**extra))


@fuzz(100)
@given(body=st.binary(max_size=2000), charset=st.sampled_from(CHARSETS))
def test_html_kind_on_arbitrary_bytes(body: bytes, charset: str | None) -> None:
    parse_or_parse_error(HtmlKind(), body, charset, html_source())


REAL_DATES = [
    "2026年12月3日", "2026年03月04日 10:30", "2026-03-04", "2026/3/4", "2026年3月4日",
    "2026年3月4日 星期三 下午3:30", "发布时间：2026-03-04 10:30:15", "2026-03-04T10:30:00+08:00",
    "Wed, 04 Mar 2026 10:30:00 +0800", "16. September 2024", "September 16, 2024", "令和8年3月4日",
]  # fmt: skip
LANGUAGES = st.sampled_from([None, ["en"], ["zh"], ["ja"], ["de"], ["zh-CN", "en"], ["xx"], []])
ZONES = st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Pacific/Kiritimati"])
FORMATS = st.sampled_from([None, None, None, "%Y-%m-%d", "%B %d, %Y", "%Y年%m月%d日 %H:%M"])


@st.composite
def mutated_dates(draw: st.DrawFn) -> str:
    chars = list(draw(st.sampled_from(REAL_DATES)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(chars)))
        chars[at:at] = draw(
            st.text(alphabet="0123456789年月日时分:：-/.T+ Z\x00\u3000", max_size=3)
        )
        if draw(st.booleans()) and chars:
            del chars[draw(st.integers(0, len(chars) - 1))]
    return "".join(chars)


@fuzz(300)
@given(text=st.one_of(st.text(max_size=60), mutated_dates()), languages=LANGUAGES, zone=ZONES)
def test_parse_date_never_raises(text: str, languages: list[str] | None, zone: str) -> None:
    value, date_only = parse_date(text, languages=languages, zone=zone)
    assert value is None or (isinstance(value, datetime) and value.utcoffset() is not None)
    assert isinstance(date_only, bool)
    if value is not None:
        local_date(value, zone, date_only)  # the publisher's calendar day is computable


@fuzz(120)
@given(text=mutated_dates(), fmt=FORMATS, zone=ZONES)
def test_parse_date_with_format_never_raises(text: str, fmt: str | None, zone: str) -> None:
    value, _ = parse_date(text, fmt=fmt, zone=zone)
    assert value is None or value.utcoffset() is not None


LABEL = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", fullmatch=True)
URL_TEXT = st.text(
    alphabet=st.sampled_from(list("abcXYZ019-._~!$&'()*+,;=:@/?#%[] \t\\\x03\u00e9\u4e2d")),
    max_size=40,
)


@st.composite
def http_urls(draw: st.DrawFn) -> tuple[str, str]:
    """An http(s) URL with an ASCII host, and the host its canonical form must keep."""
    labels = draw(st.lists(LABEL, min_size=1, max_size=3))
    host = ".".join([*labels, draw(st.sampled_from(["gov", "GOV", "gov.cn", "de"]))])
    www = draw(st.sampled_from(["", "www.", "WWW."]))
    dot = draw(st.sampled_from(["", "."]))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    rest = draw(st.sampled_from(["", "/", "?", "#"]))
    rest += draw(URL_TEXT) if rest else ""
    return f"{scheme}://{www}{host}{dot}{port}{rest}", re.sub(r"^(www\.)+", "", host.lower())


@fuzz(400)
@given(text=st.one_of(st.text(max_size=80), URL_TEXT.map(lambda s: "http://" + s)))
def test_url_functions_never_raise(text: str) -> None:
    assert isinstance(canonical_url(text), str)
    assert isinstance(clean_link(text), str)


@fuzz(300)
@given(url_and_host=http_urls())
def test_canonical_url_is_idempotent_and_keeps_the_host(url_and_host: tuple[str, str]) -> None:
    url, host = url_and_host
    canonical = canonical_url(url)
    assert canonical_url(canonical) == canonical
    assert urlsplit(canonical).hostname == host
    assert (urlsplit(clean_link(url)).hostname or "").rstrip(".").endswith(host)


@pytest.mark.parametrize("document", DOCUMENTS, ids=["rss", "atom", "rdf"])
def test_seed_documents_are_valid(document: str) -> None:
    """The fuzzers start from feeds that parse cleanly, so damage is what they exercise."""
    result = RssKind().parse(document.encode(), "https://x.gov/feed/", None, rss_source())
    assert len(result.items) >= 2 and not [w for w in result.warnings if "malformed" in w]


@fuzz(200)
@given(body=mutated(DOCUMENTS), charset=st.sampled_from(CHARSETS))
def test_fast_rss_reader_reads_damaged_feeds_alike(body: bytes, charset: str | None) -> None:
    """The fast reader of plain RSS (``plainrss``) takes only what it reads as feedparser does
    (``tests/test_plainrss.py`` has the generated feeds)."""
    results = []
    for fast in (True, False):
        try:
            results.append(_parse(body, "https://x.gov/feed/", charset, rss_source(), fast=fast))
        except ParseError as e:
            results.append(str(e))
    assert results[0] == results[1]
