"""Listings rendered with JavaScript: the page rendered in headless Chromium, then read as HTML.

Chromium is driven over the DevTools protocol (one small dependency, ``websockets``: the
``browser`` extra) and never touches the network itself:

- it is started with a proxy that does not exist and a resolver that resolves nothing, so a
  request that is not intercepted (a popup, a service worker, a WebSocket) fails;
- every request of the page is paused (DevTools ``Fetch`` domain) and answered from
  ``HttpClient.get``, so robots.txt, the address guard (no private or loopback hosts, no
  ``file://``), per-host concurrency and delay, the body cap and the deadline apply to the page
  and to each script and data request it makes, as to any fetch;
- only GET requests for the main document, scripts and XHR/fetch are answered, at most
  ``MAX_REQUESTS`` of them and ``BUDGET`` times ``http.max_bytes`` in all; images, styles,
  fonts, frames, POSTs and the rest are refused. Downloads are denied, dialogs dismissed.

The page counts as rendered once it has loaded and no request of it has been under way for
``QUIET`` seconds (or ``SETTLE_MAX`` after its load). Chromium serialises the DOM itself
(``DOM.getOuterHTML``: no script of ours in the page, nothing of the page's in our process);
the HTML is capped at ``http.max_bytes``. Everything is bounded by one deadline (``http.deadline``
and the caller's); at the end, whatever happened, the browser's whole process group is killed
and its temporary profile removed. At most ``MAX_BROWSERS`` run at once.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urldefrag

from monitor.config import SourceConfig
from monitor.errors import FetchCancelledError, FetchError
from monitor.http.client import Fetched, HttpClient

log = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"  # Debian's package; MONITOR_CHROMIUM names another binary
EXTRA = "pip install 'monitor[browser]'"
MAX_BROWSERS = 2  # rendering at once, in this process
MAX_REQUESTS = 100  # requests a page may make besides its document
BUDGET = 4  # times http.max_bytes: what all of a page's requests may bring in
QUIET = 1.0  # seconds without a request under way after the load: rendered
SETTLE_MAX = 10.0  # seconds after the load at most, busy or not
WORKERS = 4  # requests of one page answered at once (the host limits still apply)
TICK = 0.1
ANSWERED = frozenset({"Document", "Script", "XHR", "Fetch"})
PASSED = ("X-Requested-With", "Accept-Language")  # request headers passed on from the page
HTML_TYPES = ("", "text/html", "application/xhtml+xml")
CHARSETS = (  # where a page declares its charset: (selector, attribute, the UTF-8 value)
    ("meta[charset]", "charset", "utf-8"),
    ('meta[http-equiv="content-type" i]', "content", "text/html; charset=utf-8"),
)
TOO_BIG = 1009  # WebSocket close code: message too big
FLAGS = (
    "--headless",
    "--remote-debugging-port=0",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication",
    "--mute-audio",
    "--proxy-server=http://127.0.0.1:9",  # nothing listens: the browser has no network of its own
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--blink-settings=imagesEnabled=false",
    "--js-flags=--max-old-space-size=512",
    "--window-size=1280,2000",
)

_SLOTS = threading.BoundedSemaphore(MAX_BROWSERS)
Span = tuple[str, float, float]  # the URL, when its rendering started, its deadline (monotonic)


class Get(Protocol):
    """``HttpClient.get``'s signature: what ``fetch_source`` calls."""

    def __call__(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        headers: dict[str, str] | None = None,
        deadline: float | None = None,
    ) -> Fetched: ...


def fetcher(client: HttpClient, source: SourceConfig) -> Get:
    """How ``source`` is fetched: ``client.get``, or rendered when it says ``browser: true``."""
    if getattr(source, "browser", False):
        return partial(render, client)
    return client.get


def chromium() -> str:
    return os.environ.get("MONITOR_CHROMIUM") or CHROMIUM


def missing() -> str | None:
    """What rendering lacks on this machine (the extra, Chromium), or None."""
    try:
        import websockets.sync.client  # noqa: F401
    except ImportError as e:
        return f"the browser extra, not installed ({EXTRA}): {e}"
    path = chromium()
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        return f"Chromium, not found at {path} (apt-get install chromium, or set MONITOR_CHROMIUM)"
    return None


def check(sources: Iterable[SourceConfig]) -> list[str]:
    """A warning per enabled ``browser: true`` source that cannot be rendered here."""
    lacking = missing()
    if lacking is None:
        return []
    return [
        f"source {s.id}: browser: true needs {lacking}; it will fail until then"
        for s in sources
        if s.enabled and getattr(s, "browser", False)
    ]


