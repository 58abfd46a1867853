"""The yardstick for poll_speed.py: the plainest poller that does the job.

    python benchmarks/plain_poller.py URLS.txt DATABASE CONCURRENCY

requests + a thread pool + feedparser + sqlite3 (insert or ignore by link), no politeness, no
classification, no story grouping.
"""

from __future__ import annotations

import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import feedparser
import requests


def main() -> None:
    urls = Path(sys.argv[1]).read_text(encoding="utf-8").split()
    database, concurrency = sys.argv[2], int(sys.argv[3])
    connection = sqlite3.connect(database)
    connection.execute("CREATE TABLE IF NOT EXISTS items (link TEXT PRIMARY KEY, title TEXT)")
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=100, pool_maxsize=concurrency)
    session.mount("http://", adapter)

    def fetch(url: str) -> list[tuple[str, str]]:
        feed = feedparser.parse(session.get(url, timeout=30).content)
        return [(e.get("link", ""), e.get("title", "")) for e in feed.entries]

    with ThreadPoolExecutor(concurrency) as pool:
        for future in as_completed([pool.submit(fetch, url) for url in urls]):
            connection.executemany("INSERT OR IGNORE INTO items VALUES (?, ?)", future.result())
            connection.commit()
    connection.close()


if __name__ == "__main__":
    main()
