"""News alerts (快讯): a matching new item is emailed once per story, in the profile's Chinese
entry form, survives a restart between poll and send, retries a failing SMTP server, and is
marked in the next digest. Over real HTTP (a fixture site) and real SMTP (aiosmtpd), on SQLite
and PostgreSQL."""

from __future__ import annotations

import io
import logging
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.digest.view import ALERTED
from monitor.service import Service
from tests.conftest import Clock, base_config, make_app, smtp_settings, source
from tests.mailserver import MailServer, free_port
from tests.test_service import until

EDITORS = ["desk@example.org", "chief@example.org"]
PUBLISHED = datetime(2022, 2, 22, 15, 0, tzinfo=UTC)
NOW = datetime(2022, 2, 23, 1, 0, tzinfo=UTC)


def agency_feed(day: datetime) -> str:
    """The DoD's release of an award ($35M: an alert) and of a smaller one ($17.4M: not)."""
    return f"""<?xml version="1.0"?><rss version="2.0"><channel><title>DoD</title>
<item><title>DoD Awards $35 Million to MP Materials to Build U.S. Heavy Rare Earth Separation
Capacity</title><link>https://www.defense.gov/News/Releases/Release/Article/2941793/</link>
<description>The Department of Defense awarded a $35 million contract to MP Materials Corp. of Las
Vegas, Nevada, to design and build a facility to process heavy rare earth elements at the
company's Mountain Pass, California production site.</description>
<pubDate>{format_datetime(day)}</pubDate></item>
<item><title>DoD Announces $17.4 Million Defense Production Act Title III Award for Domestic
Graphite</title><link>https://www.defense.gov/News/Releases/Release/Article/1111111/</link>
<description>The award to a graphite producer strengthens the supply of battery anode material.
</description><pubDate>{format_datetime(day + timedelta(hours=1))}</pubDate></item>
</channel></rss>"""


def company_feed(day: datetime) -> str:
    """The same award announced by the company: the same story, another publisher."""
    return f"""<?xml version="1.0"?><rss version="2.0"><channel><title>MP</title>
<item><title>MP Materials Awarded Department of Defense Heavy Rare Earth Processing Contract
</title><link>https://investors.mpmaterials.com/news/2022-02-22</link>
<description>MP Materials Corp. today announced it has been awarded a $35 million contract through
the U.S. Department of Defense to support the construction of a commercial scale processing
facility for heavy rare earth elements at Mountain Pass.</description>
<pubDate>{format_datetime(day - timedelta(hours=2))}</pubDate></item>
</channel></rss>"""


def flash_config(
    site: HTTPServer,
    alert: dict[str, Any] | None = None,
    day: datetime = PUBLISHED,
    slow: float = 0.0,
    **service: Any,
) -> dict[str, Any]:
    def agency(request: Request) -> Response:
        time.sleep(slow)
        return Response(agency_feed(day), content_type="application/rss+xml")

    site.expect_request("/dod.xml").respond_with_handler(agency)
    site.expect_request("/mp.xml").respond_with_data(
        company_feed(day), content_type="application/rss+xml"
    )
    cfg = base_config(
        sources=[
            source("war-releases", "rss", site.url_for("/dod.xml"), "war"),
            source("mp-news", "rss", site.url_for("/mp.xml"), "mpmaterials"),
        ]
    )
    cfg["publishers"]["mpmaterials"] = {"name": "MP Materials", "kind": "company"}
    rule = {"sections": ["funding"], "min_amount": {"USD": 30_000_000}, "recipients": EDITORS}
    cfg["digest"]["profiles"]["cas"]["alert"] = rule if alert is None else alert
    cfg["service"] = {"delivery_backoff": "10s", "delivery_attempts": 3, "http_port": 0} | service
    return cfg


def flash_app(
    tmp_path: Path, db_url: str, cfg: dict[str, Any], port: int, now: datetime = NOW
) -> Any:
    return make_app(tmp_path, db_url, cfg, Clock(now), smtp=smtp_settings(port))


