"""Editors' feedback reaches the next training; `monitor eval` measures any labeled file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from monitor.app import make_classifier
from monitor.classify.model import Model
from monitor.cli import cli
from monitor.config import load_config
from monitor.store import Store
from tests.conftest import ROOT, base_config, data, serve, source, write_config


def env_for(tmp_path: Path, db_url: str, config: Path) -> dict[str, str]:
    return {
        "MONITOR_DATABASE_URL": db_url,
        "MONITOR_ALLOW_PRIVATE_HOSTS": "1",
        "MONITOR_CONFIG": str(config),
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
        "MONITOR_DIGEST_DIR": str(tmp_path / "d"),
    }


def test_feedback_then_train_uses_it(tmp_path: Path, db_url: str, site: HTTPServer) -> None:
    serve(site, "/ukri/feed/", data("ukri_wordpress_feed.xml"), "application/rss+xml")
    config = write_config(
        tmp_path / "sources.yaml",
        base_config(sources=[source("ukri-news", "rss", site.url_for("/ukri/feed/"), "ukri")]),
    )
    env = env_for(tmp_path, db_url, config)
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], env=env).exit_code == 0
    store = Store(db_url)
    items = store.items_in_period(
        date(2024, 9, 16),
        date(2024, 9, 29),
        datetime(2024, 9, 16, tzinfo=UTC),
        datetime(2024, 9, 30, tzinfo=UTC),
    )
    budget = next(i for i in items if "budget" in i.title)
    store.close()
    for verdict in ("relevant", "section=strategy"):
        result = runner.invoke(cli, ["feedback", str(budget.id), verdict], env=env)
        assert result.exit_code == 0, result.output
    bad = runner.invoke(cli, ["feedback", str(budget.id), "section=sports"], env=env)
    assert bad.exit_code == 2 and "unknown section" in bad.output
    missing = runner.invoke(cli, ["feedback", "999999", "relevant"], env=env)
    assert missing.exit_code == 2 and "no item 999999" in missing.output

    store = Store(db_url)
    (example,) = store.feedback_examples({"ukri-news": None})
    store.close()
    assert (example.label, example.section, example.title) == ("1", "strategy", budget.title)

    trained = runner.invoke(cli, ["train"], env=env)
    assert trained.exit_code == 0, trained.output
    assert "(1 from feedback)" in trained.output
    retrained = tmp_path / "data" / "model.json"
    model = Model.load(retrained)
    assert model.meta["feedback"] == 1
    classifier = make_classifier(load_config(config), tmp_path / "data")
    assert classifier.model is not None and classifier.model.version == model.version


def test_eval_reports_scores_and_borderline_apart(tmp_path: Path) -> None:
    rows = [
        {
            "title": "NSF awards $42M for semiconductor manufacturing",
            "label": 1,
            "section": "funding",
            "publisher": "nsf",
        },
        {
            "title": "Graphene transistor made by researchers",
            "label": 1,
            "section": "research",
            "publisher": "mit",
        },
        {"title": "Navy christens a destroyer", "label": 0, "section": None, "publisher": "war"},
        {
            "title": "Broad innovation policy touches manufacturing",
            "label": "b",
            "section": "strategy",
            "publisher": "whitehouse",
        },
    ]
    path = tmp_path / "labeled.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    env = {"MONITOR_DATA_DIR": str(tmp_path / "none")}
    result = CliRunner().invoke(
        cli, ["--config", str(ROOT / "sources.yaml"), "eval", str(path)], env=env
    )
    assert result.exit_code == 0, result.output
    assert "precision 1.000  recall 1.000" in result.output
    assert "borderline 1 items" in result.output
    assert "section    accuracy" in result.output and "Brier" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x", "label": "maybe"}\n', encoding="utf-8")
    failed = CliRunner().invoke(cli, ["--config", str(ROOT / "sources.yaml"), "eval", str(bad)])
    assert failed.exit_code == 2 and f"{bad}:1:" in failed.output


def entries_by_section(path: Path) -> dict[str, list[str]]:
    """Section label → the original titles of its entries, from a drafted cas Markdown file."""
    sections: dict[str, list[str]] = {}
    current = ""
    lines = path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines):
        if line.startswith("## ") and line != "## 目录":
            current = line[3:]
        if line.startswith("编译自["):
            title = next(t for t in lines[n + 1 :] if t.strip())
            sections.setdefault(current, []).append(title.replace("\\", ""))
    return sections


def test_corrections_reach_the_draft_at_once_and_survive_training(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    serve(site, "/ukri/feed/", data("ukri_wordpress_feed.xml"), "application/rss+xml")
    config = write_config(
        tmp_path / "sources.yaml",
        base_config(sources=[source("ukri-news", "rss", site.url_for("/ukri/feed/"), "ukri")]),
    )
    env = env_for(tmp_path, db_url, config)
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], env=env).exit_code == 0
    week = ["digest", "--week", "2024-W39"]
    assert runner.invoke(cli, week, env=env).exit_code == 0
    draft = tmp_path / "d" / "2024-W39.cas.md"
    before = entries_by_section(draft)
    assert sum(len(t) for t in before.values()) >= 2, before
    store = Store(db_url)
    items = {
        i.title: i
        for i in store.items_in_period(
            date(2024, 9, 23),
            date(2024, 9, 29),
            datetime(2024, 9, 23, tzinfo=UTC),
            datetime(2024, 9, 30, tzinfo=UTC),
        )
    }
    store.close()
    shown = [t for titles in before.values() for t in titles]
    dropped, moved = items[shown[0]], items[shown[1]]
    target = "research" if moved.section != "research" else "industry"
    label = {"research": "研究进展", "industry": "行业观察"}[target]
    for item_id, verdict in ((dropped.id, "irrelevant"), (moved.id, f"section={target}")):
        assert runner.invoke(cli, ["feedback", str(item_id), verdict], env=env).exit_code == 0
    assert runner.invoke(cli, week, env=env).exit_code == 0
    after = entries_by_section(draft)
    assert all(dropped.title not in titles for titles in after.values())  # gone at once
    assert moved.title in after[label]  # in the editors' section at once
    trained = runner.invoke(cli, ["train"], env=env)
    assert trained.exit_code == 0, trained.output
    assert "classified again the" in trained.output
    assert runner.invoke(cli, week, env=env).exit_code == 0
    assert entries_by_section(draft) == after  # the explicit correction still wins


def test_a_sent_digest_changes_only_when_resent(
    tmp_path: Path, db_url: str, site: HTTPServer, mailserver: Any
) -> None:
    serve(site, "/ukri/feed/", data("ukri_wordpress_feed.xml"), "application/rss+xml")
    cfg = base_config(sources=[source("ukri-news", "rss", site.url_for("/ukri/feed/"), "ukri")])
    cfg["digest"]["profiles"]["cas"]["recipients"] = ["editor@example.org"]
    env = env_for(tmp_path, db_url, write_config(tmp_path / "sources.yaml", cfg)) | {
        "MONITOR_SMTP_HOST": "127.0.0.1",
        "MONITOR_SMTP_PORT": str(mailserver.port),
        "MONITOR_SMTP_TLS": "none",
    }
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], env=env).exit_code == 0
    send = ["digest", "--week", "2024-W39", "--profile", "cas", "--send"]
    assert runner.invoke(cli, send, env=env).exit_code == 0
    first = mailserver.wait_for(1)[0].message.get_body(("plain",)).get_content()
    draft = tmp_path / "d" / "2024-W39.cas.md"
    dropped = next(t for titles in entries_by_section(draft).values() for t in titles)
    assert dropped in first
    store = Store(db_url)
    item = next(
        i
        for i in store.items_in_period(
            date(2024, 9, 23),
            date(2024, 9, 29),
            datetime(2024, 9, 23, tzinfo=UTC),
            datetime(2024, 9, 30, tzinfo=UTC),
        )
        if i.title == dropped
    )
    store.close()
    assert runner.invoke(cli, ["feedback", str(item.id), "irrelevant"], env=env).exit_code == 0
    trained = runner.invoke(cli, ["train"], env=env)
    assert "classified again the" in trained.output
    again = runner.invoke(cli, send, env=env)
    assert "already sent" in again.output and len(mailserver.received) == 1  # nothing behind
    resent = runner.invoke(cli, [*send, "--resend"], env=env)
    assert resent.exit_code == 0, resent.output
    second = mailserver.wait_for(2)[1].message.get_body(("plain",)).get_content()
    assert dropped not in second  # the corrected digest, when the editors ask for it
