"""The ``monitor`` command: parse arguments, call the app, map errors to exit codes.

Exit status: 0 success; 1 failure (e.g. every source failed); 2 a user's mistake (configuration,
arguments).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from monitor.errors import ConfigError, MonitorError, Problem
from monitor.settings import Settings, log_level_problem, writable_dir

if TYPE_CHECKING:  # the app (and the database, classifier) is imported only when used
    from monitor.app import App
    from monitor.config import Config
    from monitor.store.sources import PollRecord

F = TypeVar("F", bound=Callable[..., Any])
Folder = Literal["database", "digests", "data"]
# Tables wider than 80 columns when the output is not a terminal (pipes, logs, tests).
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)


def load_config(path: Path) -> Config:
    """Read and validate the configuration (pydantic and the source kinds are imported here:
    ``status`` and ``--help`` start without them)."""
    from monitor.config import load_config as load

    return load(path)


def _configure_logging(level: str) -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=err, show_path=False)
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.set_name("monitor-cli")
    root.handlers = [h for h in root.handlers if h.get_name() != "monitor-cli"] + [handler]
    for noisy in ("werkzeug", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _errors(func: F) -> F:
    """Map the exceptions of a user's mistake or a failure to a message and an exit status."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as e:
            _print_problems(e.problems)
            sys.exit(2)
        except MonitorError as e:
            err.print(f"[red]error:[/red] {e}", highlight=False)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _print_problems(problems: list[Problem]) -> None:
    """One line for one problem; else a heading and one line per problem."""
    if len(problems) == 1:
        err.print(f"[red]configuration error:[/red] {escape(str(problems[0]))}", highlight=False)
        return
    err.print("[red]configuration errors:[/red]")
    for problem in problems:
        err.print(f"  {problem}", markup=False, highlight=False)


def _check_folders(settings: Settings, *folders: Folder) -> None:
    """Fail with a ConfigError naming the variable when a folder a command writes is unusable."""
    wanted: dict[Path, str] = {}  # folder → the variable that sets it
    if "database" in folders and settings.sqlite_dir:
        key = "MONITOR_DATABASE_URL" if settings.database_url else "MONITOR_DATA_DIR"
        wanted[settings.sqlite_dir] = key
    if "digests" in folders:
        wanted[settings.digest_dir] = "MONITOR_DIGEST_DIR"
    if "data" in folders:
        wanted.setdefault(settings.data_dir, "MONITOR_DATA_DIR")
    problems = [p for path, key in wanted.items() if (p := writable_dir(path, key))]
    if problems:
        raise ConfigError(problems)


@contextmanager
def _app(ctx: click.Context, *folders: Folder) -> Iterator[App]:
    """The App, after checking the folders the command writes to."""
    from monitor.app import App

    settings: Settings = ctx.obj["settings"]
    _check_folders(settings, *folders)
    app = App.from_settings(settings, ctx.obj["config"])
    try:
        yield app
    finally:
        app.close()


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    envvar="MONITOR_CONFIG",
    help="Configuration file (default: ./sources.yaml).",
)
@click.option(
    "--log-level",
    metavar="LEVEL",
    help="DEBUG, INFO, WARNING, ERROR or CRITICAL (default: MONITOR_LOG_LEVEL, else INFO).",
)
@click.version_option(package_name="monitor")
@click.pass_context
@_errors
def cli(ctx: click.Context, config_path: Path | None, log_level: str | None) -> None:
    """Watch agency pages and draft a weekly bulletin on advanced manufacturing and materials."""
    settings = Settings.from_env()
    _configure_logging(_log_level(log_level, settings))
    ctx.obj = {"settings": settings, "config": config_path or settings.config_path}


def _log_level(option: str | None, settings: Settings) -> str:
    """The --log-level option if given (checked here), else the one of the settings."""
    if option is None:
        return settings.log_level
    message = log_level_problem(option)
    if message:
        raise ConfigError([Problem("command line", None, "--log-level", message)])
    return option.upper()


# -- polling ------------------------------------------------------------------------------------


@cli.command()
@click.option("--source", "source_ids", multiple=True, metavar="ID", help="Poll only these.")
@click.pass_context
@_errors
def poll(ctx: click.Context, source_ids: tuple[str, ...]) -> None:
    """Poll sources once and store what is new."""
    with _app(ctx, "database") as app:
        _check_ids(app, source_ids)
        records = _poll_with_progress(app, source_ids)
        fresh = any(r.new for r in records)
        waiting = len(app.flasher.outbox.flashes(status="pending")) if fresh else 0
    _poll_table(records)
    if waiting:
        out.print(f"{waiting} news alerts waiting: `monitor run` sends them (or `flashes send`)")
    if records and all(r.outcome == "error" for r in records):
        sys.exit(1)


def _check_ids(app: App, ids: tuple[str, ...]) -> None:
    known = {s.id for s in app.config.sources}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise click.UsageError(f"unknown source {', '.join(unknown)} (see `monitor status`)")


