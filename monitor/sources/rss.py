"""Source kind ``rss``: RSS 0.9x/1.0/2.0 and Atom feeds, parsed by feedparser (plain RSS 2.0
by ``plainrss``, which gives the same entries faster). Pure; no I/O.

The body is decoded by ``monitor.encoding`` (feedparser would fall back to windows-1252 on a
wrong declaration) and handed to feedparser as UTF-8 in a stream (a bare string may be taken
for a file name or URL). A feed that is not well-formed is read anyway when items come out of
it, with a warning; with none it is a ``ParseError``, never an empty success.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import feedparser

from monitor.config import SourceConfig
from monitor.dates import from_struct_time, parse_date
from monitor.encoding import decode_body, xml_charset
from monitor.errors import ParseError
from monitor.items import ParseResult, RawItem
from monitor.sources import plainrss
from monitor.sources.registry import parser_failures
from monitor.text import clean, html_to_text, http_url

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
_DECLARATION = re.compile(r"<\?xml[^<>]*\?>")
# Characters XML 1.0 forbids, raw or as character references (feedparser's fallback parser
# fails on a reference to a surrogate or to a code point beyond Unicode).
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?")
_NAMESPACE = re.compile(
    r"""(?P<name>xmlns(?::[^\s=<>]+)?\s*=\s*)(?P<quote>["'])(?P<uri>[^"'<>]*)(?P=quote)"""
)
_SPACE = re.compile(r"\s")
# Dates in the formats the specifications require, which feedparser reads correctly: RFC 822
# (RSS) and RFC 3339 (Atom), each with a time zone. Anything else is read by ``parse_date``.
_STANDARD_DATE = re.compile(
    r"(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?"
    r"\s*(?:[A-Za-z]{1,5}|[+-]\d{2}:?\d{2})"
    r"|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})",
    re.IGNORECASE,
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
        if not content.strip():
            raise ParseError("empty response")
        with parser_failures("feed parser"):
            return _parse(content, url, encoding, source)


@dataclass(frozen=True)
class _Feed:
    entries: list[Any]  # feedparser's entries, or the same keys as plain dictionaries
    version: str
    title: str | None
    malformed: str | None  # why the document is not well-formed XML


def _parse(
    content: bytes, url: str, encoding: str | None, source: SourceConfig, *, fast: bool = True
) -> ParseResult:
    decoded = decode_body(content, encoding, xml_charset(content))
    document, replaced = _xml_safe(decoded.text)
    data = document.encode("utf-8")
    # Plain RSS 2.0 is read by plainrss (the same entries, several times faster); the rest by
    # feedparser. ``fast=False``: feedparser only (tests compare the two).
    plain = plainrss.read(data) if fast else None
    if plain is not None:
        feed = _Feed(plain.entries, plain.version, plain.title, None)
    else:
        feed = _feedparser(data)
    malformed = feed.malformed
    read = [_item(entry, url, source) for entry in feed.entries[: source.max_items]]
    items = [item for item in read if isinstance(item, RawItem)]
    if malformed and not items:
        raise ParseError(f"not a readable feed: {malformed}")
    if not malformed and not read and not feed.version:
        raise ParseError("not a feed (no RSS or Atom root element)")
    warnings = [decoded.note] if decoded.note else []
    if replaced:
        warnings.append(f"characters not allowed in XML dropped or replaced: {replaced}")
    if malformed:
        warnings.append(f"feed is malformed or truncated ({malformed}); items read: {len(items)}")
    skipped = Counter(reason for reason in read if isinstance(reason, str))
    warnings += [f"{n} item{'s' * (n > 1)} skipped: {why}" for why, n in skipped.items()]
    return ParseResult(items, warnings, clean(feed.title))


def _feedparser(data: bytes) -> _Feed:
    # No content-location: feedparser would resolve "ht!tp:x" and "https:" into page URLs;
    # http_url resolves and checks links instead.
    headers = {"content-type": "application/xml; charset=utf-8"}
    feed = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=True)
    return _Feed(feed.entries, feed.get("version", ""), feed.feed.get("title"), _malformed(feed))


def _xml_safe(text: str) -> tuple[str, int]:
    """``text`` with its XML declaration saying UTF-8 and the characters XML forbids dropped
    (raw) or replaced by U+FFFD (references); and how many there were."""
    text = text.lstrip("\ufeff \t\r\n")
    declaration = _DECLARATION.match(text)
    if declaration:
        text = '<?xml version="1.0" encoding="utf-8"?>' + text[declaration.end() :]
    text, dropped = _FORBIDDEN.subn("", text)
    before = text.count("\ufffd")
    text = _CHAR_REF.sub(_char_ref, text)
    text = _NAMESPACE.sub(_namespace, text)
    return text, dropped + text.count("\ufffd") - before


def _namespace(match: re.Match[str]) -> str:
    """A namespace declaration with white space in its URI percent-encoded (Python's SAX reader
    splits names at any white space, so feedparser fails on a U+00A0 in a namespace URI)."""
    uri = _SPACE.sub(lambda space: quote(space.group()), match["uri"])
    return f"{match['name']}{match['quote']}{uri}{match['quote']}"


def _char_ref(match: re.Match[str]) -> str:
    """A character reference kept, or U+FFFD for one to a character XML forbids."""
    hex_digits, digits = match.groups()
    if len((hex_digits or digits).lstrip("0")) > 8:  # beyond Unicode; int() refuses huge ones
        return "\ufffd"
    code = int(hex_digits, 16) if hex_digits else int(digits)
    allowed = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0x10FFFF
    return match.group(0) if allowed and code not in (0xFFFE, 0xFFFF) else "\ufffd"


def _malformed(feed: Any) -> str | None:
    """Why the document is not well-formed XML, or None if it is."""
    if not feed.get("bozo"):
        return None
    error = feed.get("bozo_exception")
    return str(error) or type(error).__name__


def _item(entry: Any, url: str, source: SourceConfig) -> RawItem | str:
    """The entry as an item, or why it was skipped."""
    title = html_to_text(entry.get("title"))
    if not title or not _link(entry):
        return "no title or link"
    link = http_url(_link(entry), url)
    if link is None:
        return "link is not http(s)"
    published, date_only, date_text = _published(entry, source)
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry.content[0].get("value", "")
    return RawItem(
        title=title,
        url=link,
        guid=clean(entry.get("id")) or None,
        summary=html_to_text(summary),
        published=published,
        date_only=date_only,
        date_text=date_text,
        categories=tuple(clean(t.get("term")) for t in entry.get("tags", []) if t.get("term")),
    )


def _link(entry: Any) -> str:
    link = clean(entry.get("link"))
    guid = clean(entry.get("id"))
    if not link and guid.lower().startswith(("http://", "https://")):
        return guid
    return link


def _published(entry: Any, source: SourceConfig) -> tuple[datetime | None, bool, str | None]:
    """The entry's date (published, else updated), whether only a day was given, and the text
    it was read from (kept when unreadable, so that the item gets a note)."""
    # dict.get: FeedParserDict.get("updated") falls back to "published" with a DeprecationWarning
    keys = ("published", "updated")
    texts = [(clean(dict.get(entry, key)), dict.get(entry, f"{key}_parsed")) for key in keys]
    for text, parsed in texts:
        if text:
            value, date_only = _date(text, parsed, source)
            if value is not None:
                return value, date_only, text
    return None, False, next((text for text, _ in texts if text), None)


def _date(text: str, parsed: Any, source: SourceConfig) -> tuple[datetime | None, bool]:
    """feedparser's reading of a standard date; ``parse_date`` in the source's language and
    time zone for anything else (feedparser misreads 2026年12月3日 as 1 December)."""
    if parsed is not None and _STANDARD_DATE.fullmatch(text):
        return from_struct_time(parsed), False
    languages = list(dict.fromkeys([source.language, "en"]))
    return parse_date(text, languages=languages, zone=source.timezone)


KIND = RssKind()
