"""Politeness towards each host: how many requests at once, how far apart, and robots.txt.

Runs on the HTTP client's event loop (one thread), so the bookkeeping needs no locks. Waiting is
``await``-ed, never slept in a worker thread, and a request holds its host's slot only while it is
on the wire: back-off between retries happens outside the slot, so a hanging source cannot hold
its host for longer than one attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from protego import Protego

ROBOTS_TTL = 24 * 3600.0
ROBOTS_RETRY = 300.0  # a robots.txt that could not be read is asked again after this
MAX_CRAWL_DELAY = 60.0

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class _Host:
    slots: asyncio.Semaphore
    next_start: float = 0.0


class Hosts:
    """Per-host concurrency limit and minimum delay between the starts of two requests."""

    def __init__(self, concurrency: int, sleep: Sleep, clock: Callable[[], float]) -> None:
        self.concurrency = concurrency
        self._sleep = sleep
        self._clock = clock
        self._hosts: dict[str, _Host] = {}

    @asynccontextmanager
    async def slot(self, netloc: str, delay: float) -> AsyncIterator[None]:
        host = self._hosts.setdefault(netloc, _Host(asyncio.Semaphore(self.concurrency)))
        async with host.slots:
            now = self._clock()
            start = max(now, host.next_start)
            host.next_start = start + delay
            if start > now:
                await self._sleep(start - now)
            yield


@dataclass
class Robots:
    parser: Protego | None  # None: everything allowed
    fetched_at: float
    disallow_all_reason: str | None = None

    def refusal(self, url: str, user_agent: str) -> str | None:
        if self.disallow_all_reason:
            return self.disallow_all_reason
        if self.parser is not None and not self.parser.can_fetch(url, user_agent):
            return "disallowed by robots.txt"
        return None

    def crawl_delay(self, user_agent: str) -> float:
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(user_agent)
        return min(float(delay), MAX_CRAWL_DELAY) if delay else 0.0

    def fresh(self, now: float) -> bool:
        ttl = ROBOTS_RETRY if self.disallow_all_reason else ROBOTS_TTL
        return now - self.fetched_at <= ttl


@dataclass
class RobotsCache:
    """robots.txt per origin, fetched once however many requests ask at the same time.

    ``fetch`` returns the rules, a verdict included (an unreadable robots.txt disallows all,
    RFC 9309), which are cached; when the host itself cannot be reached (its name does not
    resolve, the network is down, the connection is refused) ``fetch`` raises instead: there
    is no verdict to cache, and the next request asks again."""

    fetch: Callable[[str], Awaitable[Robots]]  # origin → its rules
    clock: Callable[[], float]
    _rules: dict[str, Robots] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def rules(self, origin: str) -> Robots:
        async with self._locks.setdefault(origin, asyncio.Lock()):
            robots = self._rules.get(origin)
            if robots is None or not robots.fresh(self.clock()):
                robots = await self.fetch(origin)
                self._rules[origin] = robots
            return robots

    def known(self, origin: str) -> Robots | None:
        return self._rules.get(origin)


def parse_robots(body: bytes, now: float) -> Robots:
    return Robots(Protego.parse(body.decode("utf-8", errors="replace")), now)
