"""`monitor status` reads through plain SQL (monitor/store/lean.py), without SQLAlchemy: the
same figures as the Store's queries, on SQLite and PostgreSQL, and a fast start."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from monitor.cli import cli
from monitor.store.health import HealthStore
from monitor.store.lean import open_lean
from monitor.store.models import ItemRow
from tests.conftest import Clock, base_config, make_app, source, write_config
from tests.test_stories_service import AGENCY, COMPANY


def test_lean_status_reads_what_the_store_reads(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    site.expect_request("/dod.xml").respond_with_data(AGENCY, content_type="application/rss+xml")
    site.expect_request("/mp.xml").respond_with_data(COMPANY, content_type="application/rss+xml")
    site.expect_request("/down.xml").respond_with_data("", status=503)
    cfg = base_config(
        sources=[
            source("war-releases", "rss", site.url_for("/dod.xml"), "war"),
            source("mp-news", "rss", site.url_for("/mp.xml"), "mpmaterials"),
            source("down", "rss", site.url_for("/down.xml"), "nsf"),
        ]
    )
    cfg["publishers"]["mpmaterials"] = {"name": "MP Materials", "kind": "company"}
    now = datetime(2022, 2, 24, 9, tzinfo=UTC)
    app = make_app(tmp_path, db_url, cfg, Clock(now))
    app.poll()
    health = HealthStore(app.store)
    health.transition("down", "failing", True, "HTTP 503", now, ("down", "body", "<a@b>"))
    app.outbox.ensure_deliveries("2022-W08", "cas", ["ed@example.org"], lambda r: f"<{r}>", now)
    delivery = app.outbox.deliveries()[0]
    for _ in range(10):  # until it gives up
        app.outbox.claim_delivery(delivery.id, now + timedelta(days=30), timedelta(minutes=5))
        app.outbox.finish_delivery(delivery.id, now, "550 no such user")
    from monitor.store.models import FlashRow

    with app.store.session() as session:  # a news alert that gave up
        first = session.scalars(select(ItemRow.id).order_by(ItemRow.id)).first()
        session.add(
            FlashRow(
                profile="cas",
                story_id=first,
                item_id=first,
                status="failed",
                message_id="<f@x>",
                attempts=5,
                created_at=now,
                updated_at=now,
            )
        )
    expected_status = app.store.statuses(now)
    expected_stats = {s.id: s for s in health.stats(now.date())}
    app.close()

    with open_lean(db_url) as reader:
        assert reader is not None
        report = reader.report(now, now.date())
    assert [s.id for s in report.sources] == [s.id for s in expected_status]
    for line, old in zip(report.sources, expected_status, strict=True):
        stats = expected_stats[line.id]
        assert (line.kind, line.last_poll_at, line.last_success_at) == (
            old.kind,
            old.last_poll_at,
            old.last_success_at,
        )
        assert (line.consecutive_failures, line.last_error, line.items_7d) == (
            old.consecutive_failures,
            old.last_error,
            old.items_7d,
        )
        assert (line.last_item_date, line.weekly_counts) == (
            stats.last_item_date,
            stats.weekly_counts,
        )
    by_id = {s.id: s for s in report.sources}
    assert by_id["war-releases"].items_7d == 2 and by_id["mp-news"].items_7d == 1
    assert by_id["down"].incidents == ("failing",) and by_id["down"].last_error
    assert sum(by_id["war-releases"].weekly_counts) == 2
    assert [(n, "MP Materials" in title) for _, n, title in report.shared] == [(2, True)]
    assert report.pending == 0 and [f.recipient for f in report.failed] == ["ed@example.org"]
    assert report.failed[0].last_error == "550 no such user"
    assert report.flashes == {"failed": 1}


def one_source(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A configuration of one source and the environment of a new SQLite database."""
    config = tmp_path / "sources.yaml"
    write_config(
        config, base_config(sources=[source("a", "rss", "https://example.org/a.xml", "nsf")])
    )
    url = f"sqlite:///{tmp_path / 'new.db'}"
    return config, {"MONITOR_DATABASE_URL": url, "MONITOR_CONFIG": str(config)}


def test_status_on_a_new_database_migrates_it_first(tmp_path: Path) -> None:
    config, env = one_source(tmp_path)
    result = CliRunner().invoke(cli, ["status"], env=env)
    assert result.exit_code == 0, result.output
    assert "never" in result.stdout and "deliveries: 0 pending, 0 failed" in result.stdout
    # a source added to the configuration shows at once, before any poll
    write_config(
        config,
        base_config(
            sources=[
                source("a", "rss", "https://example.org/a.xml", "nsf"),
                source("b-new", "rss", "https://example.org/b.xml", "nsf"),
            ]
        ),
    )
    result = CliRunner().invoke(cli, ["status"], env=env)
    assert result.exit_code == 0 and "b-new" in result.stdout


def test_status_does_not_import_sqlalchemy(tmp_path: Path) -> None:
    """Checked in a fresh interpreter: what `status` imports on a database at the newest
    revision (the timing itself is in benchmarks/command_speed.py)."""
    _, env = one_source(tmp_path)
    assert CliRunner().invoke(cli, ["status"], env=env).exit_code == 0  # creates and migrates
    script = (
        "import sys\n"
        "from monitor.cli import cli\n"
        "try:\n"
        "    cli.main(['status'], standalone_mode=False)\n"
        "finally:\n"
        "    heavy = ('sqlalchemy', 'pydantic', 'bs4', 'alembic')\n"
        "    heavy = sorted(m for m in heavy if m in sys.modules)\n"
        "    print('IMPORTED', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env | {"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "IMPORTED []" in done.stdout and "a " in done.stdout
