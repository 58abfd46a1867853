"""Pipeline entries as the story grouping sees them. Pure; no I/O."""

from __future__ import annotations

from monitor.items import Entry
from monitor.stories.match import StoryDoc

TEXT_CHARS = 3000  # of an article's text, enough to tell stories apart


def doc_of(item_id: int, entry: Entry) -> StoryDoc:
    return StoryDoc(
        item_id=item_id,
        source_id=entry.source_id,
        publisher=entry.publisher,
        title=entry.title,
        summary=entry.summary,
        text=(entry.text or "")[:TEXT_CHARS],
        language=entry.language,
        published=entry.published_date,
    )
