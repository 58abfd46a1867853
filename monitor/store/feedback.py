"""Editors' corrections in the database: verdicts on items (``monitor feedback``, and the labels
``monitor learn`` takes from a published issue), the entries each draft showed, the issues
learned, and the reclassification of stored items after training.

A mixin of ``Store`` (which provides ``session()`` and ``_stored``); methods take and return
plain values. A verdict holds for the item's whole story (one announcement, several sources),
unless another member has a verdict of its own. An explicit verdict (``weak=False``) always
wins over a weak one (an entry the editors dropped from a draft); among verdicts of the same
strength the latest wins.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.classify.dataset import Example
from monitor.errors import StoreError
from monitor.items import Classification, StoredItem
from monitor.store.models import DigestRow, FeedbackRow, ItemRow, LearnedIssueRow
from monitor.store.saving import CHUNK, decision_values


@dataclass(frozen=True)
class Correction:
    """What the editors said about an item (or its story): None where they said nothing."""

    relevant: bool | None
    section: str | None
    weak: bool = False  # only a weak label (dropped from a published issue)

    def apply(self, item: StoredItem) -> StoredItem:
        from dataclasses import replace

        relevant = item.relevant if self.relevant is None else self.relevant
        if self.section is None:
            return replace(item, relevant=relevant)
        section = "strategy" if self.section == "feature" else self.section
        return replace(item, relevant=relevant, section=section, pinned=self.section)


_Verdicts = dict[int, dict[str, tuple[str, bool]]]  # item → kind → (value, weak)


class FeedbackStore:
    """Verdicts, draft entries, learned issues (a mixin of ``Store``)."""

    def session(self) -> AbstractContextManager[Session]:  # provided by Store
        raise NotImplementedError

    def _stored(self, s: Session, rows: Iterable[ItemRow]) -> list[StoredItem]:  # by Store
        raise NotImplementedError

    def add_feedback(
        self,
        item_id: int,
        verdict: str,
        now: datetime,
        *,
        origin: str = "editor",
        weak: bool = False,
    ) -> None:
        with self.session() as s:
            s.add(
                FeedbackRow(
                    item_id=item_id, verdict=verdict, created_at=now, origin=origin, weak=weak
                )
            )

    def add_verdicts(
        self, verdicts: Sequence[tuple[int, str, bool]], now: datetime, origin: str
    ) -> None:
        """Several (item id, verdict, weak) at once, in one transaction."""
        with self.session() as s:
            s.add_all(
                FeedbackRow(item_id=i, verdict=v, created_at=now, origin=origin, weak=w)
                for i, v, w in verdicts
            )

    def corrections(self, item_ids: Collection[int] | None = None) -> dict[int, Correction]:
        """The editors' verdict on each item (of ``item_ids``, else every judged item), its
        story's when it has none of its own."""
        with self.session() as s:
            verdicts = self._spread(s, self._verdicts(s))
        wanted = (
            verdicts if item_ids is None else {i: verdicts[i] for i in item_ids if i in verdicts}
        )
        out = {}
        for item_id, given in wanted.items():
            label = given.get("label")
            section = given.get("section")
            out[item_id] = Correction(
                relevant=None if label is None else label[0] == "relevant",
                section=section[0] if section else None,
                weak=all(v[1] for v in given.values()),
            )
        return out

    def feedback_examples(self, hints: dict[str, str | None] | None = None) -> list[Example]:
        """One labeled example per item with a verdict, and per other member of its story."""
        hints = hints or {}
        with self.session() as s:
            verdicts = self._spread(s, self._verdicts(s))
            examples = []
            rows = [
                row
                for start in range(0, len(verdicts), CHUNK)
                for row in s.scalars(
                    select(ItemRow).where(ItemRow.id.in_(list(verdicts)[start : start + CHUNK]))
                )
            ]
            for item in self._stored(s, rows):
                given = verdicts[item.id]
                label = given.get("label", ("relevant", False))[0]
                source = item.mentions[0].source_id if item.mentions else ""
                examples.append(
                    Example(
                        title=item.title,
                        summary=item.summary,
                        publisher=item.publisher,
                        label="1" if label == "relevant" else "0",
                        section=_trainable(given["section"][0])
                        if "section" in given
                        else item.section,
                        date=str(item.published_date or item.first_seen_at.date()),
                        url=item.url,
                        section_hint=hints.get(source),
                        origin="feedback",
                    )
                )
            return examples

    def _verdicts(self, s: Session) -> _Verdicts:
        rows = s.execute(
            select(FeedbackRow.item_id, FeedbackRow.verdict, FeedbackRow.weak).order_by(
                FeedbackRow.id
            )
        ).all()
        verdicts: _Verdicts = {}
        for item_id, verdict, weak in rows:
            kind = "section" if verdict.startswith("section=") else "label"
            value = verdict.removeprefix("section=")
            given = verdicts.setdefault(item_id, {})
            if weak and kind in given and not given[kind][1]:
                continue  # an explicit verdict is not undone by a weak one
            given[kind] = (value, bool(weak))
        return verdicts

    def _spread(self, s: Session, verdicts: _Verdicts) -> _Verdicts:
        """The verdicts of each judged item for the other members of its story too."""
        if not verdicts:
            return {}
        story = func.coalesce(ItemRow.story_id, ItemRow.id)
        judged: dict[int, int] = {}
        ids = list(verdicts)
        for start in range(0, len(ids), CHUNK):
            judged.update(
                (item_id, story_id)
                for item_id, story_id in s.execute(
                    select(ItemRow.id, story).where(ItemRow.id.in_(ids[start : start + CHUNK]))
                )
            )
        by_story: _Verdicts = {}
        for item_id, story_id in judged.items():
            by_story.setdefault(story_id, {}).update(verdicts[item_id])
        stories = list(by_story)
        spread = dict(verdicts)
        for start in range(0, len(stories), CHUNK):
            for item_id, story_id in s.execute(
                select(ItemRow.id, story).where(story.in_(stories[start : start + CHUNK]))
            ):
                spread.setdefault(item_id, by_story[story_id])
        return spread

    # -- drafts the editors saw -----------------------------------------------------------------

    def record_digest_items(self, week: str, profile: str, item_ids: Sequence[int]) -> None:
        with self.session() as s:
            s.execute(
                update(DigestRow)
                .where(DigestRow.week == week, DigestRow.profile == profile)
                .values(item_ids=list(item_ids))
            )

    def digest_items(self, week: str, profile: str) -> list[int] | None:
        """The entries of the draft of ``week`` and ``profile`` last made (None: no draft)."""
        with self.session() as s:
            found = s.execute(
                select(DigestRow.item_ids).where(
                    DigestRow.week == week, DigestRow.profile == profile
                )
            ).first()
        return None if found is None else list(found[0] or [])

    # -- issues learned -------------------------------------------------------------------------

    def learned(self, key: str) -> dict[str, Any] | None:
        """The report of an issue learned before (by its key), or None."""
        with self.session() as s:
            row = s.scalars(select(LearnedIssueRow).where(LearnedIssueRow.key == key)).first()
            return None if row is None else dict(row.report)

    def record_learned(
        self,
        key: str,
        name: str,
        week: str,
        profile: str,
        report: dict[str, Any],
        verdicts: Sequence[tuple[int, str, bool]],
        now: datetime,
    ) -> bool:
        """Record an issue and its verdicts in one transaction; False when it was learned
        already (another run was first: nothing is added twice)."""
        try:
            with self.session() as s:
                s.add(
                    LearnedIssueRow(
                        key=key,
                        name=name,
                        week=week,
                        profile=profile,
                        created_at=now,
                        report=report,
                    )
                )
                s.flush()
                s.add_all(
                    FeedbackRow(
                        item_id=i, verdict=v, created_at=now, origin=f"learn:{key[:16]}", weak=w
                    )
                    for i, v, w in verdicts
                )
        except StoreError as e:
            if isinstance(e.__cause__, IntegrityError):
                return False  # learned already (perhaps by another instance just now)
            raise
        return True

    # -- reclassification -----------------------------------------------------------------------

    def update_decisions(self, decisions: Sequence[tuple[int, Classification]]) -> int:
        """Store new decisions of the classifier for these items; returns how many changed."""
        changed = 0
        with self.session() as s:
            for item_id, decision in decisions:
                row = s.get(ItemRow, item_id)
                if row is None:
                    continue
                values = decision_values(decision)
                if any(
                    getattr(row, k) != v for k, v in values.items() if k != "classifier_version"
                ):
                    changed += 1
                for name, value in values.items():
                    setattr(row, name, value)
        return changed


def _trainable(section: str) -> str:
    """The classifier's section of an editor's: 专题 items are strategy documents."""
    return "strategy" if section == "feature" else section
