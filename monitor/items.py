"""Value types that flow through the pipeline. Pure; no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

DateSource = Literal["feed", "listing", "article", "first_seen", "editor"]  # editor: the desk


@dataclass(frozen=True)
class RawItem:
    """One entry as a source kind found it, before normalisation."""

    title: str
    url: str
    guid: str | None = None
    summary: str = ""
    published: datetime | None = None
    date_only: bool = False
    date_text: str | None = None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParseResult:
    """The items of one response, and notes for maintainers (e.g. selectors matching nothing)."""

    items: list[RawItem]
    warnings: list[str] = field(default_factory=list)
    title: str | None = None


@dataclass(frozen=True)
class Entry:
    """A normalised item from one source, ready to classify and store."""

    source_id: str
    publisher: str
    canonical_url: str
    url: str
    guid: str | None
    title: str
    summary: str
    published_at: datetime | None
    published_date: date | None
    date_source: DateSource
    date_note: str | None
    language: str
    text: str | None = None
    section_hint: str | None = None
    article_checked: bool = False
    match_guid: bool = False  # the source changes URLs: a GUID seen before is the same item


@dataclass(frozen=True)
class Classification:
    """What the classifier decided about an item, and why."""

    relevant: bool
    score: float
    topics: tuple[str, ...]
    section: str
    why: tuple[str, ...]
    version: str = ""


@dataclass(frozen=True)
class Mention:
    """Where an item was seen: a source, and that source's publisher."""

    source_id: str
    publisher: str
    url: str


@dataclass(frozen=True)
class StoredItem:
    """An item as the digest sees it."""

    id: int
    url: str
    title: str
    summary: str
    text: str | None
    language: str
    publisher: str
    published_at: datetime | None
    published_date: date | None
    date_source: str
    first_seen_at: datetime
    story_id: int | None
    relevant: bool
    score: float
    section: str
    topics: tuple[str, ...]
    why: tuple[str, ...]
    mentions: tuple[Mention, ...] = ()
    pinned: str | None = None  # the section the editors put it in (feature, strategy, ...)
