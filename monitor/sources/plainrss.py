"""A fast reader for plain RSS 2.0 feeds: exactly what feedparser gives for them, at a fraction
of its cost. Pure; no I/O.

feedparser spends most of its time in Python callbacks for every start tag, end tag and piece
of text. This reader lets lxml build the tree in C and reads the few values the ``rss`` kind
uses (each item's title, link, guid, description, publication date and categories, and the
channel's title), putting each value through feedparser's own steps in feedparser's order
(stripping, resolving against ``xml:base``, guessing HTML in titles, relative URIs and
sanitising in markup, the UTF-8-read-as-Latin-1 repair, the windows-1252 map, the date parser),
skipping only the steps that cannot change the value (markup steps on text with no ``<`` or
``&``, the repairs on ASCII text).

It reads a document only when every part of it is understood: an ``rss`` root with one
``channel``, the RSS 2.0 elements listed below, the Atom and Dublin Core namespaces declared on
the root (for ``atom:link`` in the channel and ``dc:creator`` in items), no DOCTYPE, no repeated
title, link, guid, description or publication date in an item, ``xml:base`` only on the root,
and no markup inside elements. For anything else, and for anything lxml finds not well-formed,
it returns None and feedparser reads the document (``tests/test_plainrss.py`` checks that both
give the same items, on the fixtures and on generated feeds).
"""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import _urljoin, make_safe_absolute_uri, resolve_relative_uris
from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
_NAMESPACES = frozenset({ATOM, DC})
_XML = "{http://www.w3.org/XML/1998/namespace}"
_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_LINK_REFERENCE = re.compile("&([A-Za-z0-9_]+);")
# Channel elements that only feed-level values other than the title come from, and the
# attributes they may have.
_CHANNEL_OTHER: dict[str, frozenset[str]] = {
    "link": frozenset(),
    "description": frozenset(),
    "language": frozenset(),
    "copyright": frozenset(),
    "managingEditor": frozenset(),
    "webMaster": frozenset(),
    "pubDate": frozenset(),
    "lastBuildDate": frozenset(),
    "category": frozenset({"domain"}),
    "generator": frozenset(),
    "docs": frozenset(),
    "ttl": frozenset(),
    f"{{{ATOM}}}link": frozenset({"href", "rel", "type"}),
}
_IMAGE = frozenset({"url", "title", "link", "width", "height", "description"})
# Item elements whose values the rss kind does not read (authors, comments, enclosures).
_ITEM_OTHER: dict[str, frozenset[str]] = {
    "author": frozenset(),
    "comments": frozenset(),
    "enclosure": frozenset({"url", "length", "type"}),
    f"{{{DC}}}creator": frozenset(),
}
_ONCE = {"title": "title", "link": "link", "guid": "id", "description": "summary"}
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_RELATIVE_IN_MARKUP = _FeedParserMixin.can_contain_relative_uris
_DANGEROUS = _FeedParserMixin.can_contain_dangerous_markup
_RELATIVE = _FeedParserMixin.can_be_relative_uri
_local = threading.local()


class _UnsupportedError(Exception):
    """Something this reader does not handle exactly as feedparser: feedparser reads it."""


