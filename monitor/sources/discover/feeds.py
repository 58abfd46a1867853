"""The feeds a page names or its software implies; whether a response is a feed. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from courlan import extract_domain
from trafilatura.feeds import FeedParameters, determine_feed

MAX_NAMED = 6  # feeds a page names, tried
MAX_GUESSED = 8  # conventional feed paths tried when the page names none that works
_COMMON_PATHS = ("feed", "rss", "rss.xml", "feed.xml", "atom.xml", "index.xml")
_WORDPRESS = re.compile(r"<meta[^>]+content=[\"']WordPress|/wp-content/|/wp-json/", re.I)
_DRUPAL = re.compile(r"<meta[^>]+content=[\"']Drupal|drupal-settings-json|/sites/default/files/")
_FEED_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF)\b", re.S
)


@dataclass(frozen=True)
class Candidate:
    url: str
    how: str  # "named by the page", "WordPress", "Drupal", "common path"


def feed_candidates(html: str, page_url: str) -> tuple[list[Candidate], list[Candidate]]:
    """The feeds ``html`` names (trafilatura's finder: ``<link rel="alternate">``, else links
    that look like feeds; comment feeds left out), and the conventional paths to guess when
    none of them works, platform conventions first."""
    base = _origin(page_url)
    params = FeedParameters(base, extract_domain(page_url) or "", page_url)
    named = [Candidate(u, "named by the page") for u in determine_feed(html, params)]
    page_dir = page_url.split("?", 1)[0].split("#", 1)[0]
    page_dir = page_dir if page_dir.endswith("/") else page_dir.rsplit("/", 1)[0] + "/"
    guesses: list[Candidate] = []
    if _WORDPRESS.search(html):
        if page_dir != base + "/":
            guesses.append(Candidate(page_dir + "feed/", "WordPress (this section)"))
        guesses += [
            Candidate(base + "/feed/", "WordPress"),
            Candidate(base + "/?feed=rss2", "WordPress"),
        ]
    if _DRUPAL.search(html):
        guesses += [
            Candidate(base + "/rss.xml", "Drupal"),
            Candidate(base + "/node/feed", "Drupal"),
        ]
    if page_dir != base + "/":
        guesses += [
            Candidate(page_dir + p, "common path (this section)") for p in ("feed", "rss.xml")
        ]
    guesses += [Candidate(f"{base}/{p}", "common path") for p in _COMMON_PATHS]
    seen = {page_url, *(c.url for c in named)}
    unique = []
    for candidate in guesses:
        if candidate.url not in seen:
            seen.add(candidate.url)
            unique.append(candidate)
    return named[:MAX_NAMED], unique[:MAX_GUESSED]


def looks_like_feed(content: bytes, content_type: str) -> bool:
    """Whether a response is probably a feed (and worth reading with the ``rss`` kind)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.endswith(("rss+xml", "atom+xml", "rdf+xml")):
        return True
    return bool(_FEED_START.match(content[:2048].lstrip(b"\xef\xbb\xbf")))


def looks_like_url(text: str) -> bool:
    return bool(re.match(r"^https?://[^\s/]+", text.strip(), re.I))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
