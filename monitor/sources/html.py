"""Source kind ``html``: a listing page read with CSS selectors (BeautifulSoup + soupsieve).
Pure; no I/O.

The body is decoded by ``monitor.encoding`` (the HTTP header, then ``<meta charset>``, checked
against the bytes). Only items whose link resolves to an http(s) URL are kept.
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import TYPE_CHECKING

from pydantic import field_validator
from soupsieve import SelectorSyntaxError
from soupsieve import compile as compile_css

from monitor.config import Model, SourceConfig
from monitor.dates import parse_date
from monitor.encoding import decode_body, html_charset
from monitor.errors import ParseError
from monitor.items import ParseResult, RawItem
from monitor.sources.registry import parser_failures
from monitor.text import clean, http_url

if TYPE_CHECKING:  # BeautifulSoup is imported when a page is parsed: loading the
    from bs4 import Tag  # configuration (which validates selectors) does not need it

ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_NO_LINK = "no title or link"


class Selectors(Model):
    """Where things are on the listing page. ``item`` is searched in the page, the rest in each
    item; ``:scope`` means the item element itself (e.g. when items are the links)."""

    item: str
    title: str
    link: str | None = None  # default: the title element if it is a link, else its first <a>
    link_attr: str = "href"
    date: str | None = None
    date_attr: str | None = None  # take the date from this attribute (e.g. datetime) not the text
    date_format: str | None = None  # strptime format; default: ISO 8601, then a lenient parser
    summary: str | None = None

    @field_validator("item", "title", "link", "date", "summary")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                compile_css(value)
            except SelectorSyntaxError as e:
                reason = str(e).splitlines()[0] if str(e) else "syntax error"
                raise ValueError(f"invalid CSS selector: {reason}") from e
        return value


class HtmlSource(SourceConfig):
    selectors: Selectors
    # Render the page in headless Chromium before the selectors run, for listings built by
    # JavaScript (monitor.http.browser; the ``browser`` extra and Debian's chromium).
    browser: bool = False


class HtmlKind:
    name = "html"
    config: type[SourceConfig] = HtmlSource
    accept = ACCEPT

    def parse(
        self, content: bytes, url: str, encoding: str | None, source: SourceConfig
    ) -> ParseResult:
        assert isinstance(source, HtmlSource)
        with parser_failures("HTML parser"):
            return _parse(content, url, encoding, source)


def _parse(content: bytes, url: str, encoding: str | None, source: HtmlSource) -> ParseResult:
    from bs4 import BeautifulSoup, Tag, XMLParsedAsHTMLWarning

    decoded = decode_body(content, encoding, html_charset(content))
    with warnings.catch_warnings():  # XHTML pages start with an XML declaration: fine
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(decoded.text, "lxml")
    if soup.find() is None:
        raise ParseError("the page is empty or not HTML")
    base = soup.find("base", href=True)
    base_url = (http_url(str(base["href"]), url) if isinstance(base, Tag) else None) or url
    sel = source.selectors
    nodes = soup.select(sel.item)
    notes = [decoded.note] if decoded.note else []
    if not nodes:
        notes.append(f"selector item={sel.item!r} matched nothing")
    read = [_item(node, sel, base_url, source) for node in nodes[: source.max_items]]
    skipped = Counter(reason for reason in read if isinstance(reason, str))
    if skipped[_NO_LINK]:
        notes.append(f"{skipped.pop(_NO_LINK)} of {len(nodes)} items lacked a title or link")
    notes += [f"{n} item{'s' * (n > 1)} skipped: {why}" for why, n in skipped.items()]
    page_title = clean(soup.title.get_text()) if soup.title else None
    items = [item for item in read if isinstance(item, RawItem)]
    return ParseResult(items, notes, page_title)


def _item(node: Tag, sel: Selectors, base_url: str, source: HtmlSource) -> RawItem | str:
    """The item in ``node``, or why it was skipped."""
    title_el = _one(node, sel.title)
    title = clean(title_el.get_text(" ")) if title_el else ""
    href = _link(node, title_el, sel)
    if not title or not href:
        return _NO_LINK
    url = http_url(href, base_url)
    if url is None:
        return "link is not http(s)"
    date_text = _date_text(node, sel)
    published, date_only = (
        parse_date(
            date_text, fmt=sel.date_format, languages=[source.language], zone=source.timezone
        )
        if date_text
        else (None, False)
    )
    summary_el = _one(node, sel.summary) if sel.summary else None
    return RawItem(
        title=title,
        url=url,
        summary=clean(summary_el.get_text(" ")) if summary_el else "",
        published=published,
        date_only=date_only,
        date_text=date_text or None,
    )


def _link(node: Tag, title_el: Tag | None, sel: Selectors) -> str | None:
    from bs4 import Tag

    if sel.link:
        link_el = _one(node, sel.link)
    elif title_el is not None and title_el.name == "a":
        link_el = title_el
    else:
        link_el = (title_el.find("a") if title_el else None) or node.find("a")
    if not isinstance(link_el, Tag):
        return None
    value = link_el.get(sel.link_attr)
    href = clean(value if isinstance(value, str) else None)
    return href if href and not href.lower().startswith(("javascript:", "mailto:", "#")) else None


def _date_text(node: Tag, sel: Selectors) -> str:
    if not sel.date:
        return ""
    date_el = _one(node, sel.date)
    if date_el is None:
        return ""
    if sel.date_attr:
        value = date_el.get(sel.date_attr)
        return clean(value if isinstance(value, str) else None)
    return clean(date_el.get_text(" "))


def _one(node: Tag, selector: str) -> Tag | None:
    return node if selector.strip() == ":scope" else node.select_one(selector)


KIND = HtmlKind()