def _poll_with_progress(app: App, ids: tuple[str, ...]) -> list[PollRecord]:
    if not err.is_terminal:
        return app.poll(ids)
    from rich.progress import Progress

    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("polling", total=len(app.select_sources(ids)))
        return app.poll(ids, on_done=lambda r: progress.advance(task))


TABLE_ROWS = 60  # more sources than this: the table shows only those with news or trouble


def _poll_table(records: list[PollRecord]) -> None:
    table = Table("source", "status", "http", "found", "new", "updated", "error / warnings")
    shown = records
    if len(records) > TABLE_ROWS:
        shown = [r for r in records if r.outcome == "error" or r.new or r.updated or r.warnings]
    for r in shown[: TABLE_ROWS * 10]:
        style = {"error": "red", "not_modified": "dim"}.get(r.outcome, "")
        note = r.error or "; ".join(r.warnings)
        table.add_row(
            r.source_id,
            f"[{style}]{r.outcome}[/]" if style else r.outcome,
            str(r.http_status or ""),
            str(r.found),
            str(r.new),
            str(r.updated),
            note,
        )
    if shown:
        out.print(table)
    if len(shown) < len(records):
        out.print(f"({len(records) - len(shown)} sources without news or warnings not listed)")
    failed = sum(r.outcome == "error" for r in records)
    out.print(f"{len(records)} sources, {failed} failed, {sum(r.new for r in records)} new items")


@cli.command()
@click.option("--once", is_flag=True, help="One polling round, this week's digest, then exit.")
@click.pass_context
@_errors
def run(ctx: click.Context, once: bool) -> None:
    """Run the service: poll sources on their schedules and draft and send the weekly digest."""
    with _app(ctx, "database", "digests") as app:
        if once:
            records = _poll_with_progress(app, ())
            _poll_table(records)
            _send_flashes(app)
            drafted = app.draft(app.week(_current_label(app)))
            _print_drafted(drafted)
            if records and all(r.outcome == "error" for r in records):
                err.print(
                    f"every source failed ({len(records)}): check the network, DNS or proxy; "
                    "the draft lists them",
                    highlight=False,
                )
                sys.exit(1)
            return
        from monitor.service import serve

        code = serve(app)
    sys.exit(code)


def _send_flashes(app: App) -> None:
    """Send the news alerts the round queued (as the service does after each poll)."""
    results = app.flasher.send_due()
    if results:
        sent = sum(status == "sent" for _, status in results)
        out.print(f"news alerts: {sent} sent of {len(results)} due (see `monitor flashes`)")


def _current_label(app: App) -> str:
    from monitor.digest.week import current_week

    return current_week(app.clock(), app.timezone).label


# -- digest -------------------------------------------------------------------------------------


@cli.command()
@click.option("--week", metavar="YYYY-Www", help="ISO week (default: the last complete one).")
@click.option("--profile", metavar="NAME", help="Digest profile (default from sources.yaml).")
@click.option("--send", is_flag=True, help="Also email it to the profiles' recipients (once).")
@click.option("--resend", is_flag=True, help="Email it again even if it was sent.")
@click.option(
    "--format",
    "formats",
    type=click.Choice(["docx"]),
    multiple=True,
    help="Also write this format (md, html and txt are always written; docx = Word).",
)
@click.pass_context
@_errors
def digest(
    ctx: click.Context,
    week: str | None,
    profile: str | None,
    send: bool,
    resend: bool,
    formats: tuple[str, ...],
) -> None:
    """Draft a week's digest into the digest directory (and send it with --send)."""
    with _app(ctx, "database", "digests") as app:
        try:
            chosen = app.week(week)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--week") from e
        if profile and profile not in app.config.digest.profiles:
            known = ", ".join(app.config.digest.profiles)
            raise click.BadParameter(
                f"no profile {profile!r} (defined: {known})", param_hint="--profile"
            )
        word = "docx" in formats
        if not (send or resend):
            _print_drafted(app.draft(chosen, profile, word=word))
            return
        if not app.deliverer.smtp_ready:
            raise click.UsageError("--send needs an SMTP server: set MONITOR_SMTP_HOST")
        _send_digest(app, chosen, profile, resend, word)


def _send_digest(app: App, week: Any, profile: str | None, resend: bool, word: bool) -> None:
    outcomes = app.deliverer.digest(
        week, send=True, resend=resend, profiles=[profile] if profile else None, word=word
    )
    failed = False
    for outcome in outcomes:
        _print_drafted(outcome.drafted)
        to = ", ".join(outcome.recipients) or "nobody"
        out.print(f"  email ({outcome.profile} to {to}): {outcome.note}", highlight=False)
        for d in app.outbox.deliveries(week.label, outcome.profile):
            out.print(
                f"  {d.recipient}: {d.status}" + (f" ({d.last_error})" if d.last_error else ""),
                highlight=False,
            )
            failed = failed or d.status != "sent"
    if failed:
        sys.exit(1)


