from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.digest.render import md_escape, render, safe_url, write_digest
from monitor.digest.select import select
from monitor.digest.view import build_view
from monitor.digest.week import current_week, last_complete_week, parse_week
from monitor.items import Mention, StoredItem
from tests.conftest import ROOT

CONFIG = load_config(ROOT / "sources.yaml")
PROFILE = CONFIG.digest.profiles["cas"]
WEEK = parse_week("2024-W39", "Asia/Shanghai")  # 2024-09-23 .. 2024-09-29


def item(item_id: int, title: str, section: str, **changes: object) -> StoredItem:
    base = StoredItem(
        id=item_id,
        url=f"https://www.nsf.gov/news/{item_id}",
        title=title,
        summary="A summary sentence. Another sentence.",
        text=None,
        language="en",
        publisher="nsf",
        published_at=None,
        published_date=date(2024, 9, 24),
        date_source="feed",
        first_seen_at=datetime(2024, 9, 24, 12, tzinfo=UTC),
        story_id=item_id,
        relevant=True,
        score=0.8,
        section=section,
        topics=("semiconductors",),
        why=("semiconductors: 'semiconductor*' in title +3.0", "section funding: 'award' +2.0"),
        mentions=(Mention("nsf-news", "nsf", f"https://www.nsf.gov/news/{item_id}"),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_weeks_follow_the_configured_time_zone() -> None:
    # Monday 01:00 in Shanghai is still Sunday in UTC.
    now = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
    assert current_week(now, "Asia/Shanghai").label == "2026-W48"
    assert last_complete_week(now, "Asia/Shanghai").label == "2026-W47"
    assert last_complete_week(now, "UTC").label == "2026-W46"
    assert parse_week("2026w01", "UTC").first == date(2025, 12, 29)
    with pytest.raises(ValueError, match="no week 54"):
        parse_week("2026-W54", "UTC")
    with pytest.raises(ValueError, match="not an ISO week"):
        parse_week("last week", "UTC")


def test_sections_in_profile_order_feature_once_empty_omitted() -> None:
    items = [
        item(1, "NSF awards grants for chips", "funding", score=0.7),
        item(
            2,
            "National Semiconductor Strategy released",
            "strategy",
            score=0.95,
            publisher="whitehouse",
        ),
        item(3, "Researchers discover a 2D magnet", "research", score=0.9),
        item(4, "New tariffs policy on steel", "strategy", score=0.6, publisher="whitehouse"),
        item(5, "Irrelevant ceremony", "strategy", relevant=False),
        item(6, "Last week's chip news", "funding", published_date=date(2024, 9, 20)),
    ]
    selection = select(items, WEEK, "cas", PROFILE, CONFIG.publishers)
    keys = [s.key for s in selection.sections]
    assert keys == ["feature", "strategy", "funding", "research"]  # no industry items: omitted
    feature = selection.sections[0].entries
    assert [e.item.id for e in feature] == [2]  # a strategy from a government, naming a strategy
    strategy_ids = [e.item.id for e in selection.sections[1].entries]
    assert strategy_ids == [4]  # item 2 is shown once, as the feature
    all_ids = [e.item.id for s in selection.sections for e in s.entries]
    assert sorted(all_ids) == [1, 2, 3, 4] and len(all_ids) == len(set(all_ids))


def test_ranking_and_max_items() -> None:
    items = [
        item(i, f"Chip award {i}", "funding", score=s) for i, s in [(1, 0.6), (2, 0.9), (3, 0.7)]
    ]
    selection = select(items, WEEK, "cas", PROFILE, CONFIG.publishers)
    assert [e.item.id for e in selection.sections[0].entries] == [2, 3, 1]
    small = PROFILE.model_copy(update={"max_items": 2})
    assert select(items, WEEK, "cas", small, CONFIG.publishers).count == 2


def test_a_story_appears_once_with_related_coverage() -> None:
    lead = item(1, "DoD awards $30M to microelectronics hub", "funding", score=0.9, publisher="war")
    echo = item(
        2,
        "Hub receives $30M DoD award",
        "funding",
        score=0.7,
        publisher="whitehouse",
        story_id=1,
        published_date=date(2024, 9, 25),
    )
    selection = select([lead, echo], WEEK, "cas", PROFILE, CONFIG.publishers)
    (entry,) = [e for s in selection.sections for e in s.entries]
    assert entry.item.id == 1 and [r.id for r in entry.related] == [2]
    view = build_view(selection, CONFIG)
    text = render(view, "cas")["txt"]
    assert "相关报道：美国白宫 [2024-09-25] Hub receives $30M DoD award" in text


def test_a_story_belongs_to_its_leads_week_and_no_item_leaves_its_own() -> None:
    early = item(1, "Chip hub announced", "funding", published_date=date(2024, 9, 22), score=0.6)
    later = item(2, "Chip hub announced again", "funding", story_id=1, score=0.9)
    w38 = parse_week("2024-W38", "Asia/Shanghai")
    (first,) = [
        e
        for s in select([early, later], w38, "cas", PROFILE, CONFIG.publishers).sections
        for e in s.entries
    ]
    assert first.item.id == 1 and [r.id for r in first.related] == [2] and first.story_lead is None
    # week 39: the later item is not lost to the merge: a follow-up entry, the lead related
    selection = select([early, later], WEEK, "cas", PROFILE, CONFIG.publishers)
    (follow,) = [e for s in selection.sections for e in s.entries]
    assert follow.item.id == 2 and [r.id for r in follow.related] == [1]
    assert follow.story_lead is not None and follow.story_lead.id == 1
    for layout in ("cas", "zj", "idei"):
        text = render(build_view(selection, CONFIG), layout)["txt"]
        assert "后续报道：该事件此前已由美国国家科学基金会（NSF）于2024-09-22发布" in text, layout
        assert "Chip hub announced" in text.split("后续报道")[0]


def test_the_originating_publisher_leads_a_story() -> None:
    media = item(
        1, "Reuters: NSF awards $30M for chips", "funding", publisher="whitehouse", score=0.95
    )
    agency = item(2, "NSF awards $30M for chips", "funding", story_id=1, score=0.7)
    selection = select([media, agency], WEEK, "cas", PROFILE, CONFIG.publishers)
    (entry,) = [e for s in selection.sections for e in s.entries]
    assert entry.item.id == 2 and [r.id for r in entry.related] == [1]


@pytest.mark.parametrize("layout", ["cas", "zj", "idei"])
def test_every_profile_lists_related_coverage(layout: str) -> None:
    lead = item(1, "DoD awards $30M to microelectronics hub", "funding", publisher="war")
    echo = item(2, "Hub receives $30M DoD award", "funding", publisher="whitehouse", story_id=1)
    selection = select([lead, echo], WEEK, "cas", PROFILE, CONFIG.publishers)
    for form, text in render(build_view(selection, CONFIG), layout).items():
        assert "Hub receives $30M DoD award" in text, (layout, form)
        assert "https://www.nsf.gov/news/2" in text, (layout, form)


def test_undated_items_count_by_first_sighting_and_say_so() -> None:
    undated = item(
        1,
        "Graphene coating for chips",
        "research",
        published_date=None,
        date_source="first_seen",
        first_seen_at=datetime(2024, 9, 29, 17, tzinfo=UTC),
    )
    # 17:00 UTC on Sunday is Monday 01:00 in Shanghai: the next week
    assert select([undated], WEEK, "cas", PROFILE, CONFIG.publishers).count == 0
    w40 = parse_week("2024-W40", "Asia/Shanghai")
    selection = select([undated], w40, "cas", PROFILE, CONFIG.publishers)
    md = render(build_view(selection, CONFIG), "cas")["md"]
    assert "编译自[2024-09-30]（首次发现日期）" in md


def test_item_anatomy_in_the_cas_profile() -> None:
    selection = select(
        [item(1, "NSF awards $42.4M for semiconductors", "funding")],
        WEEK,
        "cas",
        PROFILE,
        CONFIG.publishers,
    )
    rendered = render(build_view(selection, CONFIG), "cas")
    txt = rendered["txt"]
    # the Chinese skeleton: region, agency, act and amount in Chinese units, then the title
    assert "美NSF宣布资助4240万美元：NSF awards $42.4M for semiconductors" in txt
    assert "9月24日，美国国家科学基金会（NSF）宣布资助4240万美元：NSF awards $42.4M" in txt
    assert (
        "编译自[2024-09-24]\nNSF awards $42.4M for semiconductors\nhttps://www.nsf.gov/news/1"
        in txt
    )
    assert "主题：半导体与微电子" in txt
    for fmt in ("txt", "md", "html"):  # no scoring dump in what editors receive
        assert "入选依据" not in rendered[fmt] and "score" not in rendered[fmt]
    assert "发布机构：美国国家科学基金会（NSF）（条目 #1）" in txt  # for `monitor feedback 1 ...`
    assert txt.index("目录") < txt.index("项目资助\n  1. ")


def test_web_text_is_escaped() -> None:
    evil = item(
        1,
        '<script>alert("x")</script> [click](javascript:alert(1)) *bold*',
        "research",
        summary="<img src=x onerror=alert(1)> & more",
        url="javascript:alert(document.cookie)",
    )
    selection = select([evil], WEEK, "cas", PROFILE, CONFIG.publishers)
    rendered = render(build_view(selection, CONFIG), "cas")
    html, md = rendered["html"], rendered["md"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img src=x" in html
    assert 'href="javascript' not in html
    assert "<script>" not in md and "\\[click\\]" in md and "\\*bold\\*" in md
    assert "<javascript:" not in md


def test_escaping_helpers() -> None:
    assert md_escape("<b>[x](y)</b>") == "&lt;b&gt;\\[x\\](y)&lt;/b&gt;"
    assert safe_url("javascript:alert(1)") == ""
    assert safe_url('https://a.gov/x?q="><script>') == "https://a.gov/x?q=%22%3E%3Cscript%3E"


def test_empty_week_says_so() -> None:
    selection = select([], WEEK, "cas", PROFILE, CONFIG.publishers)
    rendered = render(build_view(selection, CONFIG), "cas")
    for text in rendered.values():
        assert "没有符合条件的条目" in text


def test_files_written_atomically_and_deterministically(tmp_path: Path) -> None:
    items = [item(i, f"Chip award {i}", "funding") for i in range(1, 4)]
    rendered = render(
        build_view(select(items, WEEK, "cas", PROFILE, CONFIG.publishers), CONFIG), "cas"
    )
    reordered = select(list(reversed(items)), WEEK, "cas", PROFILE, CONFIG.publishers)
    again = render(build_view(reordered, CONFIG), "cas")
    assert rendered == again  # input order does not matter
    paths = write_digest(rendered, tmp_path, "2024-W39", "cas")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    assert [p.read_text(encoding="utf-8") for p in paths] == [
        rendered[f] for f in ("md", "html", "txt")
    ]


@pytest.mark.parametrize("profile", ["cas", "zj", "idei"])
def test_every_shipped_profile_renders_its_layout(profile: str) -> None:
    items = [
        item(
            1,
            "National Semiconductor Strategy released",
            "strategy",
            score=0.95,
            publisher="whitehouse",
        ),
        item(2, "NSF awards grants for chips", "funding", score=0.7),
        item(3, "Researchers discover a 2D magnet", "research", score=0.9),
    ]
    chosen = CONFIG.digest.profiles[profile]
    selection = select(items, WEEK, profile, chosen, CONFIG.publishers)
    rendered = render(build_view(selection, CONFIG), chosen.layout)
    txt = rendered["txt"]
    assert txt.startswith(chosen.title)
    for title in ("National Semiconductor Strategy released", "Researchers discover a 2D magnet"):
        assert title in txt and title in rendered["html"] and title in rendered["md"]
    if chosen.layout == "zj":
        assert "本期内容提要" in txt and "（美国国家科学基金会（NSF））" in txt
        assert txt.index("本期内容提要") < txt.index("本期目录") < txt.index("科技战略\n")
    if chosen.layout == "idei":
        assert (
            "资料来源：美国白宫 新闻 National Semiconductor Strategy released, 2024-09-24." in txt
        )
        assert "1. 美国白宫战略：National Semiconductor Strategy released" in txt
    if chosen.layout == "cas":
        assert "专题" in txt and "编译自[2024-09-24]" in txt


def test_a_good_feed_summary_is_kept_and_the_article_heading_is_cut() -> None:
    from monitor.extract import Article
    from monitor.normalise import with_article
    from tests.test_store import entry as stored_entry

    listing = stored_entry(title="Graphene membrane pilot plant", summary="")
    article = Article(
        "Graphene membrane pilot plant A pilot plant for graphene membranes opened today.",
        None,
        "en",
        "Graphene membrane pilot plant | NSF",
    )
    assert with_article(listing, article).text == (
        "A pilot plant for graphene membranes opened today."
    )
    text = "Body of the article page, different from the feed's own description of it."
    summary = "The feed's own summary of the news, long enough to say what happened here."
    kept = item(1, "Graphene pilot plant", "research", summary=summary, text=text)
    blurb = item(2, "Graphene pilot plant", "research", summary="Joint announcement.", text=text)
    view = build_view(select([kept, blurb], WEEK, "cas", PROFILE, CONFIG.publishers), CONFIG)
    summaries = {i.item_id: i.summary for s in view.sections for i in s.items}
    assert summaries[1].startswith("The feed's own summary")
    assert summaries[2].startswith("Body of the article page")
