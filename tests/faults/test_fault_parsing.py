"""Faults operators found in reading sources, each reproduced on a hand-made fixture
(tests/data/faults) or a document built here: Chinese dates, failures that looked like success,
wrong charsets, exceptions escaping the parsers, and links that are not http(s)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.config import SourceConfig
from monitor.dates import parse_date
from monitor.encoding import Decoded, decode_body, html_charset, xml_charset
from monitor.errors import ParseError
from monitor.items import ParseResult
from monitor.normalise import normalise
from monitor.sources.html import HtmlKind, HtmlSource
from monitor.sources.rss import RssKind, RssSource

FAULTS = Path(__file__).parent.parent / "data" / "faults"
NOW = datetime(2027, 1, 10, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
FEED_URL = "https://www.agency.gov/news/feed.xml"


def fixture(name: str) -> bytes:
    return (FAULTS / name).read_bytes()


def rss(**extra: Any) -> SourceConfig:
    base = {"id": "s", "name": "S", "kind": "rss", "url": FEED_URL, "publisher": "p"}
    return RssSource.model_validate(base | extra)


def html(selectors: dict[str, str] | None = None, **extra: Any) -> SourceConfig:
    base = {"id": "s", "name": "S", "kind": "html", "url": "https://x.gov.cn/", "publisher": "p"}
    selectors = selectors or {"item": "div.list li", "title": "a", "date": "span"}
    return HtmlSource.model_validate(base | extra | {"selectors": selectors})


def read_feed(
    body: bytes, source: SourceConfig | None = None, charset: str | None = None
) -> ParseResult:
    return RssKind().parse(body, FEED_URL, charset, source or rss())


def read_page(body: bytes, source: SourceConfig, charset: str | None = None) -> ParseResult:
    return HtmlKind().parse(body, "https://www.miit.gov.cn/zwgk/zcwj/", charset, source)


def one_item_feed(pub_date: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>通知</title><link>https://x.gov.cn/a/1.html</link>"
        f"<pubDate>{pub_date}</pubDate></item></channel></rss>"
    ).encode()


# 1. Chinese dates in feeds were taken from feedparser, which reads 2026年12月3日 as 1 December.


@pytest.mark.parametrize(
    ("stated", "expected", "date_only"),
    [
        ("2026年12月3日", datetime(2026, 12, 3, tzinfo=SHANGHAI), True),
        ("2026年03月04日 10:30", datetime(2026, 3, 4, 10, 30, tzinfo=SHANGHAI), False),
        ("2026-03-04", datetime(2026, 3, 4, tzinfo=SHANGHAI), True),
        ("2026/3/4", datetime(2026, 3, 4, tzinfo=SHANGHAI), True),
        ("2026年3月4日", datetime(2026, 3, 4, tzinfo=SHANGHAI), True),
    ],
)
@pytest.mark.parametrize("language", ["zh", "ja", "en"])
def test_rss_chinese_dates_are_read_from_the_text(
    stated: str, expected: datetime, date_only: bool, language: str
) -> None:
    source = rss(language=language, timezone="Asia/Shanghai")
    item = read_feed(one_item_feed(stated), source).items[0]
    assert (item.published, item.date_only, item.date_text) == (expected, date_only, stated)
    entry = normalise(item, source, NOW)
    assert entry.published_date == expected.date() and entry.date_note is None


def test_rss_chinese_dates_fixture() -> None:
    source = rss(language="zh", timezone="Asia/Shanghai")
    entries = [
        normalise(i, source, NOW) for i in read_feed(fixture("chinese_dates.xml"), source).items
    ]
    assert [e.published_date for e in entries] == [
        date(2026, 12, 3),
        date(2026, 3, 4),
        date(2026, 3, 4),
        date(2026, 3, 4),
        date(2026, 3, 4),
        None,  # 二〇二六年三月四日: not read, so not guessed
    ]
    assert entries[-1].date_source == "first_seen"
    assert entries[-1].date_note == "the source's date '二〇二六年三月四日' could not be read"


def test_rss_date_only_iso_is_the_publishers_day() -> None:
    """``2026-03-04`` is that day where the publisher is, not midnight UTC (the day before in
    New York)."""
    source = rss(timezone="America/New_York")
    item = read_feed(one_item_feed("2026-03-04"), source).items[0]
    assert item.date_only
    assert normalise(item, source, NOW).published_date == date(2026, 3, 4)


@pytest.mark.parametrize(
    ("stated", "expected"),
    [
        ("Wed, 04 Mar 2026 10:30:00 +0800", datetime(2026, 3, 4, 2, 30, tzinfo=UTC)),
        ("Wed, 04 Mar 2026 02:30:00 GMT", datetime(2026, 3, 4, 2, 30, tzinfo=UTC)),
        ("2026-03-04T10:30:00+08:00", datetime(2026, 3, 4, 2, 30, tzinfo=UTC)),
    ],
)
def test_rss_standard_dates_are_still_read(stated: str, expected: datetime) -> None:
    item = read_feed(one_item_feed(stated), rss(language="zh", timezone="Asia/Shanghai")).items[0]
    assert item.published == expected and not item.date_only


@pytest.mark.parametrize(
    ("text", "expected", "date_only"),
    [
        ("2026年03月04日", datetime(2026, 3, 4, tzinfo=SHANGHAI), True),
        ("2026-03-04", datetime(2026, 3, 4, tzinfo=SHANGHAI), True),
        ("2026/3/4", datetime(2026, 3, 4, tzinfo=SHANGHAI), True),
        ("2026.3.4", datetime(2026, 3, 4, tzinfo=SHANGHAI), True),
        ("2026年3月4日 星期三", datetime(2026, 3, 4, tzinfo=SHANGHAI), True),
        ("2026年3月4日 10时30分", datetime(2026, 3, 4, 10, 30, tzinfo=SHANGHAI), False),
        ("2026/3/4 下午3:30", datetime(2026, 3, 4, 15, 30, tzinfo=SHANGHAI), False),
        ("发布时间：2026-03-04 10:30:15", datetime(2026, 3, 4, 10, 30, 15, tzinfo=SHANGHAI), False),
        ("[2026-03-04]", datetime(2026, 3, 4, tzinfo=SHANGHAI), True),
        ("2026年13月45日", None, False),
        ("令和8年3月4日", None, False),
    ],
)
@pytest.mark.parametrize("languages", [["zh"], ["ja"], ["en"], ["zh-CN", "en"]])
def test_parse_date_reads_chinese_and_japanese_forms(
    text: str, expected: datetime | None, date_only: bool, languages: list[str]
) -> None:
    assert parse_date(text, languages=languages, zone="Asia/Shanghai") == (expected, date_only)


def test_parse_date_leaves_numbers_among_words_to_dateparser() -> None:
    """A version number is not a date: only a numeric date standing alone is read as one."""
    assert parse_date("Version 2024.1.2 released", languages=["en"]) == (None, False)


def test_html_chinese_listing_dates_without_a_chinese_language() -> None:
    for source in (html(), html(language="zh-CN", timezone="Asia/Shanghai")):
        items = read_page(fixture("gb2312_listing.html"), source).items
        assert [i.published and i.published.date() for i in items] == [
            date(2026, 3, 4),
            date(2026, 3, 2),
            date(2026, 2, 27),
        ]
        assert [i.date_only for i in items] == [True, True, False]


# 2. A truncated feed that yielded no item was an ok poll with 0 items: no incident ever.


def _cut_before(document: bytes, marker: bytes, occurrence: int = 1, extra: int = 0) -> bytes:
    at = -1
    for _ in range(occurrence):
        at = document.index(marker, at + 1)
    return document[: at + extra]


RSS_DOC = fixture("agency_rss.xml")
ATOM_DOC = fixture("agency_atom.xml")
NO_ITEM_CUTS = {
    "rss-in-channel-header": _cut_before(RSS_DOC, b"<description>News", extra=20),
    "rss-in-first-item-title": _cut_before(RSS_DOC, b"<title>DOE", extra=15),
    "rss-in-first-item-before-link": _cut_before(
        RSS_DOC, b"<link>https://www.energy.gov/eere/amo/a"
    ),
    "rss-after-declaration": _cut_before(RSS_DOC, b"<rss"),
    "atom-in-feed-header": _cut_before(ATOM_DOC, b"<title>Innovate", extra=12),
    "atom-in-first-entry": _cut_before(ATOM_DOC, b"<link", occurrence=3),
}


@pytest.mark.parametrize("body", NO_ITEM_CUTS.values(), ids=NO_ITEM_CUTS.keys())
def test_truncated_feed_without_items_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match=r"^not a readable feed: "):
        read_feed(body)


ITEM_CUTS = {
    "rss-after-first-item": (_cut_before(RSS_DOC, b"<item>", occurrence=2), 1),
    "rss-in-third-item": (_cut_before(RSS_DOC, b"<description>&lt;p&gt;Eight"), 3),
    "rss-before-channel-end": (_cut_before(RSS_DOC, b"</channel>"), 3),
    "atom-after-first-entry": (_cut_before(ATOM_DOC, b"<entry>", occurrence=2), 1),
    "atom-in-second-entry": (_cut_before(ATOM_DOC, b"A pilot line", extra=10), 2),
}


@pytest.mark.parametrize(("body", "count"), ITEM_CUTS.values(), ids=ITEM_CUTS.keys())
def test_truncated_feed_with_items_returns_them_with_a_warning(body: bytes, count: int) -> None:
    result = read_feed(body)
    assert len(result.items) == count
    assert any(w.startswith("feed is malformed or truncated") for w in result.warnings)


@pytest.mark.parametrize("document", [RSS_DOC, ATOM_DOC], ids=["rss", "atom"])
def test_no_truncation_is_an_empty_success(document: bytes) -> None:
    """Cut anywhere, a feed gives items with a warning, or a ParseError; never an ok poll
    with nothing in it."""
    for cut in range(1, len(document) - 10, 7):
        try:
            result = read_feed(document[:cut])
        except ParseError:
            continue
        assert result.items, f"cut at {cut}: {document[cut - 40 : cut]!r}"
        assert any("malformed or truncated" in w for w in result.warnings)


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title>'
        b"<link>https://x.gov/</link><description>d</description></channel></rss>",
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Quiet</title>'
        b"<id>tag:x.gov,2026:f</id><updated>2026-03-04T00:00:00Z</updated></feed>",
    ],
    ids=["rss", "atom"],
)
def test_well_formed_empty_feed_is_a_success(body: bytes) -> None:
    result = read_feed(body)
    assert result.items == [] and result.warnings == [] and result.title == "Quiet"


# 3. A GBK feed declared UTF-8 was stored as windows-1252 mojibake.

GBK_TITLES = [
    "工业和信息化部发布《新材料中试平台建设指南》",
    "关于开展2026年度智能制造揭榜挂帅工作的通知",
]
MISMATCH = "declared charset utf-8 does not match the bytes; decoded as gb18030"


@pytest.mark.parametrize("header", ["utf-8", "UTF-8", None])
def test_gbk_feed_declared_utf8(header: str | None) -> None:
    result = read_feed(fixture("gbk_declared_utf8.xml"), charset=header)
    assert [i.title for i in result.items] == GBK_TITLES
    assert result.items[0].summary == "推动新材料产业高质量发展。"
    assert result.title == "工业和信息化部 新闻动态"
    assert result.warnings == [MISMATCH]


def test_gbk_page_declared_utf8_in_header_and_meta() -> None:
    body = fixture("gb2312_listing.html").replace(b'charset="gb2312"', b'charset="utf-8"')
    result = read_page(body, html(), charset="utf-8")
    assert result.items[0].title == "工业和信息化部关于印发新材料标准体系建设指南的通知"
    assert result.warnings == [MISMATCH]


@pytest.mark.parametrize("header", [None, "gb2312", "GBK"])
def test_gb2312_page_correctly_declared(header: str | None) -> None:
    result = read_page(fixture("gb2312_listing.html"), html(), charset=header)
    assert [i.title for i in result.items][2] == "两部门联合发布重点新材料首批次应用示范目录"
    assert result.title == "工业和信息化部－文件发布"
    assert result.warnings == []


def test_gb2312_page_served_as_latin1_by_the_server() -> None:
    """Any bytes decode as ISO-8859-1 (a common server default), so the page's meta wins."""
    result = read_page(fixture("gb2312_listing.html"), html(), charset="ISO-8859-1")
    assert result.items[0].title == "工业和信息化部关于印发新材料标准体系建设指南的通知"
    assert result.warnings == [
        "declared charset iso-8859-1 does not match the bytes; decoded as gb18030"
    ]


