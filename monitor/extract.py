"""Article page → main text, publication date, language (trafilatura, htmldate). Pure; no I/O.

The libraries are imported on first use: they are large, and an idle service never needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from monitor.text import clean

MAX_TEXT = 20_000


@dataclass(frozen=True)
class Article:
    text: str
    published: date | None
    language: str | None
    title: str | None


def extract_article(content: bytes | str, url: str, now: datetime) -> Article:
    """Main text and the page's original publication date (never later than ``now``)."""
    import trafilatura
    from htmldate import find_date

    document = trafilatura.bare_extraction(
        content, url=url, with_metadata=True, include_comments=False, favor_precision=True
    )
    text = clean(getattr(document, "text", None) or "")[:MAX_TEXT]
    found = find_date(
        content,
        original_date=True,
        extensive_search=False,
        url=url,
        max_date=now.strftime("%Y-%m-%d"),
    )
    return Article(
        text=text,
        published=date.fromisoformat(found) if found else None,
        language=getattr(document, "language", None),
        title=clean(getattr(document, "title", None) or "") or None,
    )
