"""The HTTP client: bounded, polite, cancellable GETs over one shared connection pool.

- a User-Agent naming the service and a contact;
- a **total deadline** per request (``http.deadline``, connection, redirects, retries and body
  together) and, on top, the caller's own deadline (a poll's); a body trickled byte by byte is
  cut off at the deadline, not accepted minutes later;
- connect and read timeouts per attempt; quick retries with exponential backoff for connection
  failures and 5xx without ``Retry-After``, within the deadline; a read timeout is not retried,
  nor a host name that does not resolve or an unreachable network (offline: one quick failure,
  ``DNS: name does not resolve: HOST`` or ``network unreachable``);
- ``Retry-After`` (429, 503) is never slept on: the error carries it and the scheduler polls the
  source again after it;
- conditional GET (ETag / Last-Modified): a 304 comes back as ``not_modified`` with no body;
- robots.txt (RFC 9309 via protego), cached per origin, its Crawl-delay honoured; a host that
  cannot be reached at all (DNS, network, connection refused) fails as itself, not as a
  robots.txt verdict;
- per-host concurrency and delay between requests, the slot held only while on the wire;
- a cap on the decoded body (gzip bombs are refused at the cap); at most ``max_redirects``
  redirects, http(s) only, each hop checked against robots.txt and the address guard
  (``guard.py``: no loopback, private or link-local targets unless allowed);
- ``cancel_all()`` aborts every request under way at once (shutdown).

The work runs on an asyncio loop in one daemon thread; ``get`` is a blocking facade for worker
threads. Only this package touches the network.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import logging
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from monitor import __version__
from monitor.config import HttpConfig
from monitor.errors import FetchCancelledError, FetchError
from monitor.http.body import ACCEPT_ENCODING, BadEncodingError, Decoder, TooLargeError
from monitor.http.guard import GuardedBackend, Policy, PrivateAddressError, refusal, resolve
from monitor.http.polite import Hosts, Robots, RobotsCache, Sleep, parse_robots

log = logging.getLogger(__name__)

ROBOTS_MAX_BYTES = 512_000
REDIRECTS = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({500, 502, 503, 504})
MAX_RETRY_AFTER = 7 * 86400.0
MAX_POOLS = 256  # hosts whose connections are kept open

T = TypeVar("T")


@dataclass(frozen=True)
class Fetched:
    """A response, or the fact that nothing changed (``not_modified``)."""

    url: str
    final_url: str
    status: int
    content: bytes = b""
    content_type: str = ""
    encoding: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    redirects: tuple[str, ...] = ()
    elapsed_ms: int = 0

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class _Answer:
    url: str
    status: int
    headers: httpx.Headers
    content: bytes
    charset: str | None


class HostFailedError(FetchError):
    """Nothing reached the host: its name does not resolve, the network is unreachable, the
    connection was refused or timed out. The host's own failure, never a robots.txt verdict."""


class _RetryableError(Exception):
    """A failure worth another attempt (within the deadline)."""

    def __init__(self, error: FetchError) -> None:
        self.error = error


