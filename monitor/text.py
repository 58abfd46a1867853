"""Plain text from untrusted HTML snippets, and short extractive summaries. Pure; no I/O."""

from __future__ import annotations

import re
import warnings

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

_SPACE = re.compile(r"\s+")
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(markup, "lxml")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    return clean(soup.get_text(" "))


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
