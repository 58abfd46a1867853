"""Plain text and links from untrusted HTML snippets, and short extractive summaries.
Pure; no I/O."""

from __future__ import annotations

import re
import warnings
from urllib.parse import urljoin, urlsplit

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST = re.compile(r"[\w.:%-]+")  # a host name, IDN or IP address: no spaces, quotes, brackets
# Sentence ends in English and Chinese; keeps the punctuation with the sentence.
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"“‘(A-Z0-9])|(?<=[。！？；])")


def clean(text: str | None) -> str:
    """Collapse whitespace (including newlines inside titles) and strip."""
    return _SPACE.sub(" ", text or "").strip()


def html_to_text(markup: str | None) -> str:
    """Visible text of an HTML fragment; scripts and styles dropped. Plain text passes through."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return clean(markup)
    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning  # (imported when used)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(markup, "lxml")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    return clean(soup.get_text(" "))


def http_url(link: str, base: str) -> str | None:
    """``link`` resolved against ``base`` if that gives an http(s) URL with a host, else None:
    ``javascript:``, ``data:``, ``mailto:``, ``file:``, ``ftp:``, a scheme without a host
    (``http:/x``), a first path segment with a colon (``ht!tp:x``, not a URL), bad hosts or ports.
    """
    link = clean(link)
    if not link or _CONTROL.search(link):
        return None
    try:
        own = urlsplit(link)
        url = urljoin(base, link)
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError:
        return None
    if (own.scheme and not own.netloc) or (not own.scheme and ":" in _first_segment(link)):
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url if _HOST.fullmatch(parts.hostname) else None


def _first_segment(link: str) -> str:
    return re.split(r"[/?#]", link, maxsplit=1)[0]


def truncate(text: str, limit: int) -> str:
    """Cut at a word boundary near ``limit`` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(clean(text)) if s and s.strip()]


def lead(text: str, limit: int = 320) -> str:
    """The first sentences of ``text`` within ``limit`` characters (at least one, truncated)."""
    out = ""
    for sentence in sentences(text):
        candidate = f"{out} {sentence}".strip()
        if len(candidate) > limit:
            break
        out = candidate
    return out or truncate(clean(text), limit)


def strip_heading(text: str, *headings: str | None) -> str:
    """``text`` without a leading copy of one of ``headings`` (article extractors often keep
    the page's heading, glued to the body: "Graphene membrane pilot plant A pilot plant ...")."""
    for heading in sorted((h for h in headings if h), key=len, reverse=True):
        words = [re.escape(w) for w in clean(heading).split()]
        if not words:
            continue
        found = re.match(r"\s*" + r"\s+".join(words) + r"[\s.:|\-–—]*", text, re.IGNORECASE)
        if found and found.end() < len(text):
            return text[found.end() :]
    return text
