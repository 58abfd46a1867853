"""The story index of a running process, kept in step with the database.

``monitor.stories.StoryIndex`` groups items in memory with a flat cost per item. This module
feeds it: on first use with the items of the recent window, then, before each batch is stored,
with the items other instances stored meanwhile (ids above the last one seen), and after each
commit with the new items of this process. Items older than the window are forgotten, so memory
stays bounded however large the store grows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from monitor.config import Publisher
from monitor.items import Entry
from monitor.store.models import ItemRow, ItemSourceRow, StoryMergeRow
from monitor.stories import StoryDoc, StoryIndex
from monitor.stories.entries import TEXT_CHARS, doc_of
from monitor.stories.features import Profile
from monitor.stories.match import StoryMatch, background

log = logging.getLogger(__name__)


class StoryMemory:
    """A ``StoryIndex`` plus the high-water mark of the items it has seen. Thread-safe."""

    def __init__(
        self, publishers: Mapping[str, Publisher] | None = None, *, window_days: int = 14
    ) -> None:
        self.window = timedelta(days=window_days)
        self.index = StoryIndex(publishers, window_days=window_days)
        self.high_water = 0
        self.merge_mark = 0  # the last story merge (``story_merges.id``) applied
        self.loaded = False
        self._forgot_on: date | None = None
        self._lock = threading.RLock()

    def prepare(self, session: Session) -> None:
        """Weigh the background corpus and catch up now (a poll does this while its first
        requests are on the wire), not when the first new item is stored; unless the index
        is still to be loaded from recent items (a round may store nothing: then it is never
        loaded, which takes the features of every recent item)."""
        with self._lock:
            if not self.loaded:
                since = datetime.now(UTC) - self.window - timedelta(days=7)
                recent = select(ItemRow.id).where(ItemRow.first_seen_at >= since).limit(1)
                if session.execute(recent).first() is not None:
                    return
            self.catch_up(session)
        background()

    def catch_up(self, session: Session) -> None:
        """Learn the items stored since the last look (by this or another instance)."""
        with self._lock:
            today = datetime.now(UTC).date()
            merges = select(StoryMergeRow.id, StoryMergeRow.story_id, StoryMergeRow.into_story_id)
            merges = merges.where(StoryMergeRow.id > self.merge_mark).order_by(StoryMergeRow.id)
            if not self.loaded:  # the items read next already carry every merge before now
                last = session.execute(select(func.max(StoryMergeRow.id))).scalar()
                self.merge_mark = int(last or 0)
            query = self._query()
            count = 0
            for row in session.execute(query):
                self._add_row(row)
                count += 1
            if self.loaded:  # merges other instances made (this one's are applied already)
                for mark, story_id, into in session.execute(merges):
                    self.index.merge(into, [story_id])
                    self.merge_mark = mark
            if not self.loaded:
                log.info("story index loaded items=%d", count)
                self.loaded = True
            if self._forgot_on != today:
                self.index.forget_before(today - self.window - timedelta(days=7))
                self._forgot_on = today

    def _query(self) -> Select[Any]:
        source = (
            select(func.min(ItemSourceRow.source_id))
            .where(ItemSourceRow.item_id == ItemRow.id)
            .scalar_subquery()
        )
        query = select(
            ItemRow.id,
            ItemRow.story_id,
            ItemRow.publisher,
            ItemRow.title,
            ItemRow.summary,
            func.substr(ItemRow.text, 1, TEXT_CHARS),
            ItemRow.language,
            ItemRow.published_date,
            source,
        ).order_by(ItemRow.id)
        since = datetime.now(UTC) - self.window - timedelta(days=7)
        query = query.where(ItemRow.first_seen_at >= since)
        return query.where(ItemRow.id > self.high_water) if self.loaded else query

    def _add_row(self, row: Row[Any]) -> None:
        (item_id, story_id, publisher, title, summary, text, language, published, source) = tuple(
            row
        )
        doc = StoryDoc(
            item_id=item_id,
            source_id=source or "",
            publisher=publisher,
            title=title,
            summary=summary or "",
            text=text or "",
            language=language or "en",
            published=published,
        )
        self.index.add(doc, story_id or item_id)
        self.high_water = max(self.high_water, item_id)

    def story_of(
        self, item_id: int, entry: Entry, features: Profile | None = None
    ) -> StoryMatch | None:
        with self._lock:
            return self.index.match(doc_of(item_id, entry), features)

    def merge(self, merged: Mapping[int, int]) -> None:
        """Stories whose members the database moved to another story (story → story)."""
        with self._lock:
            for other, story_id in merged.items():
                self.index.merge(story_id, [other])

    def remember(
        self, item_id: int, story_id: int, entry: Entry, features: Profile | None = None
    ) -> None:
        with self._lock:
            self.index.add(doc_of(item_id, entry), story_id, features)
            self.high_water = max(self.high_water, item_id)
