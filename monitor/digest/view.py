"""What the templates show for each item: headline, lead, attribution, in the profile's language.
Pure; no I/O. Text from the web stays plain text here; templates escape it for their format."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

from monitor.config import Config, Publisher
from monitor.digest.outages import OutageView
from monitor.digest.select import Entry, Selection, rank_key
from monitor.drafting.skeleton import ZhDraft, skeleton
from monitor.items import StoredItem
from monitor.text import lead

ALERTED = "（已快讯）"  # after the headline of an entry whose story was sent as a news alert
SUMMARY_CHARS = 360
MIN_SUMMARY = 60  # a shorter feed summary ("Joint announcement with NSF.") gives way to the text
WHY_LINES = 4


@dataclass(frozen=True)
class Related:
    publisher: str
    date: str
    title: str
    url: str


@dataclass(frozen=True)
class ItemView:
    number: int
    item_id: int
    headline: str
    lead: str
    summary: str
    date: str  # YYYY-MM-DD of publication (or first sighting)
    date_zh: str  # 9月16日
    date_known: bool
    publisher: str  # 美国国家科学基金会（NSF）
    topics: str  # 半导体、先进制造
    why: tuple[str, ...]
    score: str
    title: str
    url: str
    related: tuple[Related, ...]
    follow_up: str = ""  # when the story's lead falls in another week: where to find it
    alerted: bool = False  # its story was sent as a news alert (the headline ends with ALERTED)


@dataclass(frozen=True)
class SectionView:
    key: str
    label: str
    items: tuple[ItemView, ...]


@dataclass(frozen=True)
class DigestView:
    title: str
    week: str
    period: str
    period_zh: str
    count: int
    sections: tuple[SectionView, ...]
    highlights: tuple[ItemView, ...]
    outages: tuple[OutageView, ...] = ()  # sources that failed or went quiet that week


def zh_date(day: date) -> str:
    return f"{day.month}月{day.day}日"


def publisher_names(publisher: Publisher) -> tuple[str, str]:
    """Full name with abbreviation (美国国家科学基金会（NSF）) and the short form (NSF)."""
    full = publisher.name_zh or publisher.name
    short = publisher.abbr or full
    return (f"{full}（{publisher.abbr}）" if publisher.abbr else full), short


def build_view(
    selection: Selection,
    config: Config,
    *,
    drafts: Mapping[int, ZhDraft] | None = None,
    outages: tuple[OutageView, ...] = (),
    alerted: Collection[int] = (),
) -> DigestView:
    """The digest's view; each entry's Chinese headline and lead from ``drafts`` (by item id:
    a language model's, see ``monitor.drafting.zh``), else the offline skeleton. Entries of the
    stories in ``alerted`` (sent as news alerts) are marked after their headline."""
    profile = config.digest.profiles[selection.profile]
    week = selection.week
    counter = iter(range(1, selection.count + 1))
    views: dict[int, ItemView] = {}
    for section in selection.sections:
        for entry in section.entries:
            zh = (drafts or {}).get(entry.item.id) or skeleton_of(entry, config, profile.layout)
            sent = (entry.item.story_id or entry.item.id) in alerted
            views[entry.item.id] = _item(entry, config, next(counter), zh, alerted=sent)
    sections = tuple(
        SectionView(s.key, s.label, tuple(views[e.item.id] for e in s.entries))
        for s in selection.sections
    )
    entries = [e for s in selection.sections for e in s.entries]
    ranked = [views[e.item.id] for e in sorted(entries, key=rank_key)]
    return DigestView(
        title=profile.title,
        week=week.label,
        period=f"{week.first.isoformat()} — {week.last.isoformat()}",
        period_zh=f"{week.first.year}年{zh_date(week.first)}—{zh_date(week.last)}",
        count=selection.count,
        sections=sections,
        highlights=tuple(ranked[:5]),
        outages=outages,
    )


def skeleton_of(entry: Entry, config: Config, layout: str) -> ZhDraft:
    """The offline Chinese headline and lead of an entry."""
    item = entry.item
    return skeleton(
        title=item.title,
        summary=item.summary,
        publisher=config.publisher(item.publisher),
        day=entry.day,
        dated=not entry.dated_by_first_seen,
        layout=layout,
    )


def _item(
    entry: Entry, config: Config, number: int, zh: ZhDraft, *, alerted: bool = False
) -> ItemView:
    item = entry.item
    publisher = config.publisher(item.publisher)
    full, _ = publisher_names(publisher)
    summary = _summary(item)
    date_zh = zh_date(entry.day)
    return ItemView(
        number=number,
        item_id=item.id,
        headline=zh.headline + (ALERTED if alerted else ""),
        lead=zh.lead,
        summary=summary,
        date=entry.day.isoformat(),
        date_zh=date_zh,
        date_known=not entry.dated_by_first_seen,
        publisher=full,
        topics="、".join(_topic_label(config, t) for t in item.topics),
        why=_why(item),
        score=f"{item.score:.2f}",
        title=item.title,
        url=item.url,
        related=tuple(_related(r, config) for r in entry.related),
        follow_up=_follow_up(entry, config),
        alerted=alerted,
    )


def _follow_up(entry: Entry, config: Config) -> str:
    lead = entry.story_lead
    if lead is None:
        return ""
    full, _ = publisher_names(config.publisher(lead.publisher))
    day = lead.published_date or lead.first_seen_at.date()
    when = "此前" if day < entry.day else "此后"
    return f"后续报道：该事件{when}已由{full}于{day.isoformat()}发布（见相关报道）"


def _summary(item: StoredItem) -> str:
    """The feed's summary when it says something; else the opening of the article text."""
    basis = item.summary
    says_little = len(item.summary) < MIN_SUMMARY or item.summary.strip() == item.title.strip()
    if item.text and says_little:
        basis = item.text
    text = lead(basis, SUMMARY_CHARS) if basis else ""
    return "" if text.strip().rstrip("…").strip() == item.title.strip() else text


def _why(item: StoredItem) -> tuple[str, ...]:
    hits = [w for w in item.why if not w.startswith(("section ", "rule evidence", "model"))]
    rest = [w for w in item.why if w.startswith(("section ", "model"))]
    return (f"score {item.score:.2f}", *hits[:WHY_LINES], *rest)


def _topic_label(config: Config, topic: str) -> str:
    found = config.topics.get(topic)
    return (found.label_zh or found.label) if found else topic


def _related(item: StoredItem, config: Config) -> Related:
    full, _ = publisher_names(config.publisher(item.publisher))
    day = item.published_date.isoformat() if item.published_date else "—"
    return Related(full, day, item.title, item.url)
