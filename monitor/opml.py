"""OPML subscription lists ↔ sources, as every feed reader imports and exports them. Pure.

Reading uses lxml with a hardened parser: no DTD loaded, no entity resolved, no network, no
huge trees; a document with a DOCTYPE is refused outright (OPML needs none, and that is where
entity bombs and external entities live). Writing produces OPML 2.0: one ``type="rss"``
outline per feed, and the ``html`` listings as ``type="link"`` outlines with ``htmlUrl`` and
the category ``/monitor/kind/html`` (a feed reader skips them; ``sources import`` reports
them). Every outline carries ``/monitor/publisher/KEY``, which ``sources import`` reads back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from courlan import extract_domain
from lxml import etree

from monitor.config import Config
from monitor.errors import ConfigError, Problem
from monitor.sources.discover import match_publisher, new_publisher_key, slug, unique_key
from monitor.text import clean

CATEGORY = "/monitor"
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_NO_DOCTYPE = "a DOCTYPE is not allowed in OPML (no DTD is read, no entity expanded)"
MAX_BYTES = 10_000_000


@dataclass(frozen=True)
class Outline:
    """A subscription: an outline with an ``xmlUrl`` (a feed) or only an ``htmlUrl``."""

    title: str
    xml_url: str | None
    html_url: str | None
    categories: tuple[str, ...] = ()
    language: str | None = None
    line: int | None = None

    def publisher_hint(self) -> str | None:
        """The publisher key a monitor export recorded (``/monitor/publisher/KEY``)."""
        prefix = f"{CATEGORY}/publisher/"
        return next((c[len(prefix) :] for c in self.categories if c.startswith(prefix)), None)


def read_opml(data: bytes, file: str) -> list[Outline]:
    """The outlines of an OPML document (any version), folders flattened, their names kept as
    categories. ConfigError naming the file and line when it is not OPML."""
    if len(data) > MAX_BYTES:
        raise ConfigError([Problem(file, None, "", f"larger than {MAX_BYTES} bytes")])
    start = data.find(b"<opml")
    prolog = data if start < 0 else data[:start]
    if _DOCTYPE.search(prolog):
        raise ConfigError([Problem(file, prolog.count(b"\n") + 1, "", _NO_DOCTYPE)])
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise ConfigError([Problem(file, e.lineno, "", f"not well-formed XML: {e.msg}")]) from e
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise ConfigError([Problem(file, 1, "", _NO_DOCTYPE)])
    if root.tag != "opml" or root.find("body") is None:
        message = f"not OPML: the root element is <{root.tag}>, not <opml> with a <body>"
        raise ConfigError([Problem(file, root.sourceline, "", message)])
    return list(_outlines(root.find("body"), ()))


def _outlines(parent: Any, folders: tuple[str, ...]) -> Iterator[Outline]:
    for node in parent.iterfind("outline"):
        title = clean(node.get("title") or node.get("text"))
        xml_url = clean(node.get("xmlUrl")) or None
        html_url = clean(node.get("htmlUrl") or node.get("url")) or None
        own = tuple(c.strip() for c in (node.get("category") or "").split(",") if c.strip())
        if xml_url or html_url:
            language = clean(node.get("language")) or None
            categories = (*own, *("/" + "/".join(folders[: i + 1]) for i in range(len(folders))))
            yield Outline(title, xml_url, html_url, categories, language, node.sourceline)
        yield from _outlines(node, (*folders, title) if title and not xml_url else folders)


# -- import ---------------------------------------------------------------------------------------


@dataclass
class Import:
    """What an OPML list adds to a configuration."""

    sources: list[dict[str, Any]] = field(default_factory=list)
    publishers: dict[str, dict[str, str]] = field(default_factory=dict)  # new glossary keys
    known: list[tuple[Outline, str]] = field(default_factory=list)  # already polled: source id
    skipped: list[Outline] = field(default_factory=list)  # no feed (html pages)


def plan_import(outlines: Iterable[Outline], config: Config) -> Import:
    """Each outline with an ``xmlUrl`` becomes an ``rss`` source: its id from its title (unique),
    its publisher from the glossary when the host is known (or recorded by a monitor export),
    else a new key (one per site) to fill in."""
    plan = Import()
    configured = {s.url: s.id for s in config.sources}
    taken = {s.id for s in config.sources}
    new_by_site: dict[str, str] = {}
    for outline in outlines:
        if not outline.xml_url or not outline.xml_url.lower().startswith(("http://", "https://")):
            plan.skipped.append(outline)
            continue
        if outline.xml_url in configured:
            plan.known.append((outline, configured[outline.xml_url]))
            continue
        key = _publisher(outline, config, plan, new_by_site)
        sid = slug(outline.title, 40) or f"{key}-feed"
        sid = unique_key(sid, taken)
        taken.add(sid)
        configured[outline.xml_url] = sid
        source: dict[str, Any] = {
            "id": sid,
            "name": (outline.title or outline.xml_url)[:100],
            "publisher": key,
            "kind": "rss",
            "url": outline.xml_url,
        }
        if outline.language and outline.language.split("-")[0].lower() != "en":
            source["language"] = outline.language.split("-")[0].lower()
        plan.sources.append(source)
    return plan


def _publisher(outline: Outline, config: Config, plan: Import, new_by_site: dict[str, str]) -> str:
    hint = outline.publisher_hint()
    if hint and hint in config.publishers:
        return hint
    site = outline.html_url or outline.xml_url or ""
    known = match_publisher(site, config, outline.title)
    if known is None and outline.html_url and outline.xml_url:
        known = match_publisher(outline.xml_url, config, outline.title)
    if known:
        return known
    domain = extract_domain(site) or site
    if domain not in new_by_site:
        taken = set(config.publishers) | set(plan.publishers)
        key = unique_key(new_publisher_key(site, config), taken)
        new_by_site[domain] = key
        plan.publishers[key] = {"name": extract_domain(site) or outline.title or key}
    return new_by_site[domain]


# -- export ---------------------------------------------------------------------------------------


def write_opml(config: Config, now: datetime, title: str = "monitor sources") -> bytes:
    """OPML 2.0 of every source: feeds as ``rss`` outlines, listings as ``link`` outlines."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now)
    etree.SubElement(head, "docs").text = "https://opml.org/spec2.opml"
    body = etree.SubElement(root, "body")
    for source in config.sources:
        categories = [f"{CATEGORY}/kind/{source.kind}", f"{CATEGORY}/publisher/{source.publisher}"]
        if not source.enabled:
            categories.append(f"{CATEGORY}/disabled")
        attributes = {"text": source.name, "title": source.name}
        if source.kind == "rss":
            attributes |= {"type": "rss", "xmlUrl": source.url}
        else:
            attributes |= {"type": "link", "url": source.url, "htmlUrl": source.url}
        if source.language != "en":
            attributes["language"] = source.language
        attributes["category"] = ",".join(categories)
        etree.SubElement(body, "outline", attributes)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
