"""Source kind ``rss``: RSS 0.9x/1.0/2.0 and Atom feeds, parsed by feedparser."""

from __future__ import annotations

from typing import Any

import feedparser

from monitor.config import SourceConfig
from monitor.dates import from_struct_time
from monitor.errors import ParseError
from monitor.items import ParseResult, RawItem
from monitor.text import clean, html_to_text

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)


class RssSource(SourceConfig):
    """A feed. Nothing beyond the common fields is needed."""


class RssKind:
    name = "rss"
    config: type[SourceConfig] = RssSource
    accept = ACCEPT

    def parse(
        self, content: bytes, url: str, encoding: str | None, source: SourceConfig
    ) -> ParseResult:
        content_type = f"application/xml; charset={encoding}" if encoding else "application/xml"
        headers = {"content-location": url, "content-type": content_type}
        feed = feedparser.parse(content, response_headers=headers, sanitize_html=True)
        if not content.strip():
            raise ParseError("empty response")
        if not feed.entries:
            if feed.get("bozo"):
                raise ParseError(f"not a readable feed: {feed.get('bozo_exception')}")
            if not feed.get("version"):
                raise ParseError("not a feed (no RSS or Atom root element)")
        warnings = []
        if feed.get("bozo"):
            warnings.append(f"feed is malformed but readable: {feed.bozo_exception}")
        items = []
        for entry in feed.entries[: source.max_items]:
            item = _item(entry)
            if item is None:
                warnings.append("skipped an entry without title or link")
            else:
                items.append(item)
        return ParseResult(items, warnings, clean(feed.feed.get("title")))


def _item(entry: Any) -> RawItem | None:
    guid = clean(entry.get("id")) or None
    link = clean(entry.get("link"))
    if not link and guid and guid.startswith(("http://", "https://")):
        link = guid
    title = html_to_text(entry.get("title"))
    if not link or not title:
        return None
    published = from_struct_time(entry.get("published_parsed")) or from_struct_time(
        entry.get("updated_parsed")
    )
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry.content[0].get("value", "")
    return RawItem(
        title=title,
        url=link,
        guid=guid,
        summary=html_to_text(summary),
        published=published,
        date_text=clean(entry.get("published") or entry.get("updated")) or None,
        categories=tuple(clean(t.get("term")) for t in entry.get("tags", []) if t.get("term")),
    )


KIND = RssKind()
