"""Chinese drafts a language model wrote: looked up per item, prompt version and model, saved
once (accepted or rejected), and counted per digest week (the weekly cap on model calls).

A mixin of ``Store`` (which provides ``session()`` and ``engine``); the methods take and return
plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from monitor.store.models import ZhDraftRow
from monitor.store.saving import CHUNK, insert_ignore


@dataclass(frozen=True)
class StoredZhDraft:
    item_id: int
    prompt_version: str
    model: str
    week: str
    headline: str
    lead: str
    accepted: bool
    reason: str | None = None
    created_at: datetime | None = None


class ZhDraftStore:
    """Model-written Chinese headlines and leads (a mixin of ``Store``)."""

    engine: Engine

    def session(self) -> AbstractContextManager[Session]:  # provided by Store
        raise NotImplementedError

    def zh_drafts(
        self, item_ids: Sequence[int], prompt_version: str, model: str
    ) -> dict[int, StoredZhDraft]:
        """The stored drafts of ``item_ids`` for this prompt version and model, by item id."""
        ids = sorted(set(item_ids))
        found: dict[int, StoredZhDraft] = {}
        with self.session() as s:
            for start in range(0, len(ids), CHUNK):
                query = select(ZhDraftRow).where(
                    ZhDraftRow.item_id.in_(ids[start : start + CHUNK]),
                    ZhDraftRow.prompt_version == prompt_version,
                    ZhDraftRow.model == model,
                )
                for row in s.scalars(query):
                    found[row.item_id] = _stored(row)
        return found

    def save_zh_draft(self, draft: StoredZhDraft, now: datetime) -> bool:
        """Record a draft; False when one was there already for the item, prompt version and
        model (another instance was quicker: the first one stays)."""
        values = {
            "item_id": draft.item_id,
            "prompt_version": draft.prompt_version,
            "model": draft.model,
            "week": draft.week,
            "headline": draft.headline,
            "lead": draft.lead,
            "accepted": draft.accepted,
            "reason": draft.reason,
            "created_at": now,
        }
        statement = insert_ignore(self.engine.dialect.name, ZhDraftRow.__table__).values(values)
        with self.session() as s:
            result = s.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    def zh_draft_count(self, week: str) -> int:
        """How many drafts (accepted or rejected) the model wrote for the digest of ``week``."""
        with self.session() as s:
            query = select(func.count()).select_from(ZhDraftRow).where(ZhDraftRow.week == week)
            return int(s.scalar(query) or 0)


def _stored(row: ZhDraftRow) -> StoredZhDraft:
    return StoredZhDraft(
        item_id=row.item_id,
        prompt_version=row.prompt_version,
        model=row.model,
        week=row.week,
        headline=row.headline,
        lead=row.lead,
        accepted=row.accepted,
        reason=row.reason,
        created_at=row.created_at,
    )
