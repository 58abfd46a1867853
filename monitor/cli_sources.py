"""``monitor sources add | list | import | export`` (and ``sources try URL``): a thin layer over
``monitor.sources.discover`` and ``monitor.opml``, registered on the ``sources`` group."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from monitor.cli import _app, _errors, _story_note, err, load_config, out, sources
from monitor.errors import ConfigError, MonitorError, Problem

if TYPE_CHECKING:
    from monitor.items import Classification, Entry
    from monitor.sources.discover import Addition, Discovery, Trial

SHOWN_ITEMS = 20  # items shown per candidate by `sources add`


@sources.command("add")
@click.argument("url")
@click.option(
    "--write", is_flag=True, help="Append the definition to the configuration file in use."
)
@click.option("--id", "source_id", metavar="ID", help="The source's id (default: from the URL).")
@click.option(
    "--publisher", metavar="KEY", help="Publisher key (default: the glossary's for the host)."
)
@click.pass_context
@_errors
def sources_add(
    ctx: click.Context, url: str, write: bool, source_id: str | None, publisher: str | None
) -> None:
    """Find the feed of the page at URL (or selectors for its listing), show what it would
    store, and print its checked definition (or append it to sources.yaml with --write)."""
    add_source(ctx, url, write=write, source_id=source_id, publisher=publisher)


def add_source(
    ctx: click.Context,
    url: str,
    *,
    write: bool = False,
    source_id: str | None = None,
    publisher: str | None = None,
) -> None:
    """``sources add`` (and ``sources try URL``, which never writes)."""
    from monitor.parsing import InlineParser
    from monitor.sources.discover import Addition, discover, looks_like_url

    if not looks_like_url(url):
        raise click.BadParameter(f"{url!r} is not an http(s) URL", param_hint="URL")
    from monitor.config import SLUG

    for value, option in ((source_id, "--id"), (publisher, "--publisher")):
        if value is not None and not SLUG.match(value):
            message = f"{value!r}: use lowercase letters, digits, '-' or '_'"
            raise click.BadParameter(message, param_hint=option)
    with _app(ctx) as app:
        if source_id and any(s.id == source_id for s in app.config.sources):
            raise click.BadParameter(f"a source {source_id!r} exists", param_hint="--id")
        found = discover(
            url,
            client=app.client,
            parser=InlineParser(app.classifier),
            config=app.config,
            now=app.clock(),
            source_id=source_id,
            publisher=publisher,
        )
        _print_discovery(found)
        chosen = found.chosen
        if chosen is None or chosen.parsed is None:
            raise MonitorError(
                f"{url}: no feed that works, and no listing of repeated blocks with a link and "
                "a date: write the html selectors by hand (docs/sources.md)"
            )
        stories = app.store.stories_of(chosen.parsed.entries)
        print_items(chosen.parsed.entries, chosen.parsed.decisions, stories, SHOWN_ITEMS)
        today = app.clock().date().isoformat()
    comment = (
        f"checked against: the live {'feed' if chosen.source.kind == 'rss' else 'listing'} "
        f"by `monitor sources add` on {today} ({chosen.items} items, {chosen.dated} dated, "
        f"{chosen.relevant} relevant)"
    )
    addition = Addition([found.source], found.new_publisher, comment)
    _add(Path(ctx.obj["config"]), addition, write)


def _add(path: Path, addition: Addition, write: bool) -> None:
    """Print the checked block, or append it (and new glossary entries) to ``path``."""
    from monitor.sources.discover import add_to_text, append_to_file, check_text

    if write:
        append_to_file(path, addition)
        ids = ", ".join(s["id"] for s in addition.sources)
        out.print(f"\nadded to {path}: {ids} (the whole file checked)", highlight=False)
    else:
        check_text(add_to_text(path.read_text(encoding="utf-8"), addition), str(path))
        _print_block(addition)
    for key, entry in addition.publishers.items():
        out.print(
            f"new publisher {key!r} ({entry['name']}): "
            + ("added to" if write else "add it to")
            + " `publishers:` and fill in name_zh, abbr, country_zh and kind",
            highlight=False,
        )


def _print_block(addition: Addition) -> None:
    from monitor.sources.discover import publisher_lines, source_block

    out.print(
        "\nchecked definition (with it the configuration validates); "
        "append it to `sources:`, or run again with --write:",
        highlight=False,
    )
    out.print(source_block(addition).rstrip("\n"), markup=False, highlight=False)
    if addition.publishers:
        out.print("and in `publishers:`:", highlight=False)
        out.print(publisher_lines(addition.publishers).rstrip("\n"), markup=False)


def _print_discovery(found: Discovery) -> None:
    page = found.page
    out.print(
        f"{page.final_url} → HTTP {page.status}, {len(page.content)} bytes"
        + (f", {found.info.title!r}" if found.info.title else ""),
        markup=False,
        highlight=False,
    )
    for trial in found.trials:
        _print_trial(trial, trial is found.chosen)


def _print_trial(trial: Trial, chosen: bool) -> None:
    mark = "[green]✓[/]" if trial.works else "[red]✗[/]"
    where = escape(trial.fetched.final_url if trial.fetched else trial.source.url)
    what = f"{trial.source.kind}, {escape(trial.how)}"
    if trial.error is not None:
        result = escape(trial.error)
    else:
        result = f"{trial.items} items, {trial.dated} dated, {trial.relevant} relevant"
    out.print(
        f"  {mark} {where} ({what}): {result}" + ("  [bold]← chosen[/]" if chosen else ""),
        highlight=False,
    )
    selectors = getattr(trial.source, "selectors", None)
    if selectors is not None:
        dumped = selectors.model_dump(exclude_defaults=True)
        out.print("      " + escape(str(dumped)), highlight=False)
    for warning in trial.parsed.warnings if trial.parsed else []:
        out.print(f"      [yellow]warning:[/yellow] {escape(warning)}", highlight=False)


def print_items(
    entries: Sequence[Entry],
    decisions: Sequence[Classification],
    stories: Sequence[tuple[int | None, int | None]],
    limit: int | None = None,
) -> None:
    """Each item with its date, the classifier's decision and why, and its story."""
    shown = list(zip(entries, decisions, stories, strict=True))[:limit]
    for number, (entry, decision, story) in enumerate(shown, start=1):
        verdict = "[green]relevant[/]" if decision.relevant else "[dim]not relevant[/]"
        out.print(
            f"\n[bold]{number}.[/] {entry.published_date or '—'} ({entry.date_source})  "
            f"{verdict} {decision.score:.2f}  {decision.section}  "
            f"{', '.join(decision.topics) or '-'}",
            highlight=False,
        )
        out.print(f"   {entry.title}", markup=False, highlight=False)
        out.print(f"   {entry.url}", markup=False, highlight=False)
        out.print(f"   story: {_story_note(*story)}", highlight=False)
        if entry.date_note:
            out.print(f"   note: {entry.date_note}", markup=False, highlight=False)
        for reason in decision.why:
            out.print(f"   why: {reason}", markup=False, highlight=False)
    if len(entries) > len(shown):
        out.print(f"\n({len(entries) - len(shown)} more items not shown)")