class HttpClient:
    """Fetches URLs politely. Thread-safe; share one per process."""

    def __init__(
        self,
        config: HttpConfig,
        *,
        allow_private: bool | Iterable[str] = False,
        sleep: Sleep | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = Policy.of(allow_private)
        self._sleep: Sleep = sleep or asyncio.sleep
        self._clock = clock
        self._futures: set[concurrent.futures.Future[Any]] = set()
        self._closing: set[asyncio.Future[None]] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.reconfigure(config)
        self._robots = RobotsCache(self._fetch_robots, clock)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="monitor-http", daemon=True
        )
        self._thread.start()
        self._clients: OrderedDict[str, httpx.AsyncClient] = OrderedDict()
        self._tls = httpx.create_ssl_context(trust_env=False)

    def reconfigure(self, config: HttpConfig) -> None:
        """Apply new settings to the requests that start from now on."""
        self.config = config
        self.user_agent = config.user_agent.format(version=__version__, contact=config.contact)
        self._hosts = Hosts(config.per_host_concurrency, self._sleep, self._clock)

    def _client_for(self, netloc: str) -> httpx.AsyncClient:
        """One connection pool per host (httpcore's pool does work per open connection on
        every request, so one pool for a thousand hosts would cost time quadratically); the
        least recently used are closed beyond ``MAX_POOLS``."""
        client = self._clients.get(netloc)
        if client is not None:
            self._clients.move_to_end(netloc)
            return client
        client = self._clients[netloc] = self._make_client()
        while len(self._clients) > MAX_POOLS:
            _, old = self._clients.popitem(last=False)
            task = asyncio.ensure_future(old.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return client

    def _make_client(self) -> httpx.AsyncClient:
        # one TLS context for every pool: making one reads the CA bundle (milliseconds each)
        transport = httpx.AsyncHTTPTransport(verify=self._tls, trust_env=False)
        transport._pool = httpx_pool(self.policy, self._tls)  # the guarded network backend
        return httpx.AsyncClient(
            transport=transport,
            trust_env=False,
            follow_redirects=False,
            timeout=self._timeout(),
        )

    def _timeout(self) -> httpx.Timeout:
        c = self.config
        return httpx.Timeout(c.read_timeout, connect=c.connect_timeout, pool=None)

    # -- the blocking facade ----------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        headers: dict[str, str] | None = None,
        deadline: float | None = None,
    ) -> Fetched:
        """GET ``url``; raise FetchError on any failure, FetchCancelledError when cancelled.

        ``deadline`` (a ``time.monotonic()`` value) bounds the request beside ``http.deadline``:
        the earlier wins."""
        sent = {
            "User-Agent": self.user_agent,
            "Accept": accept or "*/*",
            "Accept-Encoding": ACCEPT_ENCODING,
            **(headers or {}),
        }
        if etag:
            sent["If-None-Match"] = etag
        if last_modified:
            sent["If-Modified-Since"] = last_modified
        limit = self._clock() + self.config.deadline
        limit = min(limit, deadline) if deadline is not None else limit
        return self._run(self._get(url, sent, limit), url)

    def _run(self, coroutine: Any, url: str | None) -> Any:
        with self._lock:
            if self._closed:
                coroutine.close()
                raise FetchCancelledError(url or "", "cancelled: the service is stopping")
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
            self._futures.add(future)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise FetchCancelledError(url or "", "cancelled: the service is stopping") from None
        finally:
            with self._lock:
                self._futures.discard(future)

    def cancel_all(self) -> int:
        """Abort every request under way and refuse new ones; return how many were aborted."""
        with self._lock:
            self._closed = True
            futures = list(self._futures)
        for future in futures:
            future.cancel()
        return len(futures)

    def close(self) -> None:
        self.cancel_all()
        if not self._loop.is_running():
            return
        closing = asyncio.run_coroutine_threadsafe(self._close_clients(), self._loop)
        with suppress(concurrent.futures.TimeoutError, concurrent.futures.CancelledError, OSError):
            closing.result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _close_clients(self) -> None:
        clients, self._clients = list(self._clients.values()), OrderedDict()
        for client in clients:
            await client.aclose()

    # -- one request, on the loop -----------------------------------------------------------

    async def _get(self, url: str, headers: dict[str, str], deadline: float) -> Fetched:
        started = self._clock()
        try:
            async with asyncio.timeout_at(_loop_time(deadline, self._clock)):
                answer, hops = await self._follow(url, headers, self.config.max_bytes)
        except TimeoutError:
            waited = self._clock() - started
            raise FetchError(url, f"timed out: gave up after {waited:.0f} s (deadline)") from None
        return Fetched(
            url=url,
            final_url=answer.url,
            status=answer.status,
            content=answer.content,
            content_type=answer.headers.get("Content-Type", ""),
            encoding=answer.charset,
            etag=answer.headers.get("ETag"),
            last_modified=answer.headers.get("Last-Modified"),
            redirects=hops,
            elapsed_ms=int((self._clock() - started) * 1000),
        )

    async def _follow(
        self, url: str, headers: dict[str, str], cap: int, *, robots: bool = True
    ) -> tuple[_Answer, tuple[str, ...]]:
        current, hops = url, list[str]()
        while True:
            await self._check(current, robots=robots)
            answer = await self._with_retries(current, headers, cap, retries=robots)
            location = answer.headers.get("Location")
            if answer.status not in REDIRECTS or not location:
                return answer, tuple(hops)
            if len(hops) >= self.config.max_redirects:
                raise FetchError(url, f"more than {self.config.max_redirects} redirects")
            hops.append(current)
            current = urljoin(current, location.strip())

    async def _check(self, url: str, *, robots: bool) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "only http(s) URLs are fetched")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await self._check_address(url, parts.hostname, port)
        if robots and self.config.respect_robots:
            try:
                rules = await self._robots.rules(_origin(url))
            except HostFailedError as e:  # robots.txt was never reached: the host failed
                raise HostFailedError(url, e.reason) from e
            refused = rules.refusal(url, self.user_agent)
            if refused:
                raise FetchError(url, refused)

    async def _check_address(self, url: str, host: str, port: int) -> None:
        """Resolve ``host``, failing at once (no retries) when its name does not resolve, and
        refuse it when it resolves to an address the policy forbids. Resolving here, before
        robots.txt is asked for, keeps a slow or absent DNS from passing for a robots.txt
        verdict (that fetch has its own, shorter, time limit)."""
        try:
            addresses = await resolve(host, port)
        except httpcore.ConnectError as e:
            raise HostFailedError(url, _unreachable(e, host) or f"connection failed: {e}") from e
        reason = None if self.policy.allow_all else refusal(self.policy, host, addresses)
        if reason:
            raise FetchError(url, reason)

    async def _with_retries(
        self, url: str, headers: dict[str, str], cap: int, *, retries: bool
    ) -> _Answer:
        attempt = 0
        while True:
            try:
                return await self._attempt(url, headers, cap)
            except _RetryableError as retry:
                if not retries or attempt >= self.config.retries:
                    raise retry.error from None
                delay = self.config.backoff * 2**attempt
                attempt += 1
                log.warning(
                    "retrying url=%s error=%s attempt=%d wait=%.1fs",
                    url,
                    retry.error.reason,
                    attempt,
                    delay,
                )
                await self._sleep(delay)  # outside the host's slot

    async def _attempt(self, url: str, headers: dict[str, str], cap: int) -> _Answer:
        netloc = urlsplit(url).netloc.lower()
        async with self._hosts.slot(netloc, self._delay_for(url)):
            with _mapped(url, "connection failed"):
                client = self._client_for(netloc)
                request = client.build_request("GET", url, headers=headers, timeout=self._timeout())
                response = await client.send(request, stream=True)
            try:
                return await self._answer(url, response, cap)
            finally:
                await response.aclose()

    async def _answer(self, url: str, response: httpx.Response, cap: int) -> _Answer:
        status = response.status_code
        if status >= 400:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            reason = f"HTTP {status} {response.reason_phrase or ''}".strip()
            error = FetchError(url, reason, status, retry_after=retry_after)
            if status in RETRY_STATUSES and retry_after is None:
                raise _RetryableError(error)
            raise error
        if status in REDIRECTS:
            return _Answer(url, status, response.headers, b"", None)
        content = await self._read(url, response, cap)
        return _Answer(url, status, response.headers, content, response.charset_encoding)

    async def _read(self, url: str, response: httpx.Response, cap: int) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(url, f"response of {declared} bytes exceeds the cap of {cap} bytes")
        try:
            decoder = Decoder(response.headers.get("Content-Encoding", ""), cap)
            with _mapped(url, "reading the response failed"):
                async for chunk in response.aiter_raw():
                    decoder.feed(chunk)
            return decoder.finish()
        except (TooLargeError, BadEncodingError) as e:
            raise FetchError(url, str(e)) from e

    def _delay_for(self, url: str) -> float:
        delay = self.config.per_host_delay
        robots = self._robots.known(_origin(url))
        if robots is not None:
            delay = max(delay, robots.crawl_delay(self.user_agent))
        return delay

    async def _fetch_robots(self, origin: str) -> Robots:
        """robots.txt: 4xx means allow all; 5xx or no answer means disallow (RFC 9309)."""
        url = origin + "/robots.txt"
        now = self._clock()
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": ACCEPT_ENCODING}
        try:
            async with asyncio.timeout(self.config.read_timeout):
                answer, _ = await self._follow(url, headers, ROBOTS_MAX_BYTES, robots=False)
        except TimeoutError:
            return Robots(None, now, "connection failed (robots.txt): timed out")
        except HostFailedError:
            raise  # no answer from the host at all: its failure, not a robots.txt verdict
        except FetchError as e:
            if e.status is not None and 400 <= e.status < 500:
                return Robots(None, now)
            if e.status is not None:
                reason = (
                    f"robots.txt answered HTTP {e.status}: the site counts as disallowed "
                    "until it answers (RFC 9309)"
                )
                return Robots(None, now, reason)
            return Robots(None, now, f"connection failed (robots.txt): {e.reason}")
        return parse_robots(answer.content, now)


