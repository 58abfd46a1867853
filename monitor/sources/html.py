"""Source kind ``html``: a listing page read with CSS selectors (BeautifulSoup + soupsieve)."""

from __future__ import annotations

from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag
from pydantic import field_validator
from soupsieve import SelectorSyntaxError
from soupsieve import compile as compile_css

from monitor.config import Model, SourceConfig
from monitor.dates import parse_date
from monitor.errors import ParseError
from monitor.items import ParseResult, RawItem
from monitor.text import clean

ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


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


class HtmlKind:
    name = "html"
    config: type[SourceConfig] = HtmlSource
    accept = ACCEPT

    def parse(
        self, content: bytes, url: str, encoding: str | None, source: SourceConfig
    ) -> ParseResult:
        assert isinstance(source, HtmlSource)
        soup = BeautifulSoup(content, "lxml", from_encoding=encoding)
        if soup.find() is None:
            raise ParseError("the page is empty or not HTML")
        base = soup.find("base", href=True)
        base_url = urljoin(url, str(base["href"])) if isinstance(base, Tag) else url
        sel = source.selectors
        nodes = soup.select(sel.item)
        warnings: list[str] = []
        if not nodes:
            warnings.append(f"selector item={sel.item!r} matched nothing")
        items, skipped = [], 0
        for node in nodes[: source.max_items]:
            item = _item(node, sel, base_url, source)
            if item is None:
                skipped += 1
            else:
                items.append(item)
        if skipped:
            warnings.append(f"{skipped} of {len(nodes)} items lacked a title or link")
        page_title = clean(soup.title.get_text()) if soup.title else None
        return ParseResult(items, warnings, page_title)


def _item(node: Tag, sel: Selectors, base_url: str, source: HtmlSource) -> RawItem | None:
    title_el = _one(node, sel.title)
    title = clean(title_el.get_text(" ")) if title_el else ""
    href = _link(node, title_el, sel)
    if not title or not href:
        return None
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
        url=urljoin(base_url, href),
        summary=clean(summary_el.get_text(" ")) if summary_el else "",
        published=published,
        date_only=date_only,
        date_text=date_text or None,
    )


def _link(node: Tag, title_el: Tag | None, sel: Selectors) -> str | None:
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
