"""How fast the commands people wait for are, start-up included.

    python benchmarks/command_speed.py [--repeat 3]

- ``monitor --help`` and ``monitor status`` (30 sources, a store of 20,000 items): targets
  under 0.5 s;
- ``monitor digest`` of a week of 2,000 items (two sources, a third of them relevant, some
  stories): target under 1 s for the drafting itself (printed apart from start-up);
- ``monitor classify`` on 10,000 JSON lines, start-up included, of the shipped training set
  (a third Chinese) and of its English items: target at least 2,000 items/s.

Each figure is the best of ``--repeat`` runs (the machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WEEK_START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # Monday of 2026-W47


def best(command: list[str], env: dict[str, str], repeat: int, stdin: str = "") -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(
            command, env=env, input=stdin, text=True, check=True, stdout=subprocess.DEVNULL
        )
        times.append(time.perf_counter() - started)
    return min(times)


def prepare(work: Path) -> dict[str, str]:
    """A configuration of 30 sources and a store holding 20,000 items, 2,000 in 2026-W47."""
    from monitor.config import load_config
    from monitor.dedup import canonical_url
    from monitor.items import Classification, Entry
    from monitor.store import Store

    shipped = yaml.safe_load((ROOT / "sources.yaml").read_text(encoding="utf-8"))
    path = work / "sources.yaml"
    path.write_text(yaml.safe_dump(shipped, allow_unicode=True), encoding="utf-8")
    config = load_config(path)
    store = Store(f"sqlite:///{work / 'monitor.db'}", publishers=config.publishers)
    store.sync_sources(config.sources, WEEK_START)
    rng = random.Random(3)
    words = [f"term{i}" for i in range(5000)] + ["graphene", "semiconductor", "battery"]
    sources = [s.id for s in config.sources][:10]
    for batch in range(400):
        day = WEEK_START - timedelta(days=rng.randrange(60)) if batch >= 40 else WEEK_START
        entries = []
        for i in range(50):
            url = f"https://agency.example.gov/{batch}/{i}"
            relevant = rng.random() < 0.33
            entry = Entry(
                source_id=sources[batch % len(sources)],
                publisher=config.source(sources[batch % len(sources)]).publisher,
                canonical_url=canonical_url(url),
                url=url,
                guid=None,
                title=" ".join(rng.sample(words, 8)),
                summary=" ".join(rng.sample(words, 25)) + ".",
                published_at=day + timedelta(days=rng.randrange(7)),
                published_date=(day + timedelta(days=rng.randrange(7))).date(),
                date_source="feed",
                date_note=None,
                language="en",
            )
            decision = Classification(
                relevant, rng.random(), ("semiconductors",), "research", ("semiconductors",)
            )
            entries.append((entry, decision))
        store.save_entries(entries, day)
    store.close()
    return os.environ | {
        "MONITOR_CONFIG": str(path),
        "MONITOR_DATABASE_URL": f"sqlite:///{work / 'monitor.db'}",
        "MONITOR_DIGEST_DIR": str(work / "digests"),
        "MONITOR_LOG_LEVEL": "WARNING",
    }


def draft_seconds(env: dict[str, str]) -> float:
    """The drafting alone, in process (start-up apart)."""
    code = (
        "import time\n"
        "from monitor.app import App\n"
        "from monitor.settings import Settings\n"
        "app = App.from_settings(Settings.from_env())\n"
        "week = app.week('2026-W47')\n"
        "app.store\n"
        "started = time.perf_counter()\n"
        "drafted = app.draft(week)\n"
        "print(time.perf_counter() - started, drafted.selection.count)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, text=True, check=True, capture_output=True
    )
    seconds, _count = out.stdout.split()
    return float(seconds)


CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def classify_lines(count: int, chinese: bool = True) -> str:
    """``count`` lines cycling through the shipped training set (a third of it Chinese: an
    item written in Chinese has five times the features of an English one), or through its
    English items only (what agency feeds mostly bring)."""
    rows = [
        json.loads(line)
        for line in (ROOT / "monitor" / "data" / "training.jsonl").read_text().splitlines()
        if line.strip()
    ]
    if not chinese:
        rows = [r for r in rows if not CJK.search(r["title"] + r.get("summary", ""))]
    return "\n".join(
        json.dumps({"title": r["title"], "summary": r.get("summary", ""), "source": ""})
        for r in (rows[i % len(rows)] for i in range(count))
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    monitor = [sys.executable, "-m", "monitor"]
    with tempfile.TemporaryDirectory() as tmp:
        env = prepare(Path(tmp))
        rows = [
            ("monitor --help", best([*monitor, "--help"], env, args.repeat), "< 0.5 s"),
            (
                "monitor status (20,000 items)",
                best([*monitor, "status"], env, args.repeat),
                "< 0.5 s",
            ),
            (
                "monitor digest --week 2026-W47 (whole command)",
                best([*monitor, "digest", "--week", "2026-W47"], env, args.repeat),
                "",
            ),
            (
                "  drafting 2,000 items (in process)",
                min(draft_seconds(env) for _ in range(args.repeat)),
                "< 1 s",
            ),
        ]
        speeds = []
        for name, chinese in (("training set, 1/3 Chinese", True), ("English items", False)):
            lines = classify_lines(10_000, chinese)
            seconds = best([*monitor, "classify", "-"], env, args.repeat, lines)
            rows.append((f"monitor classify, 10,000 lines ({name})", seconds, ">= 2,000 items/s"))
            speeds.append(f"{10_000 / seconds:,.0f} items/s ({name})")
    print(f"{'command':<58} {'seconds':>8}  target")
    for name, seconds, target in rows:
        print(f"{name:<58} {seconds:>8.2f}  {target}")
    print(f"classify, start-up included: {'; '.join(speeds)}")


if __name__ == "__main__":
    main()
