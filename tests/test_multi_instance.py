"""Several ``monitor run`` instances on one PostgreSQL (docs/deployment.md, "Several instances").

Two real processes (``MONITOR_INSTANCE`` alpha and beta) share one fresh PostgreSQL schema, one
fixture site and one SMTP server, on a fast schedule (sources every 3 s, a dispatcher tick of
0.5 s, the digest every 2 s). The site records every request of every feed. The test shows:

- while both run, each source is fetched once per slot: two fetches of one source are at least
  an interval apart (less a tolerance for the dispatch latency), and never more than two
  intervals apart (no slot is skipped); both instances poll, and every request is accounted for
  by exactly one instance's ``poll source=...`` log line (but those the killed process sent);
- each recipient gets exactly one email per week and profile, over many digest ticks of both;
- ``kill -9`` of the instance fetching a slow source: the survivor takes the dead claim over
  once its lease has expired (not before), keeps polling every source, stores every item the
  site published (including the one the killed poll never stored) and sends no email twice.

A slot of a source runs from the time it is due to one interval later: the service sets the
next due time to the claim time plus the interval, so consecutive fetches ``interval`` to
``2 * interval`` apart are exactly "once per slot, no slot missed".
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, text
from werkzeug import Request, Response

from monitor.digest.week import current_week
from tests.conftest import PG_URL, ROOT, base_config, source, write_config
from tests.mailserver import MailServer, Received

INTERVAL = 3.0  # seconds between two polls of a source
LEASE = 6.0  # service.poll_lease; poll_deadline is 4 s
EARLY = 1.0  # tolerance for the dispatch latency (claim to request) on a loaded machine
# The first request of a process comes late (its HTTP client, robots.txt, imports: over a second
# on a loaded machine), so the gap to the next fetch of that source is short: there, only two
# fetches within one dispatcher tick (0.5 s) count as fetched twice.
COLD = INTERVAL - 0.5
LATE = 3.0  # how long after a lease expires the claim must have been taken over
SETTLE = 0.5  # a request the killed process had sent may reach the site's handler this late
SOURCES = [f"s{i:02d}" for i in range(10)]
SLOW = SOURCES[0]  # the source whose fetch hangs while the instance polling it is killed
PROFILES = {"cas": ["a@example.org", "b@example.org"], "idei": ["b@example.org", "c@example.org"]}
POLL_LINE = re.compile(r" poll (?:cancelled )?source=(\S+)")


# -- the fixture site ---------------------------------------------------------------------------


def item_urls(source_id: str, generation: int) -> list[str]:
    """The items a feed publishes up to ``generation``: two at first, one more per generation."""
    urls = [f"https://agency.example.gov/{source_id}/0-{i}" for i in range(2)]
    urls += [f"https://agency.example.gov/{source_id}/{g}-0" for g in range(1, generation + 1)]
    return urls


def feed(source_id: str, generation: int) -> bytes:
    """An RSS feed whose items were published in the last complete ISO week (the digest's)."""
    week = current_week(datetime.now(UTC), "UTC").previous()
    day = datetime.combine(week.first + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    items = "".join(
        f"<item><title>{source_id} semiconductor fab investment {n}</title><link>{url}</link>"
        f"<pubDate>{format_datetime(day + timedelta(hours=n))}</pubDate></item>"
        for n, url in enumerate(item_urls(source_id, generation))
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{source_id}</title>{items}'
        "</channel></rss>"
    ).encode()


@dataclass
class Site:
    """One feed per source; records each request's source and arrival (monotonic) time. Every
    answer takes a little while (a real site does, and it spreads the polls over the tick);
    ``hang_next`` makes the next request of that source wait until ``release`` is set."""

    server: HTTPServer
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[tuple[str, float]] = field(default_factory=list)
    generation: int = 0
    hang_next: str | None = None
    hung_at: float | None = None
    hung: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, source_id: str) -> str:
        return self.server.url_for(f"/{source_id}.xml")

    def handler(self, source_id: str) -> Callable[[Request], Response]:
        def respond(request: Request) -> Response:
            arrived = time.monotonic()
            with self.lock:
                self.requests.append((source_id, arrived))
                generation, hang = self.generation, self.hang_next == source_id
                if hang:
                    self.hang_next = None
            if hang:
                self.hung_at = arrived
                self.hung.set()
                self.release.wait(15)
            else:
                time.sleep(0.15)
            return Response(feed(source_id, generation), content_type="application/rss+xml")

        return respond

    def publish(self, *, hang: str) -> None:
        """Add an item to every feed, and make the next request of ``hang`` hang."""
        with self.lock:
            self.generation += 1
            self.hang_next = hang

    def times(self) -> dict[str, list[float]]:
        with self.lock:
            requests = list(self.requests)
        times: dict[str, list[float]] = {s: [] for s in SOURCES}
        for source_id, arrived in requests:
            times[source_id].append(arrived)
        return times


@pytest.fixture
def feed_site() -> Iterator[Site]:
    server = HTTPServer(threaded=True)
    server.start()
    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    fixture = Site(server)
    for source_id in SOURCES:
        server.expect_request(f"/{source_id}.xml").respond_with_handler(fixture.handler(source_id))
    yield fixture
    fixture.release.set()
    server.clear()
    server.stop()


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema for both instances (as the ``db_url`` fixture builds it)."""
    if not PG_URL:
        pytest.skip(
            "MONITOR_TEST_DATABASE_URL not set: several instances need a shared PostgreSQL "
            "(.ci/run sets it)"
        )
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


# -- the instances --------------------------------------------------------------------------------


class Instance:
    """One ``monitor run`` process with its own folder and log."""

    def __init__(self, name: str, folder: Path, env: dict[str, str]) -> None:
        self.name = name
        folder.mkdir()
        self.log_path = folder / "run.log"
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--log-level", "INFO", "run"],
            env=env | {"MONITOR_INSTANCE": name, "MONITOR_DATA_DIR": str(folder / "data")},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def polls(self) -> Counter[str]:
        """Polls this instance logged, per source (each poll logs one line, after storing)."""
        return Counter(POLL_LINE.findall(self.log()))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self, timeout: float) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self._log.close()


def until(condition: Callable[[], Any], timeout: float, what: str, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Database:
    """Reads what the instances wrote."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def claims(self) -> dict[str, tuple[str | None, datetime | None]]:
        with self.engine.connect() as c:
            rows = c.execute(text("SELECT id, claimed_by, claimed_until FROM sources"))
            return {r.id: (r.claimed_by, r.claimed_until) for r in rows}

    def item_urls(self) -> set[str]:
        with self.engine.connect() as c:
            try:
                return {r.url for r in c.execute(text("SELECT url FROM items"))}
            except Exception:  # the schema is not there yet
                return set()

    def deliveries(self) -> list[tuple[str, str, str, str]]:
        with self.engine.connect() as c:
            query = "SELECT week, profile, recipient, status FROM deliveries ORDER BY id"
            return [(r.week, r.profile, r.recipient, r.status) for r in c.execute(text(query))]

    def close(self) -> None:
        self.engine.dispose()


def config(site: Site) -> dict[str, Any]:
    cfg = base_config(
        sources=[source(s, "rss", site.url(s), "nsf", interval=f"{INTERVAL:.0f}s") for s in SOURCES]
    )
    cfg["service"] = {
        "interval": f"{INTERVAL:.0f}s",
        "jitter": "0s",
        "tick": "0.5s",
        "poll_deadline": "4s",
        "poll_lease": f"{LEASE:.0f}s",
        "failure_retry": "1s",
        "health_interval": "30s",
        "outbox_interval": "1s",
        "delivery_backoff": "1s",
        "delivery_lease": "10s",
        "shutdown_timeout": "10s",
        "reload_on_change": False,
        "http_port": 0,
    }
    profiles = cfg["digest"]["profiles"]
    cfg["digest"] |= {
        "timezone": "UTC",
        "schedule": "every 2s",
        "profiles": {name: profiles[name] | {"recipients": to} for name, to in PROFILES.items()},
    }
    return cfg


def environment(tmp_path: Path, db: str, smtp_port: int, site: Site) -> dict[str, str]:
    env = os.environ | {
        "MONITOR_CONFIG": str(write_config(tmp_path / "sources.yaml", config(site))),
        "MONITOR_DATABASE_URL": db,
        "MONITOR_DIGEST_DIR": str(tmp_path / "digests"),  # shared, as a volume would be
        "MONITOR_SMTP_HOST": "127.0.0.1",
        "MONITOR_SMTP_PORT": str(smtp_port),
        "MONITOR_SMTP_TLS": "none",
        "MONITOR_MAIL_FROM": "monitor@bulletin.example.org",
        "MONITOR_ALLOW_PRIVATE_HOSTS": "1",  # the fixture site is on 127.0.0.1
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("MONITOR_DIGEST_TO", "MONITOR_ALERT_TO", "MONITOR_HTTP_PORT", "MONITOR_TZ"):
        env.pop(name, None)
    return env


def digest_emails(received: list[Received]) -> Counter[tuple[str, str]]:
    """Emails per (recipient, profile); the profile is in the List-Id."""
    counts: Counter[tuple[str, str]] = Counter()
    for mail in received:
        profile = str(mail.message["List-Id"]).strip("<>").split(".")[0]
        for recipient in mail.rcpt_tos:
            counts[(recipient, profile)] += 1
    return counts


# -- the test -------------------------------------------------------------------------------------


def test_two_instances_share_polls_send_once_and_survive_kill_9(
    tmp_path: Path, feed_site: Site, pg_schema: str
) -> None:
    site = feed_site
    mail = MailServer().start()
    db = Database(pg_schema)
    env = environment(tmp_path, pg_schema, mail.port, site)
    wall_to_monotonic = time.monotonic() - time.time()
    instances = {name: Instance(name, tmp_path / name, env) for name in ("alpha", "beta")}
    try:
        # 1. both run: share the polling, one email per recipient and profile
        until(
            lambda: all("service started" in i.log() for i in instances.values()),
            timeout=60,
            what="both instances to start",
        )
        both_since = time.monotonic()
        until(
            lambda: all(i.polls() for i in instances.values()),
            timeout=4 * INTERVAL,
            what="both instances to poll",
        )
        warm_at = time.monotonic()
        expected = Counter({(to, p): 1 for p, recipients in PROFILES.items() for to in recipients})
        until(lambda: len(mail.received) >= len(expected), 20, "the digests", step=0.2)
        time.sleep(max(warm_at + 3 * INTERVAL - time.monotonic(), 0))

        # 2. kill -9 the instance that is fetching the slow source (it holds the claim)
        site.publish(hang=SLOW)  # one more item on every feed; the slow one's is never stored
        until(site.hung.is_set, timeout=3 * INTERVAL, what="the slow fetch", step=0.02)
        holder = db.claims()[SLOW][0]
        assert holder in instances, f"the slow source is claimed by {holder!r}"
        victim, survivor = instances[holder], next(i for n, i in instances.items() if n != holder)
        victim.kill()
        killed_at = time.monotonic()
        held = {s: until_ for s, (by, until_) in db.claims().items() if by == victim.name}
        polls_at_kill = {name: sum(i.polls().values()) for name, i in instances.items()}
        assert SLOW in held, held
        assert item_urls(SLOW, 1)[-1] not in db.item_urls()  # the killed poll stored nothing
        site.release.set()

        # 3. the survivor takes the dead claims over when their leases expire, and carries on
        expires = {
            s: until_.timestamp() + wall_to_monotonic for s, until_ in held.items() if until_
        }
        until(
            lambda: all(any(t > killed_at + SETTLE for t in site.times()[s]) for s in held),
            timeout=LEASE + LATE + 5,
            what="the dead claims to be taken over",
        )
        time.sleep(4 * INTERVAL)
        published = {url for s in SOURCES for url in item_urls(s, site.generation)}
        until(lambda: published <= db.item_urls(), 10, "every published item to be stored")
        stopped_at = time.monotonic()
        assert survivor.terminate(timeout=20) == 0
        received = mail.received
        deliveries = db.deliveries()
    finally:
        for instance in instances.values():
            instance.close()
        mail.stop()
        db.close()

    times = site.times()
    takeover: dict[str, float] = {}  # seconds after the kill
    late: dict[str, float] = {}  # seconds after the lease expired
    normal: list[float] = []  # the other gaps between two fetches of a source
    for source_id, fetched in times.items():
        for previous, current in itertools.pairwise(fetched):
            if source_id in held and previous <= killed_at + SETTLE < current:
                # the first fetch after the kill of a source the dead instance held: not before
                # the lease expired, and soon after
                expired = expires[source_id]
                assert expired - 0.25 <= current <= expired + LATE, (source_id, current - expired)
                takeover[source_id], late[source_id] = current - killed_at, current - expired
                continue
            gap = current - previous
            normal.append(gap)
            early = EARLY if previous >= warm_at else COLD
            assert gap >= INTERVAL - early, f"{source_id} fetched twice in a slot: {gap:.2f} s"
            assert gap < 2 * INTERVAL, f"{source_id} missed a slot: {gap:.2f} s without a fetch"
        # polled from the start, and still polled at the end
        assert fetched[0] < both_since + 2 * INTERVAL, source_id
        assert fetched[-1] > stopped_at - 2 * INTERVAL, source_id
        assert sum(t > killed_at + SETTLE for t in fetched) >= 3, source_id
    assert set(takeover) == set(held)

    # every request is one poll of exactly one instance; only the dead claims' last requests
    # (killed before the poll was logged) belong to nobody
    logged = victim.polls() + survivor.polls()
    unlogged = {s: len(times[s]) - logged[s] for s in SOURCES}
    assert unlogged[SLOW] == 1
    assert all(unlogged[s] == 0 for s in SOURCES if s not in held), unlogged
    assert all(unlogged[s] in (0, 1) for s in held), unlogged
    assert polls_at_kill[victim.name] >= 3 and polls_at_kill[survivor.name] >= 3, polls_at_kill

    # exactly one email per recipient and profile (one week), over many digest runs of both
    assert digest_emails(received) == expected
    assert len({m.message["Message-ID"] for m in received}) == len(received)
    assert sorted(d[1:] for d in deliveries) == sorted((p, to, "sent") for to, p in expected)
    runs = {i.name: i.log().count(" digest week=") for i in (victim, survivor)}
    assert runs[victim.name] >= 2 * len(PROFILES) and runs[survivor.name] >= 6 * len(PROFILES)
    sent = sum(i.log().count(" status=sent ") for i in (victim, survivor))
    assert sent == len(expected)

    print(  # the figures, shown with pytest -s
        f"\npolls before the kill: {polls_at_kill}; killed {victim.name} holding {sorted(held)}; "
        f"taken over {max(takeover.values()):.1f} s after the kill, "
        f"{max(late.values()):.2f} s after the lease expired; "
        f"gaps between fetches {min(normal):.2f}-{max(normal):.2f} s; "
        f"fetches per source {min(map(len, times.values()))}-{max(map(len, times.values()))}; "
        f"digest runs {runs}; emails {dict(digest_emails(received))}"
    )