@dataclass
class PlainFeed:
    """What the rss kind reads of a feed, as feedparser would give it."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    version: str = ""
    title: str | None = None


def read(document: bytes) -> PlainFeed | None:
    """The feed in ``document`` (UTF-8, as the rss kind prepares it for feedparser), or None
    when it is not plain RSS 2.0 as described above."""
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        return None  # feedparser rewrites DOCTYPEs and entity declarations first
    try:
        root = etree.fromstring(document, _parser())
        return _rss(root, document)
    except (etree.XMLSyntaxError, _UnsupportedError, ValueError):
        return None


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:  # lxml parsers are not to be shared between threads
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
    return parser


def _rss(root: Any, document: bytes) -> PlainFeed:
    if root.tag != "rss" or set(root.attrib) - {"version", f"{_XML}base", f"{_XML}lang"}:
        raise _UnsupportedError
    declared = root.nsmap
    if document.count(b"xmlns") != len(declared):  # declarations below the root
        raise _UnsupportedError
    for prefix, uri in declared.items():
        if prefix is None or uri not in _NAMESPACES or not _PREFIX.fullmatch(prefix):
            raise _UnsupportedError
    attribute = root.get("version", "")
    version = _RSS_VERSIONS.get(attribute) or ("rss20" if attribute.startswith("2.") else "rss")
    # feedparser's base URI at each depth: the root's xml:base, then refined at every element
    bases = [_next_base("", root.get(f"{_XML}base"))]
    for _ in range(3):
        bases.append(_next_base(bases[-1], None))
    channels = [child for child in root if isinstance(child.tag, str)]
    if len(channels) != 1 or channels[0].tag != "channel" or channels[0].attrib:
        raise _UnsupportedError
    feed = PlainFeed(version=version)
    depth = -1  # feedparser's title_depth: a title deeper than the last one is not stored
    for child in channels[0]:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # a comment or processing instruction
        if tag == "item":
            entry, titled = _entry(child, bases[3])
            feed.entries.append(entry)
            depth = 4 if titled else -1
        elif tag == "title":
            _attributes(child, frozenset())
            value = _value("title", _text(child), "text/plain", bases[2])
            if not -1 < depth <= 3:
                feed.title = value
            if value:
                depth = 3
        elif tag == "image":
            if child.attrib:
                raise _UnsupportedError
            depth = -1
            for part in child:
                if not isinstance(part.tag, str):
                    continue
                if part.tag not in _IMAGE:
                    raise _UnsupportedError
                _attributes(part, frozenset())
                text = _text(part)
                if part.tag == "title" and _value("title", text, "text/plain", bases[3]):
                    depth = 4
        elif tag in _CHANNEL_OTHER:
            _attributes(child, _CHANNEL_OTHER[tag])
            _text(child)
        else:
            raise _UnsupportedError
    return feed


def _entry(item: Any, base: str) -> tuple[dict[str, Any], bool]:
    """An item as feedparser's entry (the keys the rss kind reads), and whether it had a
    title that was not empty."""
    if item.attrib:
        raise _UnsupportedError
    entry: dict[str, Any] = {}
    guid_link: str | None = None
    seen: set[str] = set()
    titled = False
    for child in item:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag in _ONCE or tag == "pubDate":
            if tag in seen:
                raise _UnsupportedError
            seen.add(tag)
        if tag == "title":
            _attributes(child, frozenset())
            entry["title"] = _value("title", _text(child), "text/plain", base)
            titled = titled or bool(entry["title"])
        elif tag == "link":
            _attributes(child, frozenset())
            link = _value("link", _text(child), None, base)
            link = _LINK_REFERENCE.sub(r"&\g<1>", link.replace("&amp;", "&"))
            entry["link"] = link
        elif tag == "guid":
            _attributes(child, frozenset({"isPermaLink"}))
            is_link = child.get("isPermaLink", "true") == "true"
            value = _value("id", _text(child), None, base, resolve=is_link)
            entry["id"] = value
            if is_link:
                guid_link = value
        elif tag == "description":
            _attributes(child, frozenset())
            entry["summary"] = _value("description", _text(child), "text/html", base)
        elif tag == "pubDate":
            _attributes(child, frozenset())
            value = _value("published", _text(child), None, base)
            entry["published"] = value
            entry["published_parsed"] = _parse_date(value)
        elif tag == "category":
            _attributes(child, frozenset({"domain"}))
            tags = entry.setdefault("tags", [])
            _category(tags, child.get("domain"), _value("category", _text(child), None, base))
        elif tag in _ITEM_OTHER:
            _attributes(child, _ITEM_OTHER[tag])
            _text(child)
        else:
            raise _UnsupportedError
    if guid_link is not None:
        entry.setdefault("link", guid_link)  # a permalink guid is the link, if none is given
    return entry, titled


def _category(tags: list[dict[str, str | None]], domain: str | None, value: str) -> None:
    """feedparser's ``_start_category`` then ``_end_category``."""
    if domain:
        _add_tag(tags, None, domain)
    if not value:
        return
    if tags and not tags[-1]["term"]:
        tags[-1]["term"] = value
    else:
        _add_tag(tags, value, None)


def _add_tag(tags: list[dict[str, str | None]], term: str | None, scheme: str | None) -> None:
    tag = {"term": term, "scheme": scheme, "label": None}
    if tag not in tags:
        tags.append(tag)


def _attributes(element: Any, allowed: frozenset[str]) -> None:
    if element.attrib and not set(element.attrib) <= allowed:
        raise _UnsupportedError


def _text(element: Any) -> str:
    """The text of an element with no child elements (comments and processing instructions
    inside it are dropped, as feedparser drops them)."""
    text = element.text or ""
    for child in element:
        if isinstance(child.tag, str):
            raise _UnsupportedError  # markup in the element: feedparser's rules for it are many
        text += child.tail or ""
    return text


def _next_base(current: str, given: str | None) -> str:
    """feedparser's base URI inside an element (``unknown_starttag``)."""
    base = given or current
    if current:
        return make_safe_absolute_uri(current, base) or current
    return str(_urljoin(current, base))


def _value(element: str, text: str, kind: str | None, base: str, *, resolve: bool = True) -> str:
    """feedparser's ``pop`` for one element of text: ``kind`` is the content type of title
    and description (None: no content element)."""
    output = text.strip()
    if element in _RELATIVE and output and resolve:
        output = _urljoin(base, output)
    markup = "<" in output or "&" in output
    if kind == "text/plain" and markup and _FeedParserMixin.looks_like_html(output):
        kind = "text/html"
    if kind != "text/plain":  # feedparser treats other elements as HTML too, to no effect
        kind = kind or "text/html"
        if element in _RELATIVE_IN_MARKUP and markup:
            output = resolve_relative_uris(output, base, "utf-8", kind)
        if element in _DANGEROUS:
            if markup:
                output = _sanitize_html(output, "utf-8", kind)
            else:  # what the sanitiser does to text without markup
                output = output.strip().replace("\r\n", "\n")
    if not output.isascii():
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            output = output.encode("iso-8859-1").decode("utf-8")  # UTF-8 read as Latin-1
        output = output.translate(_cp1252)
    return output
