"""Stories through the service's own paths: the `monitor stories` command, stories grouped
while polling, shown by `status` and `sources try`, and one digest entry per story."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from monitor.cli import cli
from monitor.config import load_config
from monitor.dedup import canonical_url
from monitor.items import Classification, Entry
from monitor.store import Store
from tests.conftest import DATA, ROOT, base_config, source, write_config
from tests.test_stories import PAIRS, supply_chain_items

AGENCY = """<?xml version="1.0"?><rss version="2.0"><channel><title>DoD</title>
<item><title>DoD Awards $35 Million to MP Materials to Build U.S. Heavy Rare Earth Separation
Capacity</title><link>https://www.defense.gov/News/Releases/Release/Article/2941793/</link>
<description>The Department of Defense awarded a $35 million contract to MP Materials Corp. of Las
Vegas, Nevada, to design and build a facility to process heavy rare earth elements at the
company's Mountain Pass, California production site.</description>
<pubDate>Tue, 22 Feb 2022 15:00:00 GMT</pubDate></item>
<item><title>DoD Announces $17.4 Million Defense Production Act Title III Award for Domestic
Graphite</title><link>https://www.defense.gov/News/Releases/Release/Article/1111111/</link>
<description>The award to a graphite producer strengthens the supply of battery anode material.
</description><pubDate>Tue, 22 Feb 2022 16:00:00 GMT</pubDate></item>
</channel></rss>"""

COMPANY = """<?xml version="1.0"?><rss version="2.0"><channel><title>MP</title>
<item><title>MP Materials Awarded Department of Defense Heavy Rare Earth Processing Contract
</title><link>https://investors.mpmaterials.com/news/2022-02-22</link>
<description>MP Materials Corp. today announced it has been awarded a $35 million contract through
the U.S. Department of Defense to support the construction of a commercial scale processing
facility for heavy rare earth elements at Mountain Pass.</description>
<pubDate>Tue, 22 Feb 2022 13:00:00 GMT</pubDate></item>
</channel></rss>"""


def env(tmp_path: Path, db_url: str, config: Path) -> dict[str, str]:
    return {
        "MONITOR_DATABASE_URL": db_url,
        "MONITOR_ALLOW_PRIVATE_HOSTS": "1",
        "MONITOR_DIGEST_DIR": str(tmp_path / "digests"),
        "MONITOR_CONFIG": str(config),
    }


def test_stories_command_groups_json_lines() -> None:
    result = CliRunner().invoke(cli, ["stories", str(DATA / "stories" / "items.jsonl")])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    source = [json.loads(line) for line in (DATA / "stories" / "items.jsonl").open()]
    assert [r["id"] for r in rows] == [r["id"] for r in source]
    story = {r["id"]: r["story"] for r in rows}
    assert story[1] == story[2] == story[3] == 1  # the DoD award and two reports of it
    assert len(set(story.values())) > 1


def test_stories_command_reports_bad_lines() -> None:
    lines = '{"id": 1, "title": "A", "publisher": "nsf", "date": "2026-01-01"}\nnot json\n'
    result = CliRunner().invoke(cli, ["stories", "-"], input=lines)
    assert result.exit_code == 1
    assert "line 2" in result.stderr and json.loads(result.stdout)["story"] == 1


def test_a_story_from_two_sources_is_grouped_shown_and_drafted_once(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    site.expect_request("/dod.xml").respond_with_data(AGENCY, content_type="application/rss+xml")
    site.expect_request("/mp.xml").respond_with_data(COMPANY, content_type="application/rss+xml")
    cfg = base_config(
        sources=[
            source("war-releases", "rss", site.url_for("/dod.xml"), "war"),
            source("mp-news", "rss", site.url_for("/mp.xml"), "mpmaterials"),
        ]
    )
    cfg["publishers"]["mpmaterials"] = {"name": "MP Materials", "kind": "company"}
    config = write_config(tmp_path / "sources.yaml", cfg)
    runner, values = CliRunner(), env(tmp_path, db_url, config)
    tried = runner.invoke(cli, ["sources", "try", "mp-news"], env=values)
    assert "story: new; a story of its own" in tried.stdout  # nothing stored yet
    assert runner.invoke(cli, ["poll"], env=values).exit_code == 0
    tried = runner.invoke(cli, ["sources", "try", "mp-news"], env=values)
    assert "stored as item #" in tried.stdout and ", story #" in tried.stdout
    status = runner.invoke(cli, ["status"], env=values)
    assert status.exit_code == 0
    assert "story #" in status.stdout and "2 sources" in status.stdout
    digest = runner.invoke(cli, ["digest", "--week", "2022-W08"], env=values)
    assert digest.exit_code == 0, digest.output
    text = (tmp_path / "digests" / "2022-W08.cas.txt").read_text(encoding="utf-8")
    assert text.count("MP Materials Awarded Department of Defense") == 1  # once, as related
    assert text.count("Graphite") >= 1  # the other DoD award is a story of its own
    lead = text.index("DoD Awards $35 Million to MP Materials")
    assert lead < text.index("MP Materials Awarded Department of Defense")  # the agency leads
    assert "相关报道" in text


def test_feedback_on_an_item_holds_for_its_story(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    from tests.conftest import Clock, make_app

    site.expect_request("/dod.xml").respond_with_data(AGENCY, content_type="application/rss+xml")
    site.expect_request("/mp.xml").respond_with_data(COMPANY, content_type="application/rss+xml")
    cfg = base_config(
        sources=[
            source("war-releases", "rss", site.url_for("/dod.xml"), "war"),
            source("mp-news", "rss", site.url_for("/mp.xml"), "war"),
        ]
    )
    from datetime import UTC, datetime

    app = make_app(tmp_path, db_url, cfg, Clock(datetime(2022, 2, 28, tzinfo=UTC)))
    app.poll()
    week = app.week("2022-W08")
    items = app.store.items_in_period(week.first, week.last, week.start, week.end)
    award = next(i for i in items if i.title.startswith("DoD Awards $35 Million"))
    company = next(i for i in items if i.title.startswith("MP Materials Awarded"))
    graphite = next(i for i in items if "Graphite" in i.title)
    assert award.story_id == company.story_id != graphite.story_id
    app.store.add_feedback(award.id, "section=industry", app.clock())
    examples = {e.title: e for e in app.store.feedback_examples()}
    assert examples[company.title].section == "industry"  # the verdict reached its coverage
    assert graphite.title not in examples
    app.close()


def pair_set_entries() -> list[Entry]:
    """The dated items of the labeled pair set as a poll would give them, each from a source
    of its publisher, in date order."""
    seen: dict[str, Entry] = {}
    for pair in PAIRS:
        for item in (pair.a, pair.b):
            url = canonical_url(item["url"])
            if url in seen or not item.get("date"):
                continue
            day = date.fromisoformat(str(item["date"]))
            seen[url] = Entry(
                source_id=f"src-{item['publisher']}",
                publisher=item["publisher"],
                canonical_url=url,
                url=item["url"],
                guid=None,
                title=item["title"],
                summary=item.get("summary", ""),
                published_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
                published_date=day,
                date_source="feed",
                date_note=None,
                language=item.get("language", "en"),
            )
    return sorted(seen.values(), key=lambda e: (e.published_date, e.canonical_url))


def test_an_item_bridging_two_stored_stories_merges_them_in_the_store(
    tmp_path: Path, db_url: str
) -> None:
    """The pair set's items stored day by day through the Store (the service's path): the
    2021 supply-chain executive order forms two stories, then one report matches both; every
    member, in the database and in the story index, ends in one story."""
    config = load_config(ROOT / "sources.yaml")
    store = Store(db_url, publishers=config.publishers)
    decision = Classification(True, 0.9, (), "strategy", ())
    entries = pair_set_entries()
    for entry in entries:  # one item per poll, in date order
        now = entry.published_at or datetime.now(UTC)
        store.save_entries([(replace(entry), decision)], now)
    five = [i["title"] for i in supply_chain_items()]
    stored = {
        i.title: i
        for i in store.items_in_period(
            date(2021, 2, 1),
            date(2021, 3, 31),
            datetime(2021, 2, 1, tzinfo=UTC),
            datetime(2021, 3, 31, tzinfo=UTC),
        )
    }
    assert all(title in stored for title in five)
    story_ids = {stored[title].story_id for title in five}
    assert len(story_ids) == 1
    # the story index moved its members too: the same report, seen again, finds one story
    again = next(e for e in entries if e.title == five[-1])
    found = store.stories.story_of(-1, replace(again, source_id="src-another"))
    assert found is not None and found.story_id in story_ids and not found.merges
    store.close()


def test_a_merge_one_instance_makes_reaches_the_others_story_index(
    tmp_path: Path, db_url: str
) -> None:
    """Two instances on one database: the second stores the report that bridges two stories;
    the first, which had both stories in its index, learns the merge before its next item."""
    config = load_config(ROOT / "sources.yaml")
    decision = Classification(True, 0.9, (), "strategy", ())
    five = [i["title"] for i in supply_chain_items()]
    # moved to this month: an instance's index holds the items published in the last weeks
    shift = date.today() - date(2021, 2, 26)
    entries = [
        replace(
            e,
            published_date=e.published_date + shift,
            published_at=e.published_at + shift,
        )
        for e in pair_set_entries()
        if e.published_date and e.published_at
    ]
    window = (date.today() - timedelta(days=30), date.today() + timedelta(days=30))
    moments = tuple(datetime(d.year, d.month, d.day, tzinfo=UTC) for d in window)

    def stories_of_five(store: Store) -> set[int | None]:
        return {i.story_id for i in store.items_in_period(*window, *moments) if i.title in five}

    def save(store: Store, entry: Entry) -> None:  # first seen now: a new instance loads it
        store.save_entries([(replace(entry), decision)], datetime.now(UTC))

    trial = Store(f"sqlite:///{tmp_path / 'trial.db'}", publishers=config.publishers)
    bridging = -1  # which entry merges the two stories (found on a trial run)
    for n, entry in enumerate(entries):
        before = len(stories_of_five(trial))
        save(trial, entry)
        if before > 1 and len(stories_of_five(trial)) == 1:
            bridging = n
            break
    trial.close()
    assert bridging > 0

    first = Store(db_url, publishers=config.publishers)
    for entry in entries[:bridging]:
        save(first, entry)
    assert len(stories_of_five(first)) == 2
    second = Store(db_url, publishers=config.publishers)  # another instance, started now
    save(second, entries[bridging])
    (merged,) = stories_of_five(first)  # in the database
    save(first, entries[bridging + 1])  # the first instance's next item: it reads the log
    again = first.stories.story_of(-1, replace(entries[bridging], source_id="src-another"))
    assert again is not None and again.story_id == merged and not again.merges
    first.close()
    second.close()
