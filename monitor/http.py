"""The one HTTP layer: polite, bounded, conditional GETs over a shared ``requests.Session``.

- a User-Agent naming the service and a contact;
- connect/read timeouts; retries with exponential backoff on 429/5xx honouring Retry-After;
- conditional GET (ETag / Last-Modified): a 304 comes back as ``not_modified`` with no body;
- robots.txt (RFC 9309 via protego), cached per origin, its Crawl-delay honoured;
- per-host concurrency limit and minimum delay between requests;
- a cap on the (decoded) response size; at most ``max_redirects`` redirects, http(s) only,
  each hop checked against robots.txt, the final URL recorded.

Only this module touches the network.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from protego import Protego
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from monitor import __version__
from monitor.config import HttpConfig
from monitor.errors import FetchError

log = logging.getLogger(__name__)

ROBOTS_TTL = 24 * 3600.0
ROBOTS_RETRY = 300.0  # a robots.txt that could not be read is asked again after this
ROBOTS_MAX_BYTES = 512_000
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


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


class _LoggingRetry(Retry):
    """urllib3's Retry, logging each retry at WARNING."""

    def increment(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        new = super().increment(*args, **kwargs)
        response = kwargs.get("response")
        status = getattr(response, "status", None)
        url = kwargs.get("url") or (args[1] if len(args) > 1 else "")
        log.warning("retrying url=%s status=%s attempt=%d", url, status, len(new.history))
        return new


@dataclass
class _Host:
    slots: threading.Semaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_at: float = 0.0


@dataclass
class _Robots:
    parser: Protego | None  # None: everything allowed
    fetched_at: float
    disallow_all_reason: str | None = None


class HttpClient:
    """Fetches URLs politely. Thread-safe; share one per process."""

    def __init__(
        self,
        config: HttpConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.user_agent = config.user_agent.format(version=__version__, contact=config.contact)
        self._sleep = sleep
        self._clock = clock
        self._session = requests.Session()
        self._session.headers["User-Agent"] = self.user_agent
        self._session.max_redirects = config.max_redirects
        retry = _LoggingRetry(
            total=config.retries,
            connect=config.retries,
            read=config.retries,
            status=config.retries,
            backoff_factor=config.backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD"}),
            respect_retry_after_header=True,
            retry_after_max=int(config.retry_after_max),
            raise_on_status=False,
            redirect=False,
        )
        adapter = HTTPAdapter(
            max_retries=retry, pool_connections=32, pool_maxsize=config.concurrency * 2
        )
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[str, _Robots] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._session.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fetched:
        """GET ``url`` following redirects carefully; raise FetchError on any failure."""
        headers = {"Accept": accept or "*/*", **(headers or {})}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        started = self._clock()
        current, hops = url, list[str]()
        while True:
            self._check_url(current)
            response = self._request(current, headers)
            if not response.is_redirect:
                break
            location = response.headers.get("Location", "")
            response.close()
            if len(hops) >= self.config.max_redirects:
                raise FetchError(url, f"more than {self.config.max_redirects} redirects")
            hops.append(current)
            current = urljoin(current, location)
        return self._finish(url, current, tuple(hops), response, started)

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "only http(s) URLs are fetched")
        if self.config.respect_robots:
            refusal = self._robots_refusal(url)
            if refusal:
                raise FetchError(url, refusal)

    def _request(self, url: str, headers: dict[str, str]) -> requests.Response:
        timeout = (self.config.connect_timeout, self.config.read_timeout)
        try:
            with self._polite(url):
                return self._session.get(
                    url, headers=headers, timeout=timeout, stream=True, allow_redirects=False
                )
        except requests.Timeout as e:
            raise FetchError(url, "timed out") from e
        except requests.ConnectionError as e:
            raise FetchError(url, f"connection failed: {_root_cause(e)}") from e
        except requests.RequestException as e:
            raise FetchError(url, f"request failed: {e}") from e

    def _finish(
        self,
        url: str,
        final_url: str,
        hops: tuple[str, ...],
        response: requests.Response,
        started: float,
    ) -> Fetched:
        with response:
            status = response.status_code
            if status >= 400:
                raise FetchError(url, f"HTTP {status} {response.reason or ''}".strip(), status)
            content = b"" if status == 304 else self._read_capped(url, response)
            return Fetched(
                url=url,
                final_url=final_url,
                status=status,
                content=content,
                content_type=response.headers.get("Content-Type", ""),
                encoding=_declared_encoding(response),
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                redirects=hops,
                elapsed_ms=int((self._clock() - started) * 1000),
            )

    def _read_capped(self, url: str, response: requests.Response, cap: int | None = None) -> bytes:
        cap = cap or self.config.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(url, f"response of {declared} bytes exceeds the cap of {cap} bytes")
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > cap:
                    raise FetchError(url, f"response exceeds the cap of {cap} bytes")
                chunks.append(chunk)
        except requests.RequestException as e:
            raise FetchError(url, f"reading the response failed: {_root_cause(e)}") from e
        return b"".join(chunks)

    # -- politeness -------------------------------------------------------------------------

    @contextmanager
    def _polite(self, url: str) -> Iterator[None]:
        host = self._host(urlsplit(url).netloc.lower())
        with host.slots:
            with host.lock:
                wait = host.next_at - self._clock()
                if wait > 0:
                    self._sleep(wait)
                host.next_at = self._clock() + self._delay_for(url)
            yield

    def _host(self, netloc: str) -> _Host:
        with self._lock:
            if netloc not in self._hosts:
                self._hosts[netloc] = _Host(threading.Semaphore(self.config.per_host_concurrency))
            return self._hosts[netloc]

    def _delay_for(self, url: str) -> float:
        delay = self.config.per_host_delay
        robots = self._robots.get(_origin(url))
        if robots and robots.parser is not None:
            crawl_delay = robots.parser.crawl_delay(self.user_agent)
            if crawl_delay:
                delay = max(delay, min(float(crawl_delay), 60.0))
        return delay

    def _robots_refusal(self, url: str) -> str | None:
        """Why robots.txt forbids ``url``, or None when it may be fetched."""
        origin = _origin(url)
        with self._lock:
            origin_lock = self._robots_locks.setdefault(origin, threading.Lock())
        with origin_lock:  # one robots.txt request per origin, however many threads ask
            robots = self._robots.get(origin)
            ttl = ROBOTS_RETRY if robots and robots.disallow_all_reason else ROBOTS_TTL
            if robots is None or self._clock() - robots.fetched_at > ttl:
                robots = self._fetch_robots(origin)
                self._robots[origin] = robots
        if robots.disallow_all_reason:
            return robots.disallow_all_reason
        if robots.parser is not None and not robots.parser.can_fetch(url, self.user_agent):
            return "disallowed by robots.txt"
        return None

    def _fetch_robots(self, origin: str) -> _Robots:
        """Fetch robots.txt: 4xx means allow all; 5xx or no answer means disallow (RFC 9309)."""
        url = origin + "/robots.txt"
        now = self._clock()
        timeout = (self.config.connect_timeout, self.config.read_timeout)
        try:
            with self._polite(url):
                response = self._session.get(url, timeout=timeout, stream=True)
            with response:
                if 400 <= response.status_code < 500:
                    return _Robots(None, now)
                if response.status_code >= 500:
                    reason = (
                        f"robots.txt answered HTTP {response.status_code}: the site counts as "
                        "disallowed until it answers (RFC 9309)"
                    )
                    return _Robots(None, now, reason)
                body = self._read_capped(url, response, ROBOTS_MAX_BYTES)
        except (requests.RequestException, FetchError) as e:
            return _Robots(None, now, f"connection failed (robots.txt): {_root_cause(e)}")
        return _Robots(Protego.parse(body.decode("utf-8", errors="replace")), now)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _declared_encoding(response: requests.Response) -> str | None:
    content_type = response.headers.get("Content-Type", "")
    return (
        requests.utils.get_encoding_from_headers({"content-type": content_type})
        if ("charset" in content_type.lower())
        else None
    )


def _root_cause(error: BaseException) -> str:
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    if error.args and isinstance(error.args[0], BaseException):
        return _root_cause(error.args[0])
    return str(error) or type(error).__name__