def render(
    client: HttpClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str | None = None,
    headers: dict[str, str] | None = None,
    deadline: float | None = None,
) -> Fetched:
    """GET ``url`` through ``client``, render it in headless Chromium (its own requests answered
    through ``client`` too) and return the rendered HTML as the body (UTF-8). FetchError on any
    failure, FetchCancelledError when the client is stopping.

    A rendered page has no validators: ``etag`` and ``last_modified`` are ignored; the caller's
    content hash of the rendered HTML tells an unchanged page."""
    started = time.monotonic()
    limit = started + client.config.deadline
    limit = min(limit, deadline) if deadline is not None else limit
    lacking = missing()
    if lacking:
        raise FetchError(url, f"browser: true needs {lacking}")
    document = client.get(url, accept=accept, headers=headers, deadline=limit)
    _check_html(document)
    cap = client.config.max_bytes
    span = (url, started, limit)
    with _slot(span), _browser(span) as endpoint, _devtools(endpoint, span, cap) as cdp:
        html, final_url = _Render(client, cdp, document).run()
    content = html.encode("utf-8")
    if len(content) > cap:
        raise FetchError(url, f"the rendered page of {len(content)} bytes exceeds the cap of {cap}")
    return Fetched(
        url=url,
        final_url=final_url,
        status=document.status,
        content=content,
        content_type="text/html; charset=utf-8",
        encoding="utf-8",
        redirects=document.redirects,
        elapsed_ms=int((time.monotonic() - started) * 1000),
    )


def _check_html(document: Fetched) -> None:
    kind = document.content_type.split(";", 1)[0].strip().lower()
    if kind not in HTML_TYPES:
        raise FetchError(document.url, f"not an HTML page ({kind}): only HTML is rendered")


def _timed_out(span: Span) -> FetchError:
    url, started, limit = span
    return FetchError(url, f"timed out: not rendered within {limit - started:.0f} s (deadline)")


@contextmanager
def _slot(span: Span) -> Iterator[None]:
    if not _SLOTS.acquire(timeout=max(span[2] - time.monotonic(), 0.0)):
        raise _timed_out(span)
    try:
        yield
    finally:
        _SLOTS.release()


# -- the browser process ------------------------------------------------------------------------


@contextmanager
def _browser(span: Span) -> Iterator[str]:
    """Chromium in a process group of its own, with a fresh profile; yields its DevTools
    endpoint. On the way out the whole group is killed and the profile removed."""
    folder = Path(tempfile.mkdtemp(prefix="monitor-browser-"))
    process = None
    try:
        process = _launch(folder)
        yield _endpoint(process, folder, span)
    finally:
        if process is not None:
            _kill(process, folder)
        shutil.rmtree(folder, ignore_errors=True)