def test_utf8_page_without_declaration() -> None:
    result = read_page(fixture("utf8_undeclared_listing.html"), html())
    assert result.items[0].title == "工业和信息化部关于印发新材料标准体系建设指南的通知"
    assert result.warnings == []


@pytest.mark.parametrize("header", [None, "windows-1252", "iso-8859-1"])
def test_windows_1252_feed_correctly_declared(header: str | None) -> None:
    result = read_feed(fixture("windows1252_feed.xml"), charset=header)
    item = result.items[0]
    assert item.title == "“Matériaux avancés” : l’État lance un appel à projets"
    assert item.summary == "Café, crème brûlée — et 50 M€ pour l’industrie."
    assert result.title == "Ministère – actualités" and result.warnings == []


@pytest.mark.parametrize("header", [None, "utf-8"])
def test_utf8_bom_feed(header: str | None) -> None:
    result = read_feed(fixture("utf8_bom_feed.xml"), charset=header)
    assert result.items[0].title == "国家标准化管理委员会发布新材料国家标准"
    assert result.warnings == []


ZH = "工业和信息化部发布新材料产业发展指南"


@pytest.mark.parametrize(
    ("body", "http", "document", "text", "encoding", "note"),
    [
        (ZH.encode("gbk"), "utf-8", "utf-8", ZH, "gb18030", MISMATCH),
        (ZH.encode("gb2312"), None, "gb2312", ZH, "gb18030", None),
        (ZH.encode(), None, None, ZH, "utf-8", None),
        (b"\xef\xbb\xbf" + ZH.encode(), "utf-8", None, ZH, "utf-8", None),
        (
            b"\xef\xbb\xbf" + ZH.encode(),
            "iso-8859-1",
            None,
            ZH,
            "utf-8",
            "declared charset iso-8859-1 does not match the bytes; decoded as utf-8 "
            "(byte order mark)",
        ),
        (
            ZH.encode(),
            "iso-8859-1",
            None,
            ZH,
            "utf-8",
            "declared charset iso-8859-1 does not match the bytes; decoded as utf-8",
        ),
        ("Café “x”".encode("cp1252"), "iso-8859-1", None, "Café “x”", "cp1252", None),
        (ZH.encode() + ZH.encode()[:-1], "utf-8", None, ZH + ZH[:-1] + "\ufffd", "utf-8", None),
        (
            ZH.encode() * 2 + b"\xff" + ZH.encode(),
            "utf-8",
            None,
            ZH * 2 + "\ufffd" + ZH,
            "utf-8",
            "invalid utf-8 replaced in 1 places",
        ),
        (
            ZH.encode(),
            "no-such-charset",
            "utf-16",
            ZH,
            "utf-8",
            "declared charset utf-16 does not match the bytes; "
            "declared charset no-such-charset is not supported; decoded as utf-8",
        ),
        (
            b"+ADw-script+AD4-",
            "utf-7",
            None,
            "+ADw-script+AD4-",
            "utf-8",
            "declared charset utf-7 is not supported; decoded as utf-8",
        ),
    ],
)
def test_decode_body(
    body: bytes, http: str | None, document: str | None, text: str, encoding: str, note: str | None
) -> None:
    assert decode_body(body, http, document) == Decoded(text, encoding, note)