@cli.group(invoke_without_command=True)
@click.pass_context
@_errors
def deliveries(ctx: click.Context) -> None:
    """List digest deliveries (and retry failed ones with `deliveries retry`)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(deliveries_list)


@deliveries.command("list")
@click.option("--status", type=click.Choice(["pending", "sending", "sent", "failed"]))
@click.pass_context
@_errors
def deliveries_list(ctx: click.Context, status: str | None) -> None:
    """Every delivery: week, profile, recipient, status, attempts, error."""
    with _app(ctx, "database") as app:
        rows = app.outbox.deliveries(status=status)
    table = Table("week", "profile", "recipient", "status", "attempts", "sent", "error")
    for d in rows:
        table.add_row(
            d.week,
            d.profile,
            d.recipient,
            d.status,
            str(d.attempts),
            _when(d.sent_at),
            d.last_error or "",
        )
    out.print(table)


@deliveries.command("retry")
@click.option("--week", metavar="YYYY-Www")
@click.pass_context
@_errors
def deliveries_retry(ctx: click.Context, week: str | None) -> None:
    """Put failed deliveries back in the queue and send what is due now."""
    with _app(ctx, "database", "digests") as app:
        count = app.outbox.requeue_deliveries(app.clock(), week=week)
        results = app.deliverer.send_due()
    out.print(
        f"{count} failed deliveries queued again; sent now: "
        f"{sum(s == 'sent' for _, s in results)} of {len(results)}"
    )
    if any(s != "sent" for _, s in results):
        sys.exit(1)


def _print_drafted(drafted: Any) -> None:
    sections = ", ".join(f"{s.label} {len(s.entries)}" for s in drafted.selection.sections)
    out.print(
        f"digest {drafted.week.label} profile={drafted.profile}: "
        f"{drafted.selection.count} items ({sections or 'none'})"
    )
    for path in drafted.paths:
        out.print(f"  {path}", highlight=False)


# -- classification -----------------------------------------------------------------------------


@cli.command()
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@click.pass_context
@_errors
def stories(ctx: click.Context, file: Any) -> None:
    """Group JSON lines (id, title, summary, url, publisher, date[, language, text, source]) into
    stories, as the service does: the same lines out with a `story` key added."""
    from monitor.stories.cli_lines import group_lines

    config = load_config(ctx.obj["config"])
    written, bad = group_lines(file, sys.stdout, config.publishers, errfile=sys.stderr)
    if bad:
        err.print(f"{written} lines grouped, {bad} lines with errors", highlight=False)
        sys.exit(1)


@cli.group()
def sources() -> None:
    """Check and try source definitions."""


@sources.command("check")
@click.pass_context
@_errors
def sources_check(ctx: click.Context) -> None:
    """Validate the configuration; list every problem with file, line and key."""
    config = load_config(ctx.obj["config"])
    kinds: dict[str, int] = {}
    for source in config.sources:
        kinds[source.kind] = kinds.get(source.kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    out.print(
        f"{config.path}: OK — {len(config.sources)} sources ({summary}), "
        f"{len(config.topics)} topics, {len(config.digest.profiles)} profiles",
        highlight=False,
    )
    from monitor.http.browser import check as browser_check

    for warning in browser_check(config.sources):
        err.print(f"warning: {warning}", markup=False, highlight=False)


@sources.command("try")
@click.argument("source_id", metavar="ID|URL")
@click.pass_context
@_errors
def sources_try(ctx: click.Context, source_id: str) -> None:
    """Fetch and parse one source (its id, or the URL of a page not in the configuration, as
    `sources add` does); show its items and their classification; store nothing."""
    from monitor.cli_sources import add_source, print_items
    from monitor.sources.discover import looks_like_url

    if looks_like_url(source_id):
        url = source_id.strip()
        configured = load_config(ctx.obj["config"]).sources
        known = next((s.id for s in configured if s.url == url), None)
        if known is None:
            add_source(ctx, url)
            return
        source_id = known
    with _app(ctx) as app:
        _check_ids(app, (source_id,))
        result = app.try_source(source_id)
        stories = app.store.stories_of(result.entries)
        if result.error:
            raise MonitorError(f"{source_id}: {result.error}")
        fetched = result.fetched
        assert fetched is not None
        out.print(
            f"{fetched.final_url} → HTTP {fetched.status}, {len(fetched.content)} bytes, "
            f"{len(result.entries)} items",
            highlight=False,
        )
        for warning in result.warnings:
            out.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
        print_items(result.entries, result.decisions, stories)


def _story_note(item_id: int | None, story_id: int | None) -> str:
    if item_id is not None:
        return f"stored as item #{item_id}, story #{story_id}"
    if story_id is not None:
        return f"new; would join story #{story_id}"
    return "new; a story of its own"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def main() -> None:
    cli(prog_name="monitor")


from monitor import (  # noqa: E402, F401  (register `learn`, `status`, `sources add`...)
    cli_classify,
    cli_flashes,
    cli_learn,
    cli_sources,
    cli_status,
)