def test_a_matching_item_is_alerted_once_per_story_in_chinese(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    app = flash_app(tmp_path, db_url, flash_config(site), mailserver.port)
    app.poll(["war-releases"])
    (queued,) = app.flasher.outbox.flashes()  # the $17.4M award is below the rule's sum
    assert queued.status == "pending" and queued.profile == "cas"
    assert [status for _, status in app.flasher.send_due()] == ["sent"]
    (received,) = mailserver.wait_for(1)
    assert sorted(received.rcpt_tos) == sorted(EDITORS)
    message = received.message
    assert message["Subject"].startswith("【快讯】美战争部宣布资助3500万美元：DoD Awards")
    assert message["Message-ID"] == queued.message_id
    assert message["List-Id"] == "<cas.flash.bulletin.example.org>"
    text = message.get_body(("plain",)).get_content()
    assert "2月22日，美国战争部（原国防部，DoW）宣布资助3500万美元：DoD Awards" in text
    assert "发布机构：美国战争部" in text and "栏目：项目资助" in text
    assert "编译自[2022-02-22]\nDoD Awards $35 Million to MP Materials" in text
    assert "https://www.defense.gov/News/Releases/Release/Article/2941793/" in text
    html = message.get_body(("html",)).get_content()
    assert "美战争部宣布资助3500万美元" in html and 'href="https://www.defense.gov/' in html

    app.poll(["mp-news"])  # the company's release of the same award: the same story
    items = {i.title.split()[0]: i for i in app.store.items_by_story([queued.story_id])}
    assert set(items) == {"DoD", "MP"}  # joined the alerted story
    assert len(app.flasher.outbox.flashes()) == 1
    assert app.flasher.send_due() == []
    assert len(mailserver.received) == 1
    app.close()


def test_an_item_that_does_not_match_sends_nothing(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    rule = {"topics": ["semiconductors"], "min_score": 0.5, "recipients": EDITORS}
    app = flash_app(tmp_path, db_url, flash_config(site, rule), mailserver.port)
    records = app.poll()
    assert sum(r.new for r in records) == 3
    assert app.flasher.outbox.flashes() == []
    assert app.flasher.send_due() == []
    assert mailserver.received == []
    app.close()


def test_any_of_alternatives(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    rule = {
        "min_score": 0.5,
        "any_of": [{"sections": ["strategy"]}, {"min_amount": {"USD": 10_000_000}}],
        "recipients": EDITORS,
    }
    app = flash_app(tmp_path, db_url, flash_config(site, rule), mailserver.port)
    app.poll(["war-releases"])
    stories = {f.story_id for f in app.flasher.outbox.flashes()}
    assert len(stories) == 2  # both awards are above $10M: the second alternative
    app.close()


def test_an_old_item_first_seen_now_never_alerts(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    cfg = flash_config(site, {"min_score": 0.1, "recipients": EDITORS, "max_age": "2d"})
    late = flash_app(tmp_path, db_url, cfg, mailserver.port, now=NOW + timedelta(days=3))
    late.poll(["war-releases"])  # a new source's backlog, published three days ago
    assert late.flasher.outbox.flashes() == []
    late.close()


def test_a_restart_between_poll_and_send_sends_once(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    cfg = flash_config(site, day=now - timedelta(hours=3))
    first = flash_app(tmp_path, db_url, cfg, mailserver.port, now=now)
    first.poll(["war-releases"])  # stored and queued; the process "dies" before sending
    first.close()
    assert mailserver.received == []
    second = flash_app(tmp_path, db_url, cfg, mailserver.port, now=now)
    service = Service(second)
    service.start()  # sends what is pending at once (the outbox job), polls nothing new
    try:
        mailserver.wait_for(1)
        until(lambda: second.flasher.outbox.flashes()[0].status == "sent", what="sent")
        service.send_outbox()
        service.send_flashes()
    finally:
        service.stop()
    assert len(mailserver.received) == 1
    second.close()


def test_a_sender_killed_mid_send_is_taken_over_once_after_its_lease(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    cfg = flash_config(site, delivery_lease="5m")
    killed = flash_app(tmp_path, db_url, cfg, mailserver.port)
    killed.poll(["war-releases"])
    (flash,) = killed.flasher.outbox.due_flashes(NOW)
    assert killed.flasher.outbox.claim_flash(flash.id, NOW, timedelta(minutes=5))
    killed.close()  # claimed, never finished
    other = flash_app(tmp_path, db_url, cfg, mailserver.port)
    assert other.flasher.send_due() == []  # still claimed
    other.flasher.app.clock.now = NOW + timedelta(minutes=6)  # type: ignore[attr-defined]
    assert [s for _, s in other.flasher.send_due()] == ["sent"]
    assert other.flasher.send_due() == []
    assert len(mailserver.wait_for(1)) == 1
    other.close()


def test_a_poll_with_new_items_wakes_the_sender(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    cfg = flash_config(site, day=now - timedelta(hours=3), slow=2.5, outbox_interval="1h")
    cfg["sources"][1]["enabled"] = False  # the agency's feed only
    app = flash_app(tmp_path, db_url, cfg, mailserver.port, now=now)
    service = Service(app)
    begun = time.monotonic()
    service.start()  # the alert job's first round (at +1 s) finds nothing: the feed is slow
    try:
        mailserver.wait_for(1, timeout=30)
        took = time.monotonic() - begun
        until(lambda: app.flasher.outbox.flashes()[0].status == "sent", what="sent")
    finally:
        service.stop()
    assert 2.5 <= took < 20  # after the poll, not at the next round an hour later
    assert len(mailserver.received) == 1
    assert service.metrics.flashes.labels("sent")._value.get() == 1
    app.close()


def test_smtp_down_then_up_retries_with_backoff_and_sends_once(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    port = free_port()
    app = flash_app(tmp_path, db_url, flash_config(site), port)
    app.poll(["war-releases"])
    assert [s for _, s in app.flasher.send_due()] == ["pending"]
    (flash,) = app.flasher.outbox.flashes()
    assert "SMTP" in (flash.last_error or "") and flash.attempts == 1
    assert flash.next_attempt_at == NOW + timedelta(seconds=10)
    assert app.flasher.send_due() == []  # not due yet
    server = MailServer(port=port).start()
    try:
        app.clock.now = NOW + timedelta(seconds=11)
        assert [s for _, s in app.flasher.send_due()] == ["sent"]
        assert app.flasher.send_due() == []
        assert len(server.wait_for(1)) == 1
    finally:
        server.stop()
    app.close()


def test_no_recipients_is_logged_and_recorded_not_sent(
    tmp_path: Path,
    db_url: str,
    site: HTTPServer,
    mailserver: MailServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rule = {"sections": ["funding"], "min_amount": {"USD": 30_000_000}}  # a dry run
    app = flash_app(tmp_path, db_url, flash_config(site, rule), mailserver.port)
    app.poll(["war-releases"])
    with caplog.at_level(logging.WARNING, logger="monitor.flash.send"):
        assert [s for _, s in app.flasher.send_due()] == ["skipped"]
    assert "no recipients (digest.profiles.cas.alert.recipients)" in caplog.text
    (flash,) = app.flasher.outbox.flashes()
    assert flash.status == "skipped" and app.flasher.send_due() == []
    drafted = app.draft(app.week("2022-W08"))
    assert ALERTED not in drafted.rendered["txt"]  # never sent: not marked
    assert mailserver.received == []
    app.close()


def test_the_next_digest_marks_the_alerted_story(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    app = flash_app(tmp_path, db_url, flash_config(site), mailserver.port)
    app.poll()
    app.flasher.send_due()
    drafted = app.draft(app.week("2022-W08"), word=True)
    for fmt in ("txt", "md", "html"):
        rendered = drafted.rendered[fmt]
        marked = [line for line in rendered.splitlines() if ALERTED in line]
        assert marked, fmt
        assert all("美战争部宣布资助3500万美元" in line for line in marked), fmt
        assert not any("Graphite" in line for line in marked), fmt  # not alerted
    txt = drafted.rendered["txt"].splitlines()
    heading = next(line for line in txt if line.startswith("1. ") and "3500万" in line)
    assert heading.endswith(ALERTED)
    assert drafted.word is not None
    paragraphs = [p.text for p in Document(io.BytesIO(drafted.word)).paragraphs]
    assert any(p.endswith(ALERTED) and "3500万美元" in p for p in paragraphs)
    app.close()


def test_the_cli_lists_and_sends_pending_alerts(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: MailServer
) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli
    from tests.conftest import write_config

    now = datetime.now(UTC)
    config = write_config(tmp_path / "sources.yaml", flash_config(site, day=now))
    env = {
        "MONITOR_CONFIG": str(config),
        "MONITOR_DATABASE_URL": db_url,
        "MONITOR_ALLOW_PRIVATE_HOSTS": "1",
        "MONITOR_DIGEST_DIR": str(tmp_path / "digests"),
        "MONITOR_SMTP_HOST": "127.0.0.1",
        "MONITOR_SMTP_PORT": str(mailserver.port),
        "MONITOR_SMTP_TLS": "none",
        "MONITOR_MAIL_FROM": "monitor@bulletin.example.org",
    }
    runner = CliRunner()
    polled = runner.invoke(cli, ["poll", "--source", "war-releases"], env=env)
    assert polled.exit_code == 0, polled.output
    assert "1 news alerts waiting" in polled.stdout
    assert mailserver.received == []  # `monitor poll` only queues
    listed = runner.invoke(cli, ["flashes"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "pending" in listed.stdout and "DoD Awards $35 Million" in listed.stdout
    once = runner.invoke(cli, ["run", "--once"], env=env)  # and mp-news: the same story
    assert once.exit_code == 0, once.output
    assert "news alerts: 1 sent of 1 due" in once.stdout
    assert len(mailserver.wait_for(1)) == 1
    again = runner.invoke(cli, ["flashes", "send"], env=env)
    assert again.exit_code == 0, again.output
    assert "news alerts: 0 sent of 0 due" in again.stdout
    listed = runner.invoke(cli, ["flashes", "list", "--status", "sent"], env=env)
    assert "DoD Awards $35 Million" in listed.stdout
    assert len(mailserver.received) == 1


def test_stories_merged_by_a_bridging_item_keep_one_alert(tmp_path: Path, db_url: str) -> None:
    """The pair set's supply-chain order, stored day by day with an alert rule: its items form
    two stories (each alerted when it appeared), then a report bridges them. The merged story
    carries an alert, the bridging report raises none, and the digest marks the story."""
    from dataclasses import replace
    from datetime import date

    from sqlalchemy import select

    from monitor.config import load_config
    from monitor.flash.rules import FlashMatcher
    from monitor.items import Classification
    from monitor.store import Store
    from monitor.store.flash_outbox import FlashOutbox
    from monitor.store.models import FlashRow
    from tests.conftest import write_config
    from tests.test_stories import supply_chain_items
    from tests.test_stories_service import pair_set_entries

    cfg = base_config()
    cfg["digest"]["profiles"]["cas"]["alert"] = {"min_score": 0.5}
    config = load_config(write_config(tmp_path / "sources.yaml", cfg))
    store = Store(db_url, publishers=config.publishers)
    store.flash_matcher = FlashMatcher.of(config, "example.org")
    decision = Classification(True, 0.9, (), "strategy", ())
    entries = pair_set_entries()
    outbox = FlashOutbox(store, backoff=timedelta(minutes=1))
    five = [i["title"] for i in supply_chain_items()]
    window = (date(2021, 2, 1), date(2021, 3, 31))
    moments = (datetime(2021, 2, 1, tzinfo=UTC), datetime(2021, 3, 31, tzinfo=UTC))

    def stories_of_five() -> set[int | None]:
        return {i.story_id for i in store.items_in_period(*window, *moments) if i.title in five}

    counts: list[int] = []
    bridging_title = ""
    for entry in entries:  # one item per poll, in date order
        watched = entry.title in five
        before = (stories_of_five(), len(outbox.flashes(limit=1000))) if watched else None
        store.save_entries([(replace(entry), decision)], entry.published_at or NOW)
        if before is not None and len(before[0]) > 1 and len(stories_of_five()) == 1:
            bridging_title = entry.title  # this save merged two stories
            counts = [before[1], len(outbox.flashes(limit=1000))]
    assert bridging_title, "no save merged the supply-chain stories"
    items = store.items_in_period(
        date(2021, 2, 1),
        date(2021, 3, 31),
        datetime(2021, 2, 1, tzinfo=UTC),
        datetime(2021, 3, 31, tzinfo=UTC),
    )
    members = [i for i in items if i.title in five]
    (story,) = {i.story_id for i in members}
    with store.session() as s:
        rows = s.execute(select(FlashRow.story_id, FlashRow.item_id)).all()
    alerted = [item_id for story_id, item_id in rows if story_id == story]
    assert len(alerted) == 1  # the merged story: one alert
    bridging = next(i for i in members if i.title == bridging_title)
    assert bridging.id not in {item_id for _, item_id in rows}  # it raised none
    assert counts[0] == counts[1] > 0  # the bridging save moved an alert, added none
    with store.session() as s:
        s.execute(FlashRow.__table__.update().values(status="sent"))
    assert store.flashed_stories("cas", [story]) == {story}
    store.close()


def test_a_merged_story_takes_its_alerts_along(tmp_path: Path, db_url: str) -> None:
    from sqlalchemy import select

    from monitor.items import Classification, Entry
    from monitor.store import Store
    from monitor.store.flashes import move_flashes
    from monitor.store.models import FlashRow

    store = Store(db_url)
    decision = Classification(True, 0.9, (), "strategy", ())
    entries = [
        Entry(
            source_id="s",
            publisher="nsf",
            canonical_url=f"https://x.gov/{n}",
            url=f"https://x.gov/{n}",
            guid=None,
            title=f"Unrelated announcement number {n}",
            summary="",
            published_at=None,
            published_date=None,
            date_source="first_seen",
            date_note=None,
            language="en",
        )
        for n in (1, 2)
    ]
    a, b = store.save_entries([(e, decision) for e in entries], NOW).item_ids
    rows = [("cas", a), ("zj", a), ("cas", b)]
    with store.session() as s:
        for profile, story in rows:
            s.add(
                FlashRow(
                    profile=profile,
                    story_id=story,
                    item_id=story,
                    status="sent",
                    message_id=f"<{profile}.{story}@x>",
                    attempts=1,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    with store.session() as s:
        move_flashes(s, {a: b})
    with store.session() as s:
        found = sorted(s.execute(select(FlashRow.profile, FlashRow.story_id)).all())
    assert found == [("cas", a), ("cas", b), ("zj", b)]  # zj moved; cas: b had its own
    assert store.flashed_stories("zj", [b]) == {b}
    store.close()
