"""A fast local feed server for the benchmarks: many RSS feeds, a fixed latency per request,
on many loopback addresses (127.0.0.1 to 127.0.0.N all reach it), HTTP/1.1 keep-alive.

    python benchmarks/feedserver.py --port 0 --feeds 1000 --items 50 --latency 0.2 \
        [--ignore-conditional]

Runs in its own process (asyncio, one thread), so that it never competes with the poller
for the GIL. Prints its port on the first line of stdout. Feed ``n`` is served at
``/feed/n.xml`` with an ETag; it answers ``304`` to a matching ``If-None-Match`` unless
``--ignore-conditional`` (then it sends the same bytes again, as servers that ignore
conditional GET do).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

DOMAIN = [
    "advanced",
    "manufacturing",
    "semiconductor",
    "graphene",
    "battery",
    "composite",
    "alloy",
    "additive",
    "printing",
    "quantum",
    "materials",
    "ceramics",
    "polymer",
    "catalyst",
    "hydrogen",
    "fusion",
    "robotics",
    "agriculture",
    "health",
    "budget",
    "election",
    "sports",
    "museum",
    "festival",
    "tourism",
    "weather",
    "policy",
    "award",
    "grant",
    "contract",
    "laboratory",
    "university",
    "programme",
    "investment",
    "factory",
    "supply",
    "chain",
    "critical",
    "minerals",
]
_SYLLABLES = [
    "ka",
    "ri",
    "to",
    "ne",
    "mo",
    "sa",
    "lu",
    "vi",
    "de",
    "po",
    "ra",
    "ke",
    "zi",
    "fa",
    "no",
    "be",
    "gu",
    "la",
    "mi",
    "so",
]
# Names, places, programmes: news titles are mostly words that few other titles share.
NAMES = sorted({"".join(random.Random(i).choices(_SYLLABLES, k=3)) for i in range(20000)})


def first_day() -> str:
    """Two days ago: the items are recent news whenever the benchmark runs (a fixed date
    would age out of the story window and change what the round does)."""
    return (datetime.now(UTC).date() - timedelta(days=2)).isoformat()


def feed(n: int, items: int, day_text: str | None = None) -> bytes:
    rng = random.Random(n)
    day = datetime.fromisoformat(day_text or first_day()).replace(hour=8, tzinfo=UTC)
    body = []
    for i in range(items):
        words = [rng.choice(DOMAIN) for _ in range(3)] + rng.sample(NAMES, 5)
        rng.shuffle(words)
        title = " ".join(words).capitalize()
        summary = " ".join(rng.choice(DOMAIN + NAMES[:2000]) for _ in range(30))
        body.append(
            f"<item><title>{title} {n}-{i}</title>"
            f"<link>https://agency{n % 97}.example.gov/news/{n}/{i}</link>"
            f"<guid>urn:bench:{n}:{i}</guid><description>{summary}.</description>"
            f"<pubDate>{format_datetime(day + timedelta(minutes=i))}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {n}</title><link>https://agency.example.gov/</link>"
        f"{''.join(body)}</channel></rss>"
    ).encode()


class Server:
    def __init__(
        self, feeds: int, items: int, latency: float, ignore_conditional: bool, day: str
    ) -> None:
        self.latency = latency
        self.ignore_conditional = ignore_conditional
        self.bodies = {f"/feed/{n}.xml": feed(n, items, day) for n in range(feeds)}
        self.etags = {
            p: '"' + hashlib.sha1(b).hexdigest()[:16] + '"' for p, b in self.bodies.items()
        }

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                await asyncio.sleep(self.latency)
                writer.write(self.response(path, headers))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    def response(self, path: str, headers: dict[str, str]) -> bytes:
        if path == "/robots.txt":
            return _answer("200 OK", b"User-agent: *\nAllow: /\n", "text/plain")
        body = self.bodies.get(path)
        if body is None:
            return _answer("404 Not Found", b"no", "text/plain")
        etag = self.etags[path]
        if not self.ignore_conditional and headers.get("if-none-match") == etag:
            return (
                f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n".encode()
            )
        return _answer("200 OK", body, "application/rss+xml", etag)


def _answer(status: str, body: bytes, kind: str, etag: str | None = None) -> bytes:
    extra = f"ETag: {etag}\r\n" if etag else ""
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--ignore-conditional", action="store_true")
    parser.add_argument("--day", default=None, help="the first item's date (default: 2 days ago)")
    args = parser.parse_args()
    server = Server(
        args.feeds, args.items, args.latency, args.ignore_conditional, args.day or first_day()
    )
    listener = await asyncio.start_server(server.handle, "0.0.0.0", args.port, backlog=2048)
    print(listener.sockets[0].getsockname()[1], flush=True)
    sys.stdout.close()
    async with listener:
        await listener.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
