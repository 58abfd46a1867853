"""Cost of storing new items as the store grows, and the plans of the queries that matter.

    python benchmarks/store_speed.py [--sizes 10000,100000,1000000] [--database URL]

Fills a fresh database (SQLite in a temporary folder, or ``--database``, e.g. a PostgreSQL URL)
with synthetic items spread over two years, up to each size in turn; at each size stores 40
polls of 50 new items through ``Store.save_entries`` (the story index included, as in the
service) and prints the milliseconds per new item: with the story features made in process (the
service), and made beforehand (a large round, whose worker processes make them). Then prints
EXPLAIN for the queries a poll, ``status`` and the digest run. Target: at most 1 ms per new
item at 1M stored items, flat.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from monitor.config import SourceConfig
from monitor.dedup import canonical_url
from monitor.items import Classification, Entry
from monitor.store import Store
from monitor.store.models import ItemRow, ItemSourceRow
from monitor.stories.entries import doc_of

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
SOURCES = 200
DECISION = Classification(True, 0.8, ("semiconductors",), "funding", ("why",))
WORDS = [f"w{i}" for i in range(30000)]


def key(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()


def fill(store: Store, start: int, stop: int, rng: random.Random) -> None:
    """Items start..stop-1, first seen over the two years before NOW, in bulk."""
    chunk = 10_000
    for first in range(start, stop, chunk):
        items, links = [], []
        for n in range(first, min(first + chunk, stop)):
            seen = NOW - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
            url = f"https://agency{n % 97}.example.gov/news/{n}"
            items.append(
                {
                    "id": n + 1,
                    "url_key": key(canonical_url(url)),
                    "canonical_url": canonical_url(url),
                    "url": url,
                    "title": " ".join(rng.sample(WORDS, 8)),
                    "summary": " ".join(rng.sample(WORDS, 20)),
                    "language": "en",
                    "publisher": "nsf",
                    "published_date": seen.date(),
                    "date_source": "feed",
                    "first_seen_at": seen,
                    "updated_at": seen,
                    "fingerprint": "x",
                    "story_id": n + 1,
                    "relevant": rng.random() < 0.3,
                    "score": rng.random(),
                    "section": "research",
                    "topics": [],
                    "why": [],
                    "classifier_version": "",
                }
            )
            links.append(
                {
                    "item_id": n + 1,
                    "source_id": f"s{n % SOURCES}",
                    "url": url,
                    "first_seen_at": seen,
                    "last_seen_at": seen,
                }
            )
        with store.session() as s:
            s.execute(insert(ItemRow), items)
            s.execute(insert(ItemSourceRow), links)
    with store.engine.begin() as c:
        if store.engine.dialect.name == "postgresql":
            c.execute(text("SELECT setval(pg_get_serial_sequence('items', 'id'), :n)"), {"n": stop})
        c.execute(text("ANALYZE"))
    with store.session() as s:  # the items came in bulk, past the story index: let it see them
        store.stories.catch_up(s)


def new_entries(n: int, source: int, rng: random.Random) -> list[tuple[Entry, Classification]]:
    out = []
    for i in range(50):
        url = f"https://new{source}.example.gov/item/{n}-{i}"
        entry = Entry(
            source_id=f"s{source}",
            publisher="nsf",
            canonical_url=canonical_url(url),
            url=url,
            guid=None,
            title=" ".join(rng.sample(WORDS, 8)),
            summary=" ".join(rng.sample(WORDS, 20)),
            published_at=NOW,
            published_date=NOW.date(),
            date_source="feed",
            date_note=None,
            language="en",
        )
        out.append((entry, DECISION))
    return out


def measure(store: Store, size: int, rng: random.Random, workers: bool) -> float:
    """ms per new item; with ``workers``, the story features are made beforehand, as the
    worker processes of a large round make them."""
    polls = [new_entries(size + poll + workers * 1000, poll % SOURCES, rng) for poll in range(40)]
    features = [
        [store.stories.index.profile(doc_of(0, entry)) for entry, _ in poll] if workers else None
        for poll in polls
    ]
    started = time.perf_counter()
    for poll, made in zip(polls, features, strict=True):
        store.save_entries(poll, NOW, made)
    return (time.perf_counter() - started) * 1000 / (40 * 50)


def explain(store: Store) -> None:
    postgres = store.engine.dialect.name == "postgresql"
    prefix = "EXPLAIN" if postgres else "EXPLAIN QUERY PLAN"
    week = date(2026, 11, 23)
    queries = {
        "item by key (each poll)": (
            f"SELECT id FROM items WHERE url_key IN ('{key('x')}', '{key('y')}')"
        ),
        "known URLs of a source (each poll)": (
            "SELECT items.canonical_url FROM items JOIN item_sources ON item_sources.item_id = "
            f"items.id AND item_sources.source_id = 's1' WHERE items.url_key IN ('{key('a')}', "
            f"'{key('b')}')"
        ),
        "due sources (each tick)": (
            "SELECT id FROM sources WHERE next_due_at IS NULL OR next_due_at <= '2026-11-30'"
        ),
        "items of 7 days per source (status)": (
            "SELECT source_id, count(*) FROM (SELECT source_id FROM item_sources WHERE "
            f"first_seen_at >= '2026-11-23'{'' if postgres else ' LIMIT -1'}) AS w "
            "GROUP BY source_id"
        ),
        "items of a week (digest)": (
            f"SELECT id FROM items WHERE published_date BETWEEN '{week}' AND "
            f"'{week + timedelta(days=6)}'"
        ),
        "members of stories (digest)": "SELECT id FROM items WHERE story_id IN (1, 2, 3)",
        "story index catch-up": "SELECT id FROM items WHERE id > 999000 ORDER BY id",
    }
    for name, query in queries.items():
        with store.engine.connect() as c:
            plan = [" ".join(str(v) for v in row) for row in c.execute(text(f"{prefix} {query}"))]
        print(f"  {name}:")
        for line in plan:
            print(f"      {line}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'store.db'}"
        store = Store(url)
        sources = [
            SourceConfig(id=f"s{i}", name="s", kind="rss", url="https://x.org/", publisher="nsf")
            for i in range(SOURCES)
        ]
        store.sync_sources(sources, NOW)
        print(f"database: {store.engine.dialect.name}")
        print(f"{'stored items':>14} {'fill s':>8} {'ms per new item':>16} {'(features made)':>16}")
        filled = 0
        for size in sizes:
            started = time.perf_counter()
            fill(store, filled, size, rng)
            filled = size
            fill_s = time.perf_counter() - started
            per_item = measure(store, size, rng, workers=False)
            with_features = measure(store, size, rng, workers=True)
            filled += 2 * 40 * 50
            print(f"{size:>14,} {fill_s:>8.1f} {per_item:>16.3f} {with_features:>16.3f}")
        print("query plans at the largest size:")
        explain(store)
        store.close()


if __name__ == "__main__":
    main()
