"""Raw items → entries: canonical URL, clean text, the publication date and where it came from.
Pure; no I/O; ``now`` is passed in."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from monitor.config import SourceConfig
from monitor.dates import is_future, local_date
from monitor.dedup import canonical_url, clean_link
from monitor.extract import Article
from monitor.items import Entry, RawItem
from monitor.text import clean, strip_heading, truncate

MAX_TITLE = 500
MAX_SUMMARY = 1200


def normalise(raw: RawItem, source: SourceConfig, now: datetime) -> Entry:
    raw = _date_from_url(raw, source)
    published, note = raw.published, None
    if published is not None and is_future(published, now):
        note = f"the source gives a future date ({raw.date_text}); ignored"
        published = None
    elif published is None and raw.date_text:
        note = f"the source's date {raw.date_text!r} could not be read"
    return Entry(
        source_id=source.id,
        publisher=source.publisher,
        canonical_url=canonical_url(raw.url),
        url=clean_link(raw.url),
        guid=raw.guid,
        title=truncate(clean(raw.title), MAX_TITLE),
        summary=truncate(clean(raw.summary), MAX_SUMMARY),
        published_at=published,
        published_date=local_date(published, source.timezone, raw.date_only) if published else None,
        date_source=("feed" if source.kind == "rss" else "listing") if published else "first_seen",
        date_note=note,
        language=source.language,
        section_hint=source.section,
        match_guid=source.urls_change,
    )


def _date_from_url(raw: RawItem, source: SourceConfig) -> RawItem:
    """Where a source puts the publication date in its URLs, that date wins over the feed's
    (some feeds give the date of the last change)."""
    if not source.date_in_url:
        return raw
    match = re.search(source.date_in_url, raw.url)
    if not match:
        return raw
    try:
        day = date.fromisoformat(match.group(1))
    except ValueError:
        return raw
    if raw.published is not None and local_date(raw.published, source.timezone) == day:
        return raw
    stated = datetime.combine(day, time(), tzinfo=ZoneInfo(source.timezone))
    return replace(raw, published=stated, date_only=True, date_text=match.group(1))


def with_article(entry: Entry, article: Article | None) -> Entry:
    """Add what the article page told us: its text, and its date when the listing had none."""
    if article is None:
        return replace(entry, article_checked=True)
    text = strip_heading(article.text, entry.title, article.title) if article.text else ""
    entry = replace(entry, text=text or entry.text, article_checked=True)
    if entry.published_date is None and article.published is not None:
        entry = replace(entry, published_date=article.published, date_source="article")
    return entry
