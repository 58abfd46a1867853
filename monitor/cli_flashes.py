"""``monitor flashes``: the news alerts (快讯) the polls queued; list them, send the due ones."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from monitor.cli import _app, _errors, _when, cli, out
from monitor.flash import STATUSES


@cli.group(invoke_without_command=True)
@click.pass_context
@_errors
def flashes(ctx: click.Context) -> None:
    """News alerts (快讯): list them (and send the due ones with `flashes send`)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(flashes_list)


@flashes.command("list")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--limit", default=50, show_default=True, help="The newest this many.")
@click.pass_context
@_errors
def flashes_list(ctx: click.Context, status: str | None, limit: int) -> None:
    """Every news alert, newest first: profile, story, item, status, attempts, error."""
    with _app(ctx, "database") as app:
        rows = app.flasher.outbox.flashes(status=status, limit=limit)
        titles = {f.item_id: item.title for f in rows if (item := app.store.item(f.item_id))}
    table = Table("id", "profile", "story", "item", "status", "attempts", "queued", "sent", "title")
    for f in rows:
        table.add_row(
            str(f.id),
            f.profile,
            f"#{f.story_id}",
            f"#{f.item_id}",
            f.status + (f" ({f.last_error})" if f.last_error else ""),
            str(f.attempts),
            _when(f.created_at),
            _when(f.sent_at) if f.sent_at else "",
            titles.get(f.item_id, ""),
        )
    out.print(table)


@flashes.command("send")
@click.option("--retry", is_flag=True, help="Queue the failed ones again first.")
@click.pass_context
@_errors
def flashes_send(ctx: click.Context, retry: bool) -> None:
    """Send the news alerts that are due now (the service does this after every poll)."""
    with _app(ctx, "database") as app:
        requeued = app.flasher.outbox.requeue_flashes(app.clock()) if retry else 0
        if not app.flasher.smtp_ready:
            out.print("no SMTP server configured (MONITOR_SMTP_HOST): alerts wait")
        results = app.flasher.send_due()
    if requeued:
        out.print(f"{requeued} failed alerts queued again")
    for flash, status in results:
        out.print(f"  alert #{flash.id} {flash.profile} story #{flash.story_id}: {status}")
    out.print(f"news alerts: {sum(s == 'sent' for _, s in results)} sent of {len(results)} due")
    if any(s not in ("sent", "skipped") for _, s in results):
        sys.exit(1)