def _launch(folder: Path) -> subprocess.Popen[bytes]:
    flags = [*FLAGS, f"--user-data-dir={folder / 'profile'}"]
    if os.geteuid() == 0:  # Chromium's sandbox refuses root
        flags.append("--no-sandbox")
    home = str(folder)
    env = os.environ | {"HOME": home, "XDG_CONFIG_HOME": home, "XDG_CACHE_HOME": home}
    with (folder / "stderr").open("wb") as stderr:
        process = subprocess.Popen(
            [chromium(), *flags, "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            start_new_session=True,  # its own process group: killed as a whole
        )
    log.debug("browser started pid=%d", process.pid)
    return process


def _endpoint(process: subprocess.Popen[bytes], folder: Path, span: Span) -> str:
    """The browser's DevTools WebSocket, from the file Chromium writes once it listens."""
    url, _, limit = span
    active = folder / "profile" / "DevToolsActivePort"
    while time.monotonic() < limit:
        if process.poll() is not None:
            said = (folder / "stderr").read_text(errors="replace").strip().splitlines()[-3:]
            reason = " / ".join(said) or "no message"
            raise FetchError(url, f"the browser exited at start ({process.returncode}): {reason}")
        with suppress(OSError):
            lines = active.read_text().split()
            if len(lines) >= 2 and lines[1].startswith("/devtools/browser/"):
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    raise _timed_out(span)


def _kill(process: subprocess.Popen[bytes], folder: Path) -> None:
    """Kill the browser's process group, then any helper that left it (the crash handler
    starts a session of its own) and still names the browser's folder."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    for pid in helpers(folder):
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    log.debug("browser stopped pid=%d", process.pid)


def helpers(folder: Path) -> list[int]:
    """Running processes whose command line names ``folder`` (Linux: /proc)."""
    mark = os.fsencode(folder)
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with suppress(OSError):
            if mark in (entry / "cmdline").read_bytes():
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state not in ("Z", "X"):
                    found.append(int(entry.name))
    return found


# -- the DevTools protocol ----------------------------------------------------------------------


class _DevTools:
    """One DevTools connection. ``call`` waits for the answer, handing the events met on the way
    to ``on_event``; ``send`` (thread-safe) does not wait."""

    def __init__(self, socket: Any, span: Span) -> None:
        self.socket = socket
        self.span = span
        self.url, _, self.limit = span
        self.on_event: Callable[[dict[str, Any]], None] = lambda _message: None
        self._lock = threading.Lock()
        self._last = 0

    def send(self, method: str, params: dict[str, Any], session: str | None = None) -> int:
        with self._lock:
            self._last += 1
            message: dict[str, Any] = {"id": self._last, "method": method, "params": params}
            if session:
                message["sessionId"] = session
            self.socket.send(json.dumps(message))
            return self._last

    def receive(self, timeout: float) -> dict[str, Any] | None:
        from websockets.exceptions import ConnectionClosed

        try:
            raw = self.socket.recv(timeout=timeout)
        except TimeoutError:
            return None
        except ConnectionClosed as e:
            if e.sent is not None and e.sent.code == TOO_BIG:
                raise FetchError(self.url, "the rendered page exceeds the cap") from e
            raise FetchError(self.url, "the browser closed the connection (crashed?)") from e
        message = json.loads(raw)
        return message if isinstance(message, dict) else None

    def call(
        self, method: str, params: dict[str, Any], session: str | None = None
    ) -> dict[str, Any]:
        wanted = self.send(method, params, session)
        while (left := self.limit - time.monotonic()) > 0:
            message = self.receive(left)
            if message is None:
                continue
            if message.get("id") == wanted:
                if "error" in message:
                    error = message["error"].get("message", message["error"])
                    raise FetchError(self.url, f"the browser refused {method}: {error}")
                result = message.get("result", {})
                return result if isinstance(result, dict) else {}
            if "method" in message:
                self.on_event(message)
        raise _timed_out(self.span)


@contextmanager
def _devtools(endpoint: str, span: Span, cap: int) -> Iterator[_DevTools]:
    from websockets.sync.client import connect

    url, _, limit = span
    try:
        socket = connect(
            endpoint,
            open_timeout=max(limit - time.monotonic(), 0.1),
            close_timeout=1,
            max_size=4 * cap + 1_000_000,  # the HTML as JSON; a page this big is over the cap
            compression=None,
            proxy=None,
            ping_interval=None,
            user_agent_header=None,
        )
    except Exception as e:  # OSError, TimeoutError, a refused handshake
        raise FetchError(url, f"could not reach the browser: {e}") from e
    with socket:
        yield _DevTools(socket, span)


# -- one page -----------------------------------------------------------------------------------


class _Render:
    """Loads ``document`` in a new tab, answers its requests through the client, waits for it
    to settle and serialises the DOM."""

    def __init__(self, client: HttpClient, cdp: _DevTools, document: Fetched) -> None:
        self.client = client
        self.cdp = cdp
        self.document = document
        self.limit = cdp.limit
        self.url = document.url
        self.session = ""
        self.frame = ""
        self.loaded_at: float | None = None
        self.quiet_since = time.monotonic()
        self.busy = 0
        self.requests = 0
        self.received = 0
        self.budget = BUDGET * client.config.max_bytes
        self.served = False
        self.failure: FetchError | None = None  # cancelled, or the page crashed
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="monitor-browser")
        cdp.on_event = self.on_event

    def run(self) -> tuple[str, str]:
        """The rendered HTML and the page's URL."""
        try:
            self._open()
            result = self._call("Page.navigate", {"url": self.document.final_url})
            if result.get("errorText"):
                raise FetchError(self.url, f"the browser could not load it: {result['errorText']}")
            self._settle()
            root = self._call("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
            self._declare_utf8(root)
            html = self._call("DOM.getOuterHTML", {"nodeId": root})["outerHTML"]
            frame = self._call("Page.getFrameTree", {})["frameTree"]["frame"]
            return str(html), str(frame.get("url") or self.document.final_url)
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def _declare_utf8(self, root: int) -> None:
        """The HTML comes out in UTF-8: its charset declarations must say so."""
        for selector, name, value in CHARSETS:
            found = self._call("DOM.querySelectorAll", {"nodeId": root, "selector": selector})
            for node in found.get("nodeIds", []):
                params = {"nodeId": node, "name": name, "value": value}
                self._call("DOM.setAttributeValue", params)

    def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.cdp.call(method, params, self.session)

    def _open(self) -> None:
        self.cdp.call("Browser.setDownloadBehavior", {"behavior": "deny"})
        target = self.cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session = attached["sessionId"]
        pattern = {"urlPattern": "*", "requestStage": "Request"}
        self._call("Fetch.enable", {"patterns": [pattern]})
        self._call("Page.enable", {})
        self._call("Inspector.enable", {})
        self.frame = self._call("Page.getFrameTree", {})["frameTree"]["frame"]["id"]

    def _settle(self) -> None:
        while not self._settled(now := time.monotonic()):
            if self.failure is not None:
                raise self.failure
            if now >= self.limit:
                raise _timed_out(self.cdp.span)
            message = self.cdp.receive(min(TICK, self.limit - now))
            if message is not None:
                self.on_event(message)

    def _settled(self, now: float) -> bool:
        if self.loaded_at is None or self.failure is not None:
            return False
        with self.lock:
            quiet = self.busy == 0 and now - self.quiet_since >= QUIET
        return quiet or now - self.loaded_at >= SETTLE_MAX

    def on_event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params") or {}
        if method == "Fetch.requestPaused":
            self._paused(params)
        elif method == "Page.loadEventFired":
            self.loaded_at = self.quiet_since = time.monotonic()
        elif method == "Page.javascriptDialogOpening":
            self.cdp.send("Page.handleJavaScriptDialog", {"accept": False}, self.session)
        elif method in ("Inspector.targetCrashed", "Target.detachedFromTarget"):
            self.failure = FetchError(self.url, "the page crashed the browser")

    def _paused(self, params: dict[str, Any]) -> None:
        request_id, request = params["requestId"], params.get("request") or {}
        url = str(request.get("url", ""))
        kind, frame = params.get("resourceType", ""), params.get("frameId")
        first = urldefrag(self.document.final_url)[0]
        if kind == "Document" and frame == self.frame and url == first and not self.served:
            self.served = True  # the document was fetched before the browser started
            self._fulfil(request_id, self.document)
            return
        refusal = self._refusal(request, kind, frame)
        if refusal:
            log.debug("browser request refused url=%s reason=%s", url, refusal)
            self._fail(request_id, "BlockedByClient")
            return
        with self.lock:
            self.busy += 1
            self.requests += 1
        self.pool.submit(self._answer, request_id, url, request.get("headers") or {})

    def _refusal(self, request: dict[str, Any], kind: str, frame: str | None) -> str | None:
        """Why a request of the page is not made, or None."""
        if request.get("method") != "GET":
            return f"{request.get('method')} requests are not made"
        if kind not in ANSWERED:
            return f"{kind or 'this kind of'} resource not needed"
        if kind == "Document" and frame != self.frame:
            return "frames are not loaded"
        if self.requests >= MAX_REQUESTS:
            return f"more than {MAX_REQUESTS} requests"
        if self.received >= self.budget:
            return f"more than {self.budget} bytes received"
        return None

    def _answer(self, request_id: str, url: str, sent: dict[str, str]) -> None:
        """In a worker thread: fetch through the client, hand the answer to the browser."""
        given = {k.lower(): v for k, v in sent.items()}
        headers = {name: given[name.lower()] for name in PASSED if name.lower() in given}
        try:
            got = self.client.get(
                url, accept=given.get("accept"), headers=headers, deadline=self.limit
            )
            with self.lock:
                self.received += len(got.content)
            self._fulfil(request_id, got)
        except FetchCancelledError as e:
            self.failure = e
        except FetchError as e:
            log.debug("browser request failed url=%s error=%s", url, e.reason)
            if e.status:  # the page's script sees the HTTP error, as it would
                self._fulfil(request_id, Fetched(url, url, e.status, content_type="text/plain"))
            else:
                self._fail(request_id, "Failed")
        finally:
            with self.lock:
                self.busy -= 1
                self.quiet_since = time.monotonic()

    def _fulfil(self, request_id: str, got: Fetched) -> None:
        headers = [
            {"name": "Content-Type", "value": got.content_type or "text/html"},
            {"name": "Access-Control-Allow-Origin", "value": "*"},
        ]
        body = base64.b64encode(got.content).decode("ascii")
        params = {
            "requestId": request_id,
            "responseCode": got.status,
            "responseHeaders": headers,
            "body": body,
        }
        self._send("Fetch.fulfillRequest", params)

    def _fail(self, request_id: str, reason: str) -> None:
        self._send("Fetch.failRequest", {"requestId": request_id, "errorReason": reason})

    def _send(self, method: str, params: dict[str, Any]) -> None:
        """Answers may come after the page is done and the browser gone: no matter."""
        try:
            self.cdp.send(method, params, self.session)
        except Exception as e:
            log.debug("browser message not sent method=%s error=%r", method, e)
