"""A week corrected by a real published issue: the devdata items of September 2024 stored as
the service stores them, their digest drafted, then `monitor learn` reads the real CAS issue
that covers them (../shared/reference/cas-bulletin-2024-issue.txt) and the week is drafted
again. Prints both drafts' sections and what learn matched and missed.

    python benchmarks/learn_demo.py [labeled.jsonl] [issue.txt]
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.app import App  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.dedup import canonical_url, clean_link  # noqa: E402
from monitor.items import Entry  # noqa: E402
from monitor.learn.run import learn  # noqa: E402
from monitor.parsing import classify_entry  # noqa: E402
from monitor.settings import Settings  # noqa: E402


def sections(app: App, week: str) -> dict[str, list[str]]:
    drafted = app.draft(app.week(week), "cas")
    return {s.label: [e.item.title[:70] for e in s.entries] for s in drafted.selection.sections}


def main() -> None:
    shared = ROOT.parent / "shared"
    labeled = Path(sys.argv[1]) if len(sys.argv) > 1 else shared / "devdata/labeled_items.jsonl"
    issue = (
        Path(sys.argv[2]) if len(sys.argv) > 2 else shared / "reference/cas-bulletin-2024-issue.txt"
    )
    rows = [json.loads(line) for line in labeled.read_text(encoding="utf-8").splitlines() if line]
    rows = [r for r in rows if "2024-09-09" <= r["date"] <= "2024-10-06"]
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(ROOT / "sources.yaml")
        settings = Settings(
            config_path=ROOT / "sources.yaml",
            database_url=f"sqlite:///{tmp}/demo.db",
            digest_dir=Path(tmp) / "digests",
            data_dir=Path(tmp) / "data",
        )
        app = App(settings, config, clock=lambda: datetime(2024, 10, 7, tzinfo=UTC))
        decided = []
        for r in rows:
            day = date.fromisoformat(r["date"])
            entry = Entry(
                source_id=f"demo-{r['publisher']}",
                publisher=r["publisher"],
                canonical_url=canonical_url(r["url"]),
                url=clean_link(r["url"]),
                guid=None,
                title=r["title"],
                summary=r.get("summary") or "",
                published_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
                published_date=day,
                date_source="feed",
                date_note=None,
                language="zh" if r["publisher"] == "cctv" else "en",
            )
            decided.append((entry, classify_entry(app.classifier, entry)))
        app.store.save_entries(decided, app.clock())
        weeks = sorted({app.week(None).label} | {"2024-W38", "2024-W39"})
        before = {w: sections(app, w) for w in weeks if w in ("2024-W38", "2024-W39")}
        done = learn(app, issue, resolve=False, train=True)
        after = {w: sections(app, w) for w in before}
        print(f"{len(rows)} items stored ({sum(r['label'] == 1 for r in rows)} labeled relevant)")
        print(
            f"learn {issue.name}: week {done.week}, {len(done.matches)} entries, "
            f"{sum(1 for m in done.matches if m.items)} matched; "
            f"{done.kept} kept labels, {done.dropped} dropped"
        )
        for m in done.matches:
            how = ", ".join(done_how for done_how in m.how) or "not stored"
            print(f"  [{m.entry.section}] {m.entry.headline[:40]} -> {how}")
        for host, missed in done.missed.items():
            print(f"  missed {host}: {len(missed['citations'])} (watched: {missed['watched']})")
        for week in before:
            print(f"\n{week} before:")
            for label, titles in before[week].items():
                print(f"  {label}: {len(titles)}  {titles}")
            print(f"{week} after:")
            for label, titles in after[week].items():
                print(f"  {label}: {len(titles)}  {titles}")
        app.close()


if __name__ == "__main__":
    main()