def httpx_pool(policy: Policy, tls: ssl.SSLContext) -> Any:
    """httpx's connection pool with the guarded network backend (every connection vetted)."""
    import httpcore

    return httpcore.AsyncConnectionPool(
        ssl_context=tls,
        max_connections=None,
        max_keepalive_connections=8,
        keepalive_expiry=30.0,
        network_backend=GuardedBackend(policy),
    )


@contextmanager
def _mapped(url: str, what: str) -> Iterator[None]:
    """httpx's exceptions → FetchError (final) or _RetryableError (worth another attempt).

    A name that does not resolve and an unreachable network are final: retrying within seconds
    cannot help, and offline every source would wait out its back-off."""
    try:
        yield
    except httpx.ReadTimeout as e:
        raise FetchError(url, "timed out: the server stopped answering") from e
    except httpx.TimeoutException as e:
        failed = HostFailedError if isinstance(e, httpx.ConnectTimeout) else FetchError
        raise _RetryableError(failed(url, f"timed out: {type(e).__name__}")) from e
    except httpx.HTTPError as e:
        cause = _root_cause(e)
        if isinstance(cause, PrivateAddressError):
            raise FetchError(url, str(cause)) from e
        unreachable = _unreachable(e, urlsplit(url).hostname or "")
        if unreachable:
            raise HostFailedError(url, unreachable) from e
        reason = f"{what}: {str(cause) or type(cause).__name__}"
        if isinstance(e, httpx.ConnectError):
            raise _RetryableError(HostFailedError(url, reason)) from e
        if isinstance(e, httpx.TransportError):
            raise _RetryableError(FetchError(url, reason)) from e
        raise FetchError(url, reason) from e


def _unreachable(error: BaseException, host: str) -> str | None:
    """Why connecting failed, when it is because ``host``'s name does not resolve or the
    network is unreachable (from every address tried); else None."""
    for link in _chain(error):
        if isinstance(link, socket.gaierror):
            return f"DNS: name does not resolve: {host} ({link.strerror or link})"
        if isinstance(link, UnicodeError):  # IDNA: not a name a resolver could look up
            return f"DNS: name does not resolve: {host} (not a valid host name)"
        if isinstance(link, BaseExceptionGroup):  # several addresses tried (happy eyeballs)
            found = [_unreachable(sub, host) for sub in link.exceptions]
            return found[0] if found and all(found) else None
        if isinstance(link, OSError) and link.errno == errno.ENETUNREACH:
            return "network unreachable"
    return None


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds, or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), MAX_RETRY_AFTER)


def _loop_time(deadline: float, clock: Callable[[], float]) -> float:
    """``deadline`` (on ``clock``) in the running loop's time."""
    loop = asyncio.get_running_loop()
    return loop.time() + (deadline - clock())


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _root_cause(error: BaseException) -> BaseException:
    *_, root = _chain(error)
    return root


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and its causes (or contexts), outermost first."""
    current: BaseException | None = error
    seen = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
