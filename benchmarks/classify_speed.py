"""Items per second of the classifier on one core, title + summary only.

    python benchmarks/classify_speed.py [ITEMS.jsonl] [--repeat N]

Without a file it uses the titles and summaries of the feeds in tests/data. Prints figures; the
target (issue "Classification that matches the editors") is at least 2,000 items/s.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from monitor.classify import Classifier, Doc
from monitor.config import load_config
from monitor.sources import registry
from monitor.sources.rss import RssSource

ROOT = Path(__file__).resolve().parent.parent


def fixture_docs() -> list[Doc]:
    source = RssSource(id="b", name="b", kind="rss", url="https://x.gov/", publisher="nsf")
    docs = []
    kind = registry.get("rss")
    for path in sorted((ROOT / "tests" / "data").glob("*.xml")):
        for item in kind.parse(path.read_bytes(), "https://x.gov/", None, source).items:
            docs.append(Doc(title=item.title, summary=item.summary))
    return docs


def file_docs(path: Path) -> list[Doc]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [Doc(title=r["title"], summary=r.get("summary") or "") for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("items", nargs="?", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    docs = file_docs(args.items) if args.items else fixture_docs()
    started = time.perf_counter()
    classifier = Classifier(load_config(ROOT / "sources.yaml"))
    setup = time.perf_counter() - started
    classifier.classify(docs[0])  # warm up
    started = time.perf_counter()
    for _ in range(args.repeat):
        for doc in docs:
            classifier.classify(doc)
    elapsed = time.perf_counter() - started
    count = len(docs) * args.repeat
    print(f"classifier set-up {setup * 1000:.0f} ms")
    print(f"{count} items in {elapsed:.2f} s: {count / elapsed:,.0f} items/s (one core)")


if __name__ == "__main__":
    main()
