"""The Chinese headline and lead of each digest entry: a language model's draft when the operator
configured one and it passes the guard, else the offline skeleton.

For each entry, in order: a model draft stored earlier for the item, prompt version and model
(a stored rejection means the skeleton, without asking again); else, while the week's drafts are
under ``MONITOR_LLM_MAX_PER_WEEK`` and the digest's ``MONITOR_LLM_BUDGET`` lasts, a new request,
checked by the guard and stored either way; else the skeleton. Nothing here raises: a failing
model or database costs at most the budget plus one request's timeout, then the skeleton.

An editor's own text (the review desk) wins over all of these: ``monitor.digest.build`` asks
here only for the entries nobody edited.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from monitor.config import Config, Publisher
from monitor.drafting.llm import (
    PROMPT_VERSION,
    TEXT_CHARS,
    BadReplyError,
    ChatClient,
    ChatModel,
    ModelError,
    ModelUnavailableError,
    PromptInput,
    ask,
    check,
    source_text,
)
from monitor.drafting.skeleton import ZhDraft, skeleton
from monitor.errors import StoreError
from monitor.settings import LlmSettings, Settings
from monitor.store.drafts import StoredZhDraft
from monitor.stories.glossary import Glossary

__all__ = ["EntryInput", "ZhDraft", "zh_entries"]

log = logging.getLogger(__name__)
MIN_REQUEST_SECONDS = 1.0  # a request is not started with less of the budget left
MAX_TERMS = 8  # glossary names given to the model per item


@dataclass(frozen=True)
class EntryInput:
    """One digest entry, as the drafting needs it."""

    item_id: int
    title: str
    summary: str
    text: str
    publisher: str  # the publisher's key in sources.yaml
    day: date
    dated: bool  # False: ``day`` is when the item was first seen, not its publication date


class DraftStore(Protocol):
    """The part of ``Store`` used here (``monitor.store.drafts.ZhDraftStore``)."""

    def zh_drafts(
        self, item_ids: Sequence[int], prompt_version: str, model: str
    ) -> dict[int, StoredZhDraft]: ...

    def save_zh_draft(self, draft: StoredZhDraft, now: datetime) -> bool: ...

    def zh_draft_count(self, week: str) -> int: ...


@dataclass
class _Run:
    """The state of one digest's drafting: what is left of the quota and the budget."""

    llm: LlmSettings
    model: str
    week: str
    quota: int
    deadline: float
    clock: Callable[[], float]
    stopped: str = ""  # why no more requests are made
    counts: dict[str, int] = field(default_factory=dict)

    def seconds_left(self) -> float | None:
        """Seconds a new request may take, or None when none may be made."""
        left = self.deadline - self.clock()
        if self.stopped or self.quota <= 0 or left < MIN_REQUEST_SECONDS:
            return None
        return min(self.llm.timeout, left)

    def count(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1


def zh_entries(
    store: DraftStore,
    settings: Settings,
    config: Config,
    entries: Sequence[EntryInput],
    week_label: str,
    layout: str,
    now: datetime,
    client: ChatModel | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> dict[int, ZhDraft]:
    """The Chinese headline and lead of each entry, by item id (see the module docstring).
    ``client`` replaces the one built from ``settings.llm`` (which must still be configured: its
    model names the cached drafts); ``clock`` measures the budget. Never raises but for a
    failing skeleton."""
    started = clock()
    llm = settings.llm
    if not entries or not llm.configured or llm.model is None:
        return {e.item_id: _skeleton(e, config, layout) for e in entries}
    run = _start(store, llm, llm.model, week_label, entries, started, clock)
    if run is None:
        return {e.item_id: _skeleton(e, config, layout) for e in entries}
    cached = _cached(store, llm.model, entries)
    own = client is None
    drafting = _Drafting(store, config, run, now, client)
    try:
        drafts = {
            e.item_id: drafting.draft(e, cached.get(e.item_id)) or _skeleton(e, config, layout)
            for e in entries
        }
    finally:
        if own:
            drafting.close()
    _report(run, len(entries), clock() - started)
    return drafts


def _start(
    store: DraftStore,
    llm: LlmSettings,
    model: str,
    week: str,
    entries: Sequence[EntryInput],
    started: float,
    clock: Callable[[], float],
) -> _Run | None:
    try:
        made = store.zh_draft_count(week)
    except StoreError as e:
        log.warning("zh drafts: cannot read the week's count, skeletons only: %s", e)
        return None
    quota = max(llm.max_per_week - made, 0)
    return _Run(llm, model, week, quota, started + llm.budget, clock)


def _cached(
    store: DraftStore, model: str, entries: Sequence[EntryInput]
) -> dict[int, StoredZhDraft]:
    try:
        return store.zh_drafts([e.item_id for e in entries], PROMPT_VERSION, model)
    except StoreError as e:
        log.warning("zh drafts: cannot read stored drafts: %s", e)
        return {}


class _Drafting:
    """Model drafts for the entries of one digest (the client is made on first need)."""

    def __init__(
        self, store: DraftStore, config: Config, run: _Run, now: datetime, client: ChatModel | None
    ) -> None:
        self.store = store
        self.config = config
        self.run = run
        self.now = now
        self.client = client
        self._own: ChatClient | None = None
        self._glossary: Glossary | None = None

    def close(self) -> None:
        if self._own is not None:
            self._own.close()

    def draft(self, entry: EntryInput, stored: StoredZhDraft | None) -> ZhDraft | None:
        """The model's draft of ``entry``, or None (then the skeleton)."""
        if stored is not None:
            self.run.count("cached" if stored.accepted else "cached_rejected")
            return ZhDraft(stored.headline, stored.lead, "model") if stored.accepted else None
        seconds = self.run.seconds_left()
        if seconds is None:
            self.run.count("skipped")
            return None
        self.run.quota -= 1
        try:
            return self._ask(entry, seconds)
        except Exception:  # never let drafting break the digest
            log.exception("zh draft failed item=%d", entry.item_id)
            self.run.count("failed")
            return None

    def _ask(self, entry: EntryInput, seconds: float) -> ZhDraft | None:
        publisher = self.config.publisher(entry.publisher)
        item = PromptInput(
            entry.title,
            entry.summary,
            entry.text,
            publisher,
            entry.day,
            entry.dated,
            self._terms(entry, publisher),
        )
        try:
            reply = ask(self._client(), item, seconds)
        except ModelUnavailableError as e:
            self.run.stopped = str(e)
            log.warning("zh draft: model unavailable item=%d: %s", entry.item_id, e)
            self.run.count("failed")
            return None
        except BadReplyError as e:
            self._save(entry, "", e.content[:2000], f"bad reply: {e}")
            return None
        except ModelError as e:
            log.warning("zh draft: no draft item=%d: %s", entry.item_id, e)
            self.run.count("failed")
            return None
        source = source_text(entry.title, entry.summary, entry.text)
        reason = check(reply, source=source, publisher=publisher, day=entry.day, dated=entry.dated)
        self._save(entry, reply.headline, reply.lead, reason)
        return None if reason else ZhDraft(reply.headline, reply.lead, "model")

    def _save(self, entry: EntryInput, headline: str, lead: str, reason: str | None) -> None:
        if reason:
            log.warning("zh draft rejected item=%d: %s", entry.item_id, reason)
        self.run.count("rejected" if reason else "accepted")
        row = StoredZhDraft(
            item_id=entry.item_id,
            prompt_version=PROMPT_VERSION,
            model=self.run.model,
            week=self.run.week,
            headline=headline,
            lead=lead,
            accepted=reason is None,
            reason=reason,
        )
        try:
            self.store.save_zh_draft(row, self.now)
        except StoreError as e:
            log.warning("zh draft: cannot store item=%d: %s", entry.item_id, e)

    def _client(self) -> ChatModel:
        if self.client is None:
            llm = self.run.llm
            self._own = ChatClient(
                llm.base_url or "", self.run.model, api_key=llm.api_key, timeout=llm.timeout
            )
            self.client = self._own
        return self.client

    def _terms(self, entry: EntryInput, publisher: Publisher) -> tuple[str, ...]:
        """Standard Chinese names of the organisations the item names (besides its publisher)."""
        if self._glossary is None:
            self._glossary = Glossary.build(self.config.publishers)
        text = "\n".join((entry.title, entry.summary, entry.text[:TEXT_CHARS]))
        keys = sorted(k for k in self._glossary.keys_in(text) if k.startswith("org:"))
        terms = (
            _term(self._glossary, key, self.config.publishers.get(key[4:]))
            for key in keys
            if key != f"org:{entry.publisher}"
        )
        return tuple(t for t in terms if t)[:MAX_TERMS]


def _term(glossary: Glossary, key: str, publisher: Publisher | None) -> str | None:
    """The standard name of an organisation: English name → 中文名（ABBR） for a publisher, the
    known Chinese forms for another organisation of the glossary."""
    if publisher is not None and publisher.name_zh:
        abbr = f"（{publisher.abbr}）" if publisher.abbr else ""
        return f"{publisher.name} → {publisher.name_zh}{abbr}"
    surfaces = glossary.surfaces(key)
    chinese = sorted((s for s in surfaces if _is_cjk(s)), key=lambda s: (-len(s), s))
    english = sorted((s for s in surfaces if not _is_cjk(s)), key=lambda s: (-len(s), s))
    if not chinese or not english:
        return None
    return f"{english[0]} → {'、'.join(chinese[:3])}"


def _is_cjk(text: str) -> bool:
    return any("\u3400" <= c <= "\u9fff" for c in text)


def _skeleton(entry: EntryInput, config: Config, layout: str) -> ZhDraft:
    return skeleton(
        title=entry.title,
        summary=entry.summary,
        publisher=config.publisher(entry.publisher),
        day=entry.day,
        dated=entry.dated,
        layout=layout,
    )


def _report(run: _Run, entries: int, seconds: float) -> None:
    counts = " ".join(f"{k}={v}" for k, v in sorted(run.counts.items()))
    log.info(
        "zh drafts week=%s model=%s entries=%d %s ms=%d%s",
        run.week,
        run.model,
        entries,
        counts,
        seconds * 1000,
        f" stopped={run.stopped!r}" if run.stopped else "",
    )