# -- list -----------------------------------------------------------------------------------------


@sources.command("list")
@click.pass_context
@_errors
def sources_list(ctx: click.Context) -> None:
    """Every source: id, kind, publisher, enabled, url."""
    config = load_config(ctx.obj["config"])
    table = Table("id", "kind", "publisher", "enabled", "url")
    for source in config.sources:
        enabled = "yes" if source.enabled else "[dim]no[/]"
        table.add_row(source.id, source.kind, source.publisher, enabled, escape(source.url))
    out.print(table)
    out.print(f"{len(config.sources)} sources", highlight=False)


# -- OPML -----------------------------------------------------------------------------------------


@sources.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--write", is_flag=True, help="Append the sources to the configuration file in use.")
@click.pass_context
@_errors
def sources_import(ctx: click.Context, file: Path, write: bool) -> None:
    """Sources from an OPML subscription list: each feed an `rss` source, the publisher from
    the glossary when the host is known (else a new key to fill in)."""
    from monitor.opml import plan_import, read_opml
    from monitor.sources.discover import Addition

    path = Path(ctx.obj["config"])
    config = load_config(path)
    try:
        data = file.read_bytes()
    except OSError as e:
        raise ConfigError([Problem(str(file), None, "", f"cannot read: {e.strerror}")]) from e
    plan = plan_import(read_opml(data, str(file)), config)
    for outline, existing in plan.known:
        out.print(f"already polled as {existing}: {outline.xml_url}", markup=False)
    for outline in plan.skipped:
        out.print(
            f"skipped (no feed; try `monitor sources add {outline.html_url}`): {outline.title}",
            markup=False,
            highlight=False,
        )
    if not plan.sources:
        out.print(f"{file}: no new feeds to add", highlight=False)
        return
    comment = f"imported from {file.name} by `monitor sources import` (not yet tried)"
    _add(path, Addition(plan.sources, plan.publishers, comment), write)
    out.print(
        f"{len(plan.sources)} feeds, {len(plan.publishers)} new publishers, "
        f"{len(plan.known)} already polled, {len(plan.skipped)} without a feed",
        highlight=False,
    )


@sources.command("export")
@click.argument("file", default="-", type=click.Path(dir_okay=False, allow_dash=True))
@click.pass_context
@_errors
def sources_export(ctx: click.Context, file: str) -> None:
    """Write the sources as OPML 2.0 to FILE (default: standard output)."""
    from monitor.opml import write_opml

    config = load_config(ctx.obj["config"])
    document = write_opml(config, datetime.now(UTC))
    if file == "-":
        sys.stdout.buffer.write(document)
        sys.stdout.flush()
        return
    _write_file(Path(file), document)
    err.print(f"wrote {len(config.sources)} outlines to {file}", highlight=False)


def _write_file(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as e:
        raise ConfigError([Problem(str(path), None, "", f"cannot write: {e.strerror}")]) from e
