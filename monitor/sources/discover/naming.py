"""The publisher and id of a new source: from the glossary when the host is known. Pure."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from courlan import extract_domain

from monitor.config import SLUG, Config
from monitor.sources.discover.page import Page
from monitor.text import clean

_NOT_A_SEGMENT = {"feed", "rss", "atom", "index", "home", "default", "en", "zh", "www"}


def choose_publisher(
    url: str, config: Config, page: Page | None = None, given: str | None = None
) -> tuple[str, dict[str, dict[str, str]]]:
    """The publisher key for a page at ``url``: ``given``, else the glossary's when the host is
    known, else a new key; with the glossary entry to add for a key not in the glossary."""
    key = given or match_publisher(url, config, page.site_name or page.title if page else "")
    if key and key in config.publishers:
        return key, {}
    key = key or new_publisher_key(url, config)
    name = (page.site_name if page else "") or extract_domain(url) or urlsplit(url).hostname or key
    return key, {key: {"name": name}}


def match_publisher(url: str, config: Config, site_name: str = "") -> str | None:
    """The publisher of a page at ``url`` from what the configuration knows: a source on the
    same site (the host sharing the most labels wins; a parent host beats a sibling), else a
    publisher whose key or abbreviation is a label of the host, else one whose name the site
    gives (``og:site_name``). None when unknown or ambiguous."""
    host = _host(url)
    if not host:
        return None
    domain = extract_domain(url) or host
    scores: dict[str, tuple[int, bool]] = {}
    for source in config.sources:
        other = _host(source.url)
        if other and (extract_domain(source.url) or other) == domain:
            score = (_shared_labels(host, other), host == other or host.endswith("." + other))
            scores[source.publisher] = max(scores.get(source.publisher, score), score)
    if scores:
        best = max(scores.values())
        winners = [p for p, s in scores.items() if s == best]
        if len(winners) == 1:
            return winners[0]
    labels = set(host.split("."))
    for key, publisher in config.publishers.items():
        names = {key, _alnum(publisher.abbr or "")}
        if labels & {n for n in names if n}:
            return key
    site = clean(site_name).casefold()
    named = [k for k, p in config.publishers.items() if site and _names(site, p.name, p.abbr)]
    return named[0] if len(named) == 1 else None


def _names(site: str, name: str, abbr: str | None) -> bool:
    """Whether a site name (og:site_name, else the title) names the publisher: its full name
    within it, or its abbreviation as the whole of it."""
    return (len(name) >= 6 and name.casefold() in site) or bool(abbr and abbr.casefold() == site)


def new_publisher_key(url: str, config: Config) -> str:
    host = _host(url) or "site"
    domain = extract_domain(url)
    key = slug(domain.split(".")[0] if domain else host, 24) or "site"
    return unique_key(key, set(config.publishers))


def source_id_for(publisher: str, page_url: str, taken: set[str]) -> str:
    """``publisher-section`` from the page's path (``purdue-newsroom``), unique in ``taken``."""
    segments = [s for s in urlsplit(page_url).path.split("/") if s]
    words = [slug(re.sub(r"\.[a-z]{2,5}$", "", s), 30) for s in reversed(segments)]
    section = next((w for w in words if w and w not in _NOT_A_SEGMENT and not w.isdigit()), "news")
    sid = section if section.startswith(publisher) else f"{publisher}-{section}"
    return unique_key(slug(sid, 40) or publisher, taken)


def slug(text: str, limit: int = 40) -> str:
    """A lowercase ASCII slug (``SLUG`` in the configuration); empty for text without any
    Latin letter or digit."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    return out if SLUG.match(out) else ""


def unique_key(key: str, taken: set[str]) -> str:
    if key not in taken:
        return key
    number = 2
    while f"{key}-{number}" in taken:
        number += 1
    return f"{key}-{number}"


def _host(url: str) -> str:
    host = (urlsplit(url.strip()).hostname or "").lower()
    return host.removeprefix("www.")


def _shared_labels(a: str, b: str) -> int:
    count = 0
    for x, y in zip(reversed(a.split(".")), reversed(b.split(".")), strict=False):
        if x != y:
            break
        count += 1
    return count


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())
