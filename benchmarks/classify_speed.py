"""Items per second of the classifier on one core, title + summary only; and training time.

    python benchmarks/classify_speed.py [ITEMS.jsonl] [--repeat N]

Without a file it uses the shipped training set (monitor/data/training.jsonl). Prints figures for
the rules alone and for rules + the shipped model, then the time to train the model. Target:
at least 2,000 items/s.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from monitor.classify import Classifier, Doc
from monitor.classify.dataset import SHIPPED, load_examples
from monitor.classify.model import PACKAGED, Model
from monitor.classify.train import fit
from monitor.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def docs_of(path: Path) -> list[Doc]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [
        Doc(title=r["title"], summary=r.get("summary") or "", publisher=r.get("publisher") or "")
        for r in rows
    ]


def rate(classifier: Classifier, docs: list[Doc], repeat: int) -> tuple[int, float]:
    classifier.classify(docs[0])  # warm up
    started = time.perf_counter()
    for _ in range(repeat):
        for doc in docs:
            classifier.classify(doc)
    return len(docs) * repeat, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("items", nargs="?", type=Path, default=SHIPPED)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    config = load_config(ROOT / "sources.yaml")
    docs = docs_of(args.items)
    started = time.perf_counter()
    model = Model.load(PACKAGED)
    print(f"model load {1000 * (time.perf_counter() - started):.0f} ms ({len(model.idf):,} terms)")
    for name, classifier in (
        ("rules", Classifier(config)),
        ("rules + model", Classifier(config, model)),
    ):
        count, elapsed = rate(classifier, docs, args.repeat)
        print(f"{name:>14}: {count} items in {elapsed:.2f} s = {count / elapsed:,.0f} items/s")
    examples = load_examples(SHIPPED, "shipped")
    started = time.perf_counter()
    fit(examples, config)
    print(f"training on {len(examples)} items: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
