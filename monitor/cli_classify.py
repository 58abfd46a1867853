"""``monitor classify``, ``eval``, ``train`` and ``feedback``: the classifier's commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from monitor.cli import _app, _errors, cli, err, load_config, out
from monitor.errors import ConfigError, Problem


@cli.command()
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@click.pass_context
@_errors
def classify(ctx: click.Context, file: Any) -> None:
    """Classify JSON lines (title, summary, url, source[, text]) from FILE or stdin."""
    from monitor.classify.batch import classify_lines
    from monitor.classify.loading import make_classifier

    config = load_config(ctx.obj["config"])
    classifier = make_classifier(config, ctx.obj["settings"].data_dir)
    done, failed = classify_lines(file, sys.stdout, sys.stderr, classifier, config)
    if failed:
        err.print(f"{done} classified, {failed} lines with errors", highlight=False)


@cli.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--cross-validate",
    "scheme",
    type=click.Choice(["publisher", "date"]),
    help="Train on the file itself in folds (by publisher or by date) and score held-out items.",
)
@click.option("--folds", default=5, show_default=True, help="Number of folds (at least 2).")
@click.option(
    "--train-with",
    "train_with",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --cross-validate: labeled items every fold also trains on (items of FILE "
    "itself, by URL or title, left out), e.g. the shipped training set.",
)
@click.pass_context
@_errors
def evaluate(
    ctx: click.Context, file: Path, scheme: str | None, folds: int, train_with: Path | None
) -> None:
    """Precision, recall and F1 of `relevant`, section accuracy, confusion matrix, calibration
    for labeled JSON lines (label 1, 0 or "b"; borderline items are reported apart)."""
    if folds < 2:
        message = f"{folds} (use at least 2 folds)"
        raise ConfigError([Problem("command line", None, "--folds", message)])
    from monitor.classify.batch import doc_from, source_hints
    from monitor.classify.dataset import load_examples
    from monitor.classify.evaluate import (
        calibration,
        calibration_report,
        report,
        score,
        topic_scores,
    )
    from monitor.classify.loading import make_classifier
    from monitor.classify.train import cross_validate

    config = load_config(ctx.obj["config"])
    examples = load_examples(file)
    if train_with and not scheme:
        message = "only with --cross-validate"
        raise ConfigError([Problem("command line", None, "--train-with", message)])
    extra = load_examples(train_with) if train_with else []
    rows = [{"label": e.label, "section": e.section, "topics": e.topics} for e in examples]
    if scheme:
        predictions = [
            {"relevant": p.relevant, "section": p.section, "score": p.score, "topics": p.topics}
            for p in cross_validate(examples, config, scheme, folds, extra=extra)
        ]
        also = f", each fold also trained on {train_with.name}" if train_with else ""
        out.print(
            f"{len(examples)} items, {folds}-fold cross-validation grouped by {scheme}{also}",
            highlight=False,
        )
    else:
        classifier = make_classifier(config, ctx.obj["settings"].data_dir)
        hints = source_hints(config)
        decisions = [
            classifier.classify(
                doc_from({"title": e.title, "summary": e.summary, "source": e.publisher}, hints)
            )
            for e in examples
        ]
        predictions = [
            {"relevant": d.relevant, "section": d.section, "score": d.score, "topics": d.topics}
            for d in decisions
        ]
        out.print(f"{len(examples)} items, classifier {classifier.version}")
    out.print(report(score(rows, predictions)), highlight=False)
    out.print(topic_scores(rows, predictions), highlight=False)
    out.print(calibration_report(calibration(rows, predictions)), highlight=False)


@cli.command()
@click.option(
    "--data",
    "data_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Labeled JSON lines to train on (default: the shipped training set).",
)
@click.option(
    "--cross-validate",
    "scheme",
    type=click.Choice(["publisher", "date"]),
    help="Also print cross-validated figures of this training set.",
)
@click.pass_context
@_errors
def train(ctx: click.Context, data_file: Path | None, scheme: str | None) -> None:
    """Retrain the learned layer on the training set plus editors' feedback."""
    from monitor.classify.evaluate import report, score
    from monitor.classify.train import cross_validate

    with _app(ctx, "database", "data") as app:
        trained = app.train(data_file)
        _print_trained(trained)
        examples = trained.examples
        if scheme:
            predictions = cross_validate(examples, app.config, scheme)
            rows = [{"label": p.example.label, "section": p.example.section} for p in predictions]
            preds = [{"relevant": p.relevant, "section": p.section} for p in predictions]
            out.print(report(score(rows, preds)), highlight=False)


def _print_trained(trained: Any) -> None:
    out.print(
        f"trained on {len(trained.examples)} items ({trained.feedback} from feedback) in "
        f"{trained.seconds} s; vocabulary {trained.vocabulary}; wrote {trained.path}",
        highlight=False,
    )
    if trained.reclassified is not None:
        items, changed = trained.reclassified
        out.print(
            f"classified again the {items} stored items of the weeks not yet sent: "
            f"{changed} changed",
            highlight=False,
        )


@cli.command()
@click.argument("item_id", type=int)
@click.argument("verdict", metavar="relevant|irrelevant|section=NAME")
@click.pass_context
@_errors
def feedback(ctx: click.Context, item_id: int, verdict: str) -> None:
    """Correct the classifier about an item (and its story): every digest not yet sent shows
    it at once; the next `monitor train` learns from it."""
    from monitor.config import SECTIONS

    verdict = verdict.strip().lower()
    if verdict.startswith("section="):
        name = verdict.split("=", 1)[1]
        if name not in (*SECTIONS, "feature"):
            known = ", ".join((*SECTIONS, "feature"))
            raise click.BadParameter(f"unknown section {name!r} (use {known})")
    elif verdict not in ("relevant", "irrelevant"):
        raise click.BadParameter("use relevant, irrelevant or section=NAME")
    with _app(ctx, "database") as app:
        item = app.store.item(item_id)
        if item is None:
            raise click.BadParameter(f"no item {item_id}", param_hint="ITEM_ID")
        app.store.add_feedback(item_id, verdict, app.clock())
    out.print(
        f"feedback on item {item_id} ({item.title!r}): {verdict}; "
        "digests drafted from now on follow it; `monitor train` learns from it",
        highlight=False,
    )


# -- sources ------------------------------------------------------------------------------------
