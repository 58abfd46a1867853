"""Chinese drafts a language model wrote: looked up per item, prompt version and model, saved
once (accepted or rejected), and counted per digest week (the weekly cap on model calls).

An editor's own headline and lead (the review desk) live in the same table under the prompt
version ``EDITED``: one row per item, replaced when edited again, never by a model's draft, and
not counted against the model's weekly cap.

A mixin of ``Store`` (which provides ``session()`` and ``engine``); the methods take and return
plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.errors import StoreError
from monitor.store.models import ZhDraftRow
from monitor.store.saving import CHUNK, insert_ignore

EDITED = "editor"  # the prompt version of an editor's text (no model prompt is ever called so)


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
            query = (
                select(func.count())
                .select_from(ZhDraftRow)
                .where(ZhDraftRow.week == week, ZhDraftRow.prompt_version != EDITED)
            )
            return int(s.scalar(query) or 0)

    # -- the editors' own text ------------------------------------------------------------------

    def zh_edits(self, item_ids: Sequence[int]) -> dict[int, StoredZhDraft]:
        """The headline and lead an editor wrote for each of ``item_ids`` that has one."""
        return self.zh_drafts(item_ids, EDITED, EDITED)

    def save_zh_edit(
        self, item_id: int, week: str, headline: str, lead: str, now: datetime
    ) -> None:
        """Keep an editor's headline and lead for an item, replacing an earlier edit (the unique
        key allows one per item); a model's draft never replaces it."""
        values = {"week": week, "headline": headline, "lead": lead, "created_at": now}
        for _ in range(2):  # a concurrent first edit of the same item: update it instead
            try:
                with self.session() as s:
                    row = s.scalars(
                        select(ZhDraftRow).where(
                            ZhDraftRow.item_id == item_id, ZhDraftRow.prompt_version == EDITED
                        )
                    ).first()
                    if row is None:
                        row = ZhDraftRow(
                            item_id=item_id, prompt_version=EDITED, model=EDITED, accepted=True
                        )
                        s.add(row)
                    for name, value in values.items():
                        setattr(row, name, value)
                return
            except StoreError as e:
                if not isinstance(e.__cause__, IntegrityError):
                    raise
        raise StoreError(f"cannot keep the edit of item {item_id}")


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
