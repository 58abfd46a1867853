"""Fault matrix, poll rows: the deadline of a whole poll, and the connection-level guard."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.http.guard import GuardedBackend, Policy, PrivateAddressError, forbidden
from monitor.store.models import ItemRow
from tests.conftest import Clock, base_config, make_app, source
from tests.faults.hostile import Hostile, respond, trickle

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    server = Hostile()
    yield server
    server.stop()


def undated_feed(base: str, count: int) -> bytes:
    items = "".join(
        f"<item><title>Composite wing pilot line {i}</title><link>{base}/a{i}</link></item>"
        for i in range(count)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}</channel></rss>'
    ).encode()


def test_a_poll_ends_at_its_deadline_and_defers_article_pages(
    tmp_path: Path, hostile: Hostile
) -> None:
    hostile.route("/feed", respond(undated_feed(hostile.url(""), 3)))
    page = b"<html><body><p>" + b"x" * 400 + b"</p></body></html>"
    for i in range(3):
        hostile.route(f"/a{i}", trickle(page, every=0.5, chunk=8, stop=hostile.stopped))
    cfg = base_config(sources=[source("s", "rss", hostile.url("/feed"), "nsf")])
    cfg["sources"][0]["fetch_articles"] = True
    cfg["http"] |= {"read_timeout": 2, "deadline": 30, "retries": 0}
    cfg["service"] = {"poll_deadline": "6s", "poll_lease": "1m"}
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'p.db'}", cfg, Clock(NOW))
    started = time.monotonic()
    (record,) = app.poll()
    assert time.monotonic() - started < 7.5  # not three trickled pages one after the other
    assert record.outcome == "ok" and record.new == 3
    with app.store.session() as s:
        checked = [r.article_checked_at for r in s.query(ItemRow)]
    assert checked == [None, None, None]  # all left for the next poll, none marked as read
    assert hostile.hits["/a0"] == 1 and hostile.hits["/a1"] == 0
    app.close()


def test_the_connection_itself_refuses_private_addresses(hostile: Hostile) -> None:
    """Even past the per-hop check (a name that resolves differently a moment later), the
    network backend resolves and vets the address it connects to."""
    backend = GuardedBackend(Policy())
    with pytest.raises(PrivateAddressError, match="localhost resolves to"):
        asyncio.run(backend.connect_tcp("localhost", hostile.port))
    with pytest.raises(PrivateAddressError):
        asyncio.run(backend.connect_tcp("127.0.0.1", hostile.port))
    opened = GuardedBackend(Policy.of(["127.0.0.0/8"]))

    async def connect() -> None:
        stream = await opened.connect_tcp("127.0.0.1", hostile.port)
        await stream.aclose()

    asyncio.run(connect())


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),  # carrier-grade NAT
        ("0.0.0.0", True),
        ("::1", True),
        ("fe80::1", True),
        ("fd00::1", True),
        ("::ffff:127.0.0.1", True),  # IPv4-mapped loopback
        ("224.0.0.1", True),
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
        ("not-an-address", True),
    ],
)
def test_which_addresses_are_private(address: str, refused: bool) -> None:
    assert forbidden(address) is refused
