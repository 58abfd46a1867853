"""``monitor learn``: the editors' published issue as labels (see ``monitor.learn``)."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli import _app, _errors, cli, out
from monitor.cli_classify import _print_trained


@cli.command()
@click.argument("published", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--week", metavar="YYYY-Www", help="The week the issue covers (default: read).")
@click.option("--profile", metavar="NAME", help="Its profile (default: by its layout).")
@click.option("--no-resolve", is_flag=True, help="Do not follow the redirects of cited links.")
@click.option("--no-train", is_flag=True, help="Record the labels only; train later.")
@click.pass_context
@_errors
def learn(
    ctx: click.Context,
    published: Path,
    week: str | None,
    profile: str | None,
    no_resolve: bool,
    no_train: bool,
) -> None:
    """Learn from an issue the editors published (text, Markdown, Word): what they kept, in
    which section, what they dropped, and what they cited that no source brought."""
    from monitor.learn.run import LearnError, learn

    with _app(ctx, "database", "data") as app:
        if profile and profile not in app.config.digest.profiles:
            known = ", ".join(app.config.digest.profiles)
            raise click.BadParameter(f"no profile {profile!r} (defined: {known})")
        try:
            done = learn(
                app,
                published,
                week=week,
                profile=profile,
                resolve=not no_resolve,
                train=not no_train,
            )
        except LearnError as e:
            raise click.ClickException(str(e)) from e
        except ValueError as e:  # a --week that is not a week
            raise click.BadParameter(str(e), param_hint="--week") from e
    say = lambda text: out.print(text, highlight=False)  # noqa: E731
    say(
        f"{done.name}: {done.layout} layout, week {done.week}, profile {done.profile}: "
        f"{len(done.matches)} entries, {sum(1 for m in done.matches if m.items)} matched "
        "to stored items"
    )
    if done.already:
        say("already learned (the same entries): nothing changed")
        return
    for n, match in enumerate(done.matches, start=1):
        found = ", ".join(f"#{i} ({how})" for i, how in zip(match.items, match.how, strict=True))
        section = match.entry.section or "-"
        say(f"  {n}. [{section}] {match.entry.headline[:60]} → {found or 'not stored'}")
    drafted = (
        "no draft of that week was recorded"
        if done.drafted is None
        else (f"{len(done.drafted)} entries in the draft the editors saw")
    )
    if done.cautious:
        drafted += " (the issue matched too little of it: none marked dropped)"
    say(f"labels: {done.kept} kept (relevant), {done.dropped} dropped (not relevant); {drafted}")
    if done.missed:
        say("cited but never seen, by host:")
        for host, missed in done.missed.items():
            watched = "watched" if missed["watched"] else "NO SOURCE WATCHES THIS HOST"
            say(f"  {host} ({watched}): {len(missed['citations'])}")
            for citation in missed["citations"]:
                say(f"    - {citation['title'] or ''} {citation['url'] or ''}".rstrip())
    if done.trained is not None:
        _print_trained(done.trained)
    say(f"the corrected draft: monitor digest --week {done.week} --profile {done.profile}")
