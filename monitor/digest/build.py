"""Draft a week's digest from the database: select, render, write, record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from monitor.config import Config
from monitor.digest.outages import outages
from monitor.digest.render import content_hash, render, write_digest
from monitor.digest.select import Entry, Selection, select
from monitor.digest.view import DigestView, build_view
from monitor.digest.week import Week
from monitor.drafting.zh import EntryInput, ZhDraft, zh_entries
from monitor.items import StoredItem
from monitor.settings import Settings
from monitor.store import Store
from monitor.store.health import HealthStore


@dataclass(frozen=True)
class Drafted:
    week: Week
    profile: str
    selection: Selection
    rendered: dict[str, str]
    paths: list[Path]
    content_hash: str
    word: bytes | None = None  # the .docx, when the profile or the command asks for it


@dataclass(frozen=True)
class Composed:
    """A week's digest before rendering: what ``draft`` writes and the review desk shows."""

    selection: Selection
    view: DigestView
    items: dict[int, StoredItem]  # the week's items and their stories', as the editors said


def compose(
    store: Store,
    config: Config,
    week: Week,
    profile: str,
    now: datetime,
    *,
    settings: Settings | None = None,
) -> Composed:
    """Select ``week`` for ``profile`` (the editors' corrections applied) and build its view,
    each entry's Chinese text the editor's, else the model's, else the skeleton. Writes no file
    (a model draft made on the way is stored, as ``zh_entries`` does)."""
    items = store.items_in_period(week.first, week.last, week.start, week.end)
    stories = {i.story_id for i in items if i.story_id is not None}
    by_id = {i.id: i for i in items}
    for member in store.items_by_story(stories):
        by_id.setdefault(member.id, member)
    for item_id, correction in store.corrections(by_id).items():  # the editors' word wins
        by_id[item_id] = correction.apply(by_id[item_id])
    profile_config = config.digest.profiles[profile]
    selection = select(
        sorted(by_id.values(), key=lambda i: i.id), week, profile, profile_config, config.publishers
    )
    weeks = store.source_weeks(week.start, week.end)
    incidents = [(i.source_id, i.kind) for i in HealthStore(store).incidents()]
    reported = outages(config.sources, weeks, incidents, config)
    drafts = _zh_drafts(store, config, selection, profile_config.layout, now, settings)
    shown = {e.item.story_id or e.item.id for s in selection.sections for e in s.entries}
    alerted = store.flashed_stories(profile, shown)
    view = build_view(selection, config, drafts=drafts, outages=reported, alerted=alerted)
    return Composed(selection, view, by_id)


def draft(
    store: Store,
    config: Config,
    week: Week,
    profile: str,
    directory: Path,
    now: datetime,
    *,
    word: bool = False,
    settings: Settings | None = None,
) -> Drafted:
    """Select, render and write ``week`` for ``profile``; as Word too with ``word`` or the
    profile's ``word: true``."""
    composed = compose(store, config, week, profile, now, settings=settings)
    selection, view = composed.selection, composed.view
    profile_config = config.digest.profiles[profile]
    rendered = render(view, profile_config.layout)
    paths = write_digest(rendered, directory, week.label, profile)
    document = None
    if word or profile_config.word:
        from monitor.digest.docx import render_docx, write_docx

        document = render_docx(view, profile_config.layout, issue=week.number)
        paths.append(write_docx(document, directory, week.label, profile))
    digest_hash = content_hash(rendered)
    store.record_digest(
        week.label, profile, selection.count, digest_hash, [p.name for p in paths], now
    )
    store.record_digest_items(
        week.label, profile, [e.item.id for s in selection.sections for e in s.entries]
    )
    return Drafted(week, profile, selection, rendered, paths, digest_hash, document)


def _zh_drafts(
    store: Store,
    config: Config,
    selection: Selection,
    layout: str,
    now: datetime,
    settings: Settings | None,
) -> dict[int, ZhDraft]:
    """Each entry's Chinese headline and lead by item id: the editor's own text (kept for the
    entry's item or another member of its story) always; else a model's draft when a model is
    configured (never asked for an edited entry); entries missing here get the skeleton."""
    entries = [e for s in selection.sections for e in s.entries]
    edited = editor_drafts(store, entries)
    drafts: dict[int, ZhDraft] = {}
    if settings is not None and settings.llm.configured:
        todo = [_entry_input(e) for e in entries if e.item.id not in edited]
        drafts = zh_entries(store, settings, config, todo, selection.week.label, layout, now)
    return drafts | edited


def editor_drafts(store: Store, entries: Sequence[Entry]) -> dict[int, ZhDraft]:
    """The editors' own headline and lead of each entry that has one, by its item id."""
    members = {e.item.id: [e.item.id, *(r.id for r in e.related)] for e in entries}
    edits = store.zh_edits([i for ids in members.values() for i in ids])
    found = {}
    for item_id, ids in members.items():
        edit = next((edits[i] for i in ids if i in edits), None)
        if edit is not None:
            found[item_id] = ZhDraft(edit.headline, edit.lead, "editor")
    return found


def _entry_input(entry: Entry) -> EntryInput:
    item = entry.item
    return EntryInput(
        item_id=item.id,
        title=item.title,
        summary=item.summary,
        text=item.text or "",
        publisher=item.publisher,
        day=entry.day,
        dated=not entry.dated_by_first_seen,
    )
