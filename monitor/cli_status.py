"""``monitor status`` (read without SQLAlchemy, see ``monitor.store.lean``) and ``monitor db``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from rich.table import Table

from monitor.cli import _app, _check_folders, _errors, _when, cli, out
from monitor.errors import MonitorError, StoreError
from monitor.settings import Settings


@cli.command()
@click.pass_context
@_errors
def status(ctx: click.Context) -> None:
    """Per source: last poll, last success, consecutive failures, items in the last 7 days."""
    from datetime import UTC

    from monitor.store.lean import open_lean

    settings: Settings = ctx.obj["settings"]
    now = datetime.now(UTC)
    with open_lean(settings.db_url) as reader:
        ready = reader is not None and not _unsynced(ctx.obj["config"], reader.source_ids())
        report = reader.report(now, now.date()) if reader is not None and ready else None
    if report is None:  # a new or older database, or sources not yet recorded: the Store
        with _app(ctx, "database") as app:  # migrates and records them first
            app.store  # noqa: B018
        with open_lean(settings.db_url) as reader:
            if reader is None:
                raise StoreError(f"cannot read the database {settings.db_url} after migrating it")
            report = reader.report(now, now.date())
    table = Table(
        "source",
        "kind",
        "last poll",
        "last success",
        "failures",
        "last item",
        "7 days",
        "per week (8)",
        "incident",
        "last error",
    )
    for r in report.sources:
        table.add_row(
            r.id,
            r.kind,
            _when(r.last_poll_at),
            _when(r.last_success_at),
            str(r.consecutive_failures),
            str(r.last_item_date or "—"),
            str(r.items_7d),
            " ".join(map(str, r.weekly_counts)),
            ", ".join(r.incidents),
            r.last_error or "",
        )
    out.print(table)
    if report.shared:
        out.print("stories carried by several sources in the last 7 days:")
        for story_id, count, title in report.shared:
            out.print(
                f"  story #{story_id}: {count} sources: {title}", markup=False, highlight=False
            )
    out.print(f"deliveries: {report.pending} pending, {len(report.failed)} failed")
    if report.flashes:
        waiting, failed = report.flashes.get("pending", 0), report.flashes.get("failed", 0)
        out.print(f"news alerts: {waiting} pending, {failed} failed (monitor flashes list)")
    for d in report.failed:
        out.print(
            f"  failed: {d.week} {d.profile} → {d.recipient}: {d.last_error}", highlight=False
        )


def _unsynced(config_path: Path, stored: set[str]) -> bool:
    """Whether the configuration names a source the database has no row for yet (read
    without validating: the Store path validates it)."""
    from monitor.yamlload import load_yaml

    try:
        data = load_yaml(config_path).data
    except MonitorError:
        return True  # let the full path report the problem
    sources = data.get("sources") if isinstance(data, dict) else None
    return any(
        isinstance(s, dict) and isinstance(s.get("id"), str) and s["id"] not in stored
        for s in sources or []
    )


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
@_errors
def db_upgrade(ctx: click.Context) -> None:
    """Apply database migrations (also done on every start)."""
    from monitor.store import Store
    from monitor.store.db import current_revision

    settings: Settings = ctx.obj["settings"]
    _check_folders(settings, "database")
    store = Store(settings.db_url)
    out.print(f"database at revision {current_revision(store.engine)}")
    store.close()
