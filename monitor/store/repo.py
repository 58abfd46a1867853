"""The repository: the only code that opens database sessions.

Methods take and return plain values (``monitor.items``), never ORM rows, so callers stay free of
SQLAlchemy. Writes that may race with another instance rely on unique keys, not on locks of ours.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime

from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.config import Publisher
from monitor.errors import StoreError
from monitor.items import Classification, Entry, Mention, StoredItem
from monitor.store.db import make_engine, upgrade
from monitor.store.drafts import ZhDraftStore
from monitor.store.feedback import FeedbackStore
from monitor.store.flashes import FlashStore, Matcher, move_flashes, queue_flashes
from monitor.store.models import (
    DigestRow,
    ItemRow,
    ItemSourceRow,
    SourceRow,
)
from monitor.store.saving import SaveResult, save_batch, url_key
from monitor.store.sources import SourceStateStore
from monitor.store.stories import StoryMemory
from monitor.stories.features import Profile
from monitor.stories.match import StoryMatch

log = logging.getLogger(__name__)


class Store(SourceStateStore, ZhDraftStore, FeedbackStore, FlashStore):
    def __init__(
        self,
        url: str,
        *,
        migrate: bool = True,
        publishers: Mapping[str, Publisher] | None = None,
    ) -> None:
        self.url = url
        self.stories = StoryMemory(publishers)
        self.flash_matcher: Matcher | None = None  # the profiles' alert rules (set by the App)
        self.engine: Engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self.upgrade()

    def upgrade(self) -> None:
        try:
            upgrade(self.engine)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot migrate the database: {e}") from e

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except SQLAlchemyError as e:
            session.rollback()
            raise StoreError(str(e)) from e
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    # -- sources --------------------------------------------------------------------------------

    def save_entries(
        self,
        entries: list[tuple[Entry, Classification]],
        now: datetime,
        features: Sequence[Profile | None] | None = None,
    ) -> SaveResult:
        """Insert new items, update changed ones, link every item to the source it came from;
        new items join the story the story index finds for them (``saving.py``), from their
        story ``features`` when a worker computed them. The news alerts the new items raise
        are queued in the same transaction (``monitor.store.flashes``)."""
        dialect = self.engine.dialect.name
        matcher = self.flash_matcher
        with self.session() as s:
            result, born, merged = save_batch(s, dialect, entries, now, self.stories, features)
            if merged:
                move_flashes(s, merged)
            if matcher is not None and born:
                queue_flashes(s, dialect, matcher, born, entries, now)
        if merged:  # committed: the index may learn them
            self.stories.merge(merged)
        for item_id, story_id, entry, known in born:
            self.stories.remember(item_id, story_id, entry, known)
        return result

    def prepare_stories(self) -> None:
        """Get the story index ready for storing (see ``StoryMemory.prepare``)."""
        with self.session() as s:
            self.stories.prepare(s)

    def stories_of(self, entries: list[Entry]) -> list[tuple[int | None, int | None]]:
        """For each entry: (its item id, its story id) when stored; else (None, the story it
        would join, or None for a story of its own). Stores nothing."""
        keys = [url_key(e.canonical_url) for e in entries]
        with self.session() as s:
            stored = {
                key: (item_id, story_id or item_id)
                for item_id, key, story_id in s.execute(
                    select(ItemRow.id, ItemRow.url_key, ItemRow.story_id).where(
                        ItemRow.url_key.in_(keys)
                    )
                )
            }
            self.stories.catch_up(s)
        return [
            stored.get(key) or (None, _story_id(self.stories.story_of(-n, entry)))
            for n, (key, entry) in enumerate(zip(keys, entries, strict=True), start=1)
        ]

    def items_in_period(
        self, first: date, last: date, start: datetime, end: datetime
    ) -> list[StoredItem]:
        """Items published between ``first`` and ``last`` (dates, inclusive), or, lacking a
        publication date, first seen in [``start``, ``end``)."""
        with self.session() as s:
            rows = s.scalars(
                select(ItemRow).where(
                    or_(
                        ItemRow.published_date.between(first, last),
                        (ItemRow.published_date.is_(None))
                        & (ItemRow.first_seen_at >= start)
                        & (ItemRow.first_seen_at < end),
                    )
                )
            ).all()
            return self._stored(s, rows)

    def items_by_story(self, story_ids: Iterable[int]) -> list[StoredItem]:
        ids = list(set(story_ids))
        if not ids:
            return []
        with self.session() as s:
            rows = s.scalars(select(ItemRow).where(ItemRow.story_id.in_(ids))).all()
            return self._stored(s, rows)

    def _stored(self, s: Session, rows: Iterable[ItemRow]) -> list[StoredItem]:
        rows = list(rows)
        mentions: dict[int, list[Mention]] = {}
        if rows:
            links = s.execute(
                select(
                    ItemSourceRow.item_id,
                    ItemSourceRow.source_id,
                    ItemSourceRow.url,
                    SourceRow.publisher,
                )
                .join(SourceRow, SourceRow.id == ItemSourceRow.source_id, isouter=True)
                .where(ItemSourceRow.item_id.in_([r.id for r in rows]))
                .order_by(ItemSourceRow.source_id)
            ).all()
            for item_id, source_id, url, publisher in links:
                mentions.setdefault(item_id, []).append(Mention(source_id, publisher or "", url))
        return [_stored_item(r, mentions.get(r.id, [])) for r in rows]

    def item(self, item_id: int) -> StoredItem | None:
        with self.session() as s:
            row = s.get(ItemRow, item_id)
            return self._stored(s, [row])[0] if row else None

    def date_item(self, item_id: int, day: date) -> None:
        """An editor's publication date for an item (the review desk): it replaces any other."""
        with self.session() as s:
            row = s.get(ItemRow, item_id)
            if row is not None:
                row.published_date, row.date_source, row.date_note = day, "editor", None

    # -- digests --------------------------------------------------------------------------------

    def record_digest(
        self,
        week: str,
        profile: str,
        item_count: int,
        content_hash: str,
        files: list[str],
        now: datetime,
    ) -> None:
        """Record (or refresh) the digest of a week and profile; safe when two instances draft
        the same digest at once (the unique key decides, the loser updates)."""
        with self.session() as s:
            query = select(DigestRow).where(DigestRow.week == week, DigestRow.profile == profile)
            row = s.scalars(query).first()
            if row is None:
                try:
                    with s.begin_nested():
                        row = DigestRow(
                            week=week,
                            profile=profile,
                            created_at=now,
                            item_count=item_count,
                            content_hash=content_hash,
                            files=files,
                        )
                        s.add(row)
                    return
                except IntegrityError:
                    row = s.scalars(query).one()
            row.created_at, row.item_count = now, item_count
            row.content_hash, row.files = content_hash, files


def _stored_item(row: ItemRow, mentions: list[Mention]) -> StoredItem:
    return StoredItem(
        id=row.id,
        url=row.url,
        title=row.title,
        summary=row.summary,
        text=row.text,
        language=row.language,
        publisher=row.publisher,
        published_at=row.published_at,
        published_date=row.published_date,
        date_source=row.date_source,
        first_seen_at=row.first_seen_at,
        story_id=row.story_id,
        relevant=row.relevant,
        score=row.score,
        section=row.section,
        topics=tuple(row.topics or ()),
        why=tuple(row.why or ()),
        mentions=tuple(mentions),
    )


def _story_id(found: StoryMatch | None) -> int | None:
    return found.story_id if found else None
