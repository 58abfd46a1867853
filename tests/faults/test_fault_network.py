"""Fault matrix, network rows: a hostile server on 127.0.0.1 against the HTTP client.

Slow cases are shortened by settings (timeouts of a second or two), never skipped.
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from monitor.config import HttpConfig
from monitor.errors import FetchCancelledError, FetchError
from monitor.http import HttpClient
from tests.faults.hostile import (
    Hostile,
    garbage,
    gzip_bomb,
    hang,
    reset_mid_body,
    respond,
    trickle,
)

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    server = Hostile()
    yield server
    server.stop()


def client(**overrides: Any) -> HttpClient:
    settings = {
        "retries": 2,
        "backoff": 0.1,
        "per_host_delay": 0,
        "connect_timeout": 2,
        "read_timeout": 2,
        "deadline": 4,
    } | overrides
    return HttpClient(HttpConfig(**settings), allow_private=["127.0.0.1"])


def timed(call: Any) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        call()
    except BaseException as e:
        return time.monotonic() - started, e
    return time.monotonic() - started, None


def test_a_trickled_body_is_cut_off_at_the_deadline(hostile: Hostile) -> None:
    # before: 10 bytes every 2 s was read to the end (292 s); each read stayed under the timeout
    hostile.route("/feed", trickle(FEED * 20, every=0.2, chunk=10, stop=hostile.stopped))
    seconds, error = timed(lambda: client(read_timeout=1, deadline=2).get(hostile.url("/feed")))
    assert isinstance(error, FetchError) and "deadline" in error.reason
    assert 1.8 < seconds < 3


def test_a_server_that_never_answers_costs_one_read_timeout(hostile: Hostile) -> None:
    # before: 4 x 30 s reads plus back-off; a read timeout is not retried now
    hostile.route("/feed", hang(hostile.stopped))
    seconds, error = timed(lambda: client(read_timeout=1, deadline=10).get(hostile.url("/feed")))
    assert isinstance(error, FetchError) and "timed out" in error.reason
    assert seconds < 2.5
    assert hostile.hits["/feed"] == 1


def test_retry_after_is_handed_on_not_slept(hostile: Hostile) -> None:
    # before: urllib3 slept 3 x 120 s inside the poll
    hostile.route("/feed", respond(b"slow down", "429 Too Many Requests", {"Retry-After": "120"}))
    seconds, error = timed(lambda: client().get(hostile.url("/feed")))
    assert isinstance(error, FetchError)
    assert error.status == 429 and error.retry_after == 120
    assert seconds < 1 and hostile.hits["/feed"] == 1


def test_hanging_sources_do_not_hold_their_host(hostile: Hostile) -> None:
    # before: with two hanging sources on a host, a healthy one waited 132 s for a slot
    hostile.route("/hang-1", hang(hostile.stopped))
    hostile.route("/hang-2", hang(hostile.stopped))
    hostile.route("/healthy", respond(FEED))
    http = client(read_timeout=1, deadline=10, per_host_concurrency=2)
    http.get(hostile.url("/healthy"))  # robots.txt read once, before the race
    hangers = [
        threading.Thread(target=timed, args=(lambda p=p: http.get(hostile.url(p)),))
        for p in ("/hang-1", "/hang-2")
    ]
    for thread in hangers:
        thread.start()
    time.sleep(0.2)  # both slots taken
    seconds, error = timed(lambda: http.get(hostile.url("/healthy")))
    assert error is None
    assert seconds < 1.6  # one read timeout of a hanging neighbour at most, not its retries
    for thread in hangers:
        thread.join()


def test_cancel_all_aborts_requests_under_way_at_once(hostile: Hostile) -> None:
    # before: after SIGTERM a fetch could not be cancelled and the process lived 356 s more
    hostile.route("/feed", hang(hostile.stopped))
    http = client(read_timeout=60, deadline=120)
    outcome: list[Any] = []
    worker = threading.Thread(
        target=lambda: outcome.append(timed(lambda: http.get(hostile.url("/feed"))))
    )
    worker.start()
    time.sleep(0.5)
    assert http.cancel_all() == 1
    worker.join(timeout=2)
    assert not worker.is_alive()
    seconds, error = outcome[0]
    assert isinstance(error, FetchCancelledError) and seconds < 1.5
    with pytest.raises(FetchCancelledError):  # and nothing new starts
        http.get(hostile.url("/feed"))


def test_reset_mid_body_and_garbage_are_fetch_errors(hostile: Hostile) -> None:
    hostile.route("/reset", reset_mid_body(FEED * 50))
    hostile.route("/garbage", garbage())
    with pytest.raises(FetchError, match="reading the response failed"):
        client().get(hostile.url("/reset"))
    assert hostile.hits["/reset"] == 3  # retried (a reset is often transient), then given up
    with pytest.raises(FetchError, match="connection failed"):
        client().get(hostile.url("/garbage"))


def test_a_gzip_bomb_is_refused_at_the_cap_in_bounded_memory(hostile: Hostile) -> None:
    hostile.route("/bomb", gzip_bomb(1 << 30))  # 1 GiB of zeros in about 1 MB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(FetchError, match="exceeds the cap of 5000000 bytes"):
        client(max_bytes=5_000_000, deadline=20).get(hostile.url("/bomb"))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 60


def test_redirects_to_private_addresses_are_refused(hostile: Hostile) -> None:
    # before: a redirect to any loopback or private address was followed
    for path, target in {
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/to-loopback": "http://127.0.0.2:9/admin",
        "/to-lan": "http://10.0.0.1/",
        "/to-v6": "http://[::1]/",
    }.items():
        hostile.route(path, respond(b"", "302 Found", {"Location": target}))
        with pytest.raises(FetchError, match=r"refused: .*private, loopback or link-local"):
            client().get(hostile.url(path))
    assert hostile.hits["/feed"] == 0


def test_private_hosts_are_refused_unless_allowed(hostile: Hostile) -> None:
    hostile.route("/feed", respond(FEED))
    with pytest.raises(FetchError, match=r"refused: 127\.0\.0\.1 is a private"):
        HttpClient(HttpConfig()).get(hostile.url("/feed"))
    with pytest.raises(FetchError, match=r"refused: localhost resolves to (127\.0\.0\.1|::1)"):
        HttpClient(HttpConfig()).get(f"http://localhost:{hostile.port}/feed")
    assert hostile.hits["/feed"] == 0
    allowed = HttpClient(HttpConfig(per_host_delay=0), allow_private=True)
    assert allowed.get(hostile.url("/feed")).content == FEED


def test_file_and_other_schemes_are_never_fetched(hostile: Hostile) -> None:
    for target in ("file:///etc/passwd", "ftp://example.org/x", "gopher://x/"):
        hostile.route("/r", respond(b"", "301 Moved", {"Location": target}))
        with pytest.raises(FetchError, match="only http"):
            client().get(hostile.url("/r"))