def test_document_charsets_are_found() -> None:
    assert xml_charset(b"\xef\xbb\xbf<?xml version='1.0' encoding='GB2312'?><rss/>") == "GB2312"
    assert xml_charset(b"<rss/>") is None
    meta = b'<head><meta http-equiv="Content-Type" content="text/html; charset=gbk"></head>'
    assert html_charset(meta) == "gbk"
    assert html_charset(b"<head><meta charset=big5></head>") == "big5"
    assert html_charset(b"<html><body>no declaration</body></html>") is None


# 4. Byte-mutated feeds raised UnicodeDecodeError / UnicodeEncodeError / ValueError.

DAMAGE = {  # found by fuzzing the code as it was: each raised out of RssKind.parse
    "non-ascii-in-xml-declaration": (
        b'encoding="UTF-8"',
        b'encoding="u\xe2\x80tf-8"',
    ),  # UnicodeDecodeError
    "nul-in-xml-declaration": (b'encoding="UTF-8"', b'encoding="ut\x00f-8"'),  # ValueError
    "surrogate-char-ref": (b"<title>DOE", b"<title>&#xD800;DOE"),  # UnicodeEncodeError
    "char-ref-beyond-unicode": (b"<title>DOE", b"<title>&#x110000;DOE"),  # ValueError
    "huge-char-ref": (b"<title>DOE", b"<title>&#99999999999;DOE"),  # OverflowError
    "nbsp-in-namespace-uri": (b"purl.org/dc/", b"purl.org/\xc2\xa0dc/"),  # ValueError
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
@pytest.mark.parametrize("charset", [None, "utf-8", "gbk"])
def test_byte_damage_does_not_escape_the_rss_kind(
    damage: tuple[bytes, bytes], charset: str | None
) -> None:
    body = RSS_DOC.replace(*damage)
    result = read_feed(body, charset=charset)
    assert len(result.items) == 3
    assert result.items[0].title.removeprefix("\ufffd").startswith("DOE Announces $40 Million")


def test_a_body_naming_a_local_file_is_not_read() -> None:
    """feedparser opens a string naming a file: a server answering with a path would have
    made us read that file (or hang on /dev/zero)."""
    with pytest.raises(ParseError):
        read_feed(str(FAULTS / "agency_rss.xml").encode())


@pytest.mark.parametrize("href", ["http://[::1", "http://x.gov:99999/a", "http://x.gov:port/"])
def test_broken_hosts_and_ports_do_not_escape_the_html_kind(href: str) -> None:
    page = f"<ul><li><a href='{href}'>Broken</a></li><li><a href='/ok'>Ok</a></li></ul>".encode()
    result = read_page(page, html({"item": "li", "title": "a"}))
    assert [i.url for i in result.items] == ["https://www.miit.gov.cn/ok"]
    assert result.warnings == ["1 item skipped: link is not http(s)"]


# 5. Links that are not http(s) were stored from feeds.


def test_rss_keeps_only_http_links() -> None:
    result = read_feed(fixture("links_feed.xml"))
    assert [(i.title, i.url) for i in result.items] == [
        ("Release 8", "https://www.agency.gov/news/relative-release"),
        ("Release 9", "https://www.agency.gov/news/absolute-release"),
    ]
    assert result.warnings == ["7 items skipped: link is not http(s)"]


def test_html_keeps_only_http_links() -> None:
    hrefs = [
        "data:text/html,hi",
        "file:///etc/passwd",
        "ftp://ftp.x.gov/a.pdf",
        "vbscript:msgbox",
        "ht!tp:garbage",
        "http:///no-host",
        "../wjfb/art_1.html",
        "//cdn.miit.gov.cn/a.pdf",
        "javascript:void(0)",
    ]
    page = "".join(f"<li><a href='{h}'>Item {n}</a></li>" for n, h in enumerate(hrefs)).encode()
    result = read_page(b"<ul>" + page + b"</ul>", html({"item": "li", "title": "a"}))
    assert [i.url for i in result.items] == [
        "https://www.miit.gov.cn/zwgk/wjfb/art_1.html",
        "https://cdn.miit.gov.cn/a.pdf",
    ]
    assert result.warnings == [
        "1 of 9 items lacked a title or link",  # javascript: is not a link at all
        "6 items skipped: link is not http(s)",
    ]


def test_guid_that_is_not_a_url_is_not_a_link() -> None:
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<entry><title>No link</title><id>tag:x.gov,2026:1</id></entry>"
        b"<entry><title>Linked</title><id>https://x.gov/2</id></entry></feed>"
    )
    result = read_feed(atom)
    assert [i.url for i in result.items] == ["https://x.gov/2"]
    assert result.warnings == ["1 item skipped: link is not http(s)"]
