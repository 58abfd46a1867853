"""Draft a week's digest from the database: select, render, write, record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from monitor.config import Config
from monitor.digest.render import content_hash, render, write_digest
from monitor.digest.select import Selection, select
from monitor.digest.view import build_view
from monitor.digest.week import Week
from monitor.store import Store


@dataclass(frozen=True)
class Drafted:
    week: Week
    profile: str
    selection: Selection
    rendered: dict[str, str]
    paths: list[Path]
    content_hash: str


def draft(
    store: Store, config: Config, week: Week, profile: str, directory: Path, now: datetime
) -> Drafted:
    items = store.items_in_period(week.first, week.last, week.start, week.end)
    stories = {i.story_id for i in items if i.story_id is not None}
    by_id = {i.id: i for i in items}
    for member in store.items_by_story(stories):
        by_id.setdefault(member.id, member)
    profile_config = config.digest.profiles[profile]
    selection = select(
        sorted(by_id.values(), key=lambda i: i.id), week, profile, profile_config, config.publishers
    )
    rendered = render(build_view(selection, config), profile_config.layout)
    paths = write_digest(rendered, directory, week.label, profile)
    digest_hash = content_hash(rendered)
    store.record_digest(
        week.label, profile, selection.count, digest_hash, [p.name for p in paths], now
    )
    return Drafted(week, profile, selection, rendered, paths, digest_hash)
