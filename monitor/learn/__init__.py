"""Learning from what the editors published: their bulletins read back as entries and citations."""

from __future__ import annotations

from monitor.learn.published import (
    DEFAULT_LABELS,
    KNOWN_LABELS,
    Citation,
    PublishedEntry,
    PublishedError,
    PublishedIssue,
    parse_published,
    read_published,
)

__all__ = [
    "DEFAULT_LABELS",
    "KNOWN_LABELS",
    "Citation",
    "PublishedEntry",
    "PublishedError",
    "PublishedIssue",
    "parse_published",
    "read_published",
]
