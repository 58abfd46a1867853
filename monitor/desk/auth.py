"""Who may use the review desk: the secret in ``MONITOR_REVIEW_TOKEN``, signed session cookies,
CSRF tokens, and a limit on failed sign-ins. No I/O; the clocks are passed in.

- The token is compared in constant time (digests of equal length, ``hmac.compare_digest``).
- A session is a cookie signed (itsdangerous) with a key derived from the token: it holds a
  random session id and its time of issue, and expires after ``SESSION_SECONDS``. Changing the
  token ends every session. Nothing is stored on the server, so several instances behind one
  address accept each other's sessions.
- The CSRF token of a form is an HMAC of the session id; the sign-in form, before any session,
  carries one of a random nonce kept in a short-lived cookie (double submit).
- Failed sign-ins (and requests with a wrong Bearer token) are counted per client address;
  ``RateLimiter`` refuses a client that failed ``limit`` times within ``window`` seconds until
  the oldest of those failures is ``window`` seconds old.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_SECONDS = 12 * 3600
LOGIN_NONCE_SECONDS = 3600
MAX_CLIENTS = 10_000  # failure records kept at most (the oldest client is forgotten first)


class Guard:
    """Checks the token, issues and reads session cookies, makes and checks CSRF tokens."""

    def __init__(
        self,
        token: str,
        *,
        limit: int = 5,
        window: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._digest = hashlib.sha256(token.encode()).digest()
        key = hmac.new(token.encode(), b"monitor review desk v1", hashlib.sha256).digest()
        self._sessions = URLSafeTimedSerializer(key, salt="monitor.desk.session")
        self._nonces = URLSafeTimedSerializer(key, salt="monitor.desk.login")
        self._csrf_key = hmac.new(key, b"csrf", hashlib.sha256).digest()
        self.limiter = RateLimiter(limit, window, monotonic)

    def token_ok(self, presented: str) -> bool:
        """Whether ``presented`` is the token (constant time, whatever its length)."""
        digest = hashlib.sha256(presented.encode("utf-8", "replace")).digest()
        return hmac.compare_digest(digest, self._digest)

    # -- sessions -------------------------------------------------------------------------------

    def new_session(self) -> str:
        """A session cookie's value: a new random session id, signed with its time."""
        return self._sessions.dumps(secrets.token_urlsafe(24))

    def session_id(self, cookie: str | None) -> str | None:
        """The session id of a valid, unexpired cookie, else None."""
        return _load(self._sessions, cookie, SESSION_SECONDS)

    # -- CSRF -----------------------------------------------------------------------------------

    def csrf_token(self, session_id: str) -> str:
        return hmac.new(self._csrf_key, session_id.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session_id: str, presented: str | None) -> bool:
        if not presented:
            return False
        expected = self.csrf_token(session_id).encode()
        return hmac.compare_digest(expected, presented.encode("utf-8", "replace"))

    def new_login_nonce(self) -> str:
        """The sign-in form's cookie (before any session): a signed random nonce."""
        return self._nonces.dumps(secrets.token_urlsafe(16))

    def login_csrf_ok(self, cookie: str | None, presented: str | None) -> bool:
        """Whether the sign-in form's token matches the nonce of its cookie."""
        nonce = _load(self._nonces, cookie, LOGIN_NONCE_SECONDS)
        return nonce is not None and self.csrf_ok("login:" + nonce, presented)

    def login_csrf_token(self, cookie: str) -> str:
        nonce = _load(self._nonces, cookie, LOGIN_NONCE_SECONDS)
        return self.csrf_token("login:" + (nonce or ""))


def _load(serializer: URLSafeTimedSerializer, value: str | None, max_age: int) -> str | None:
    if not value:
        return None
    try:
        loaded = serializer.loads(value, max_age=max_age)
    except BadSignature:  # also SignatureExpired
        return None
    return loaded if isinstance(loaded, str) else None


class RateLimiter:
    """Failures per client within a sliding window; thread-safe."""

    def __init__(self, limit: int, window: float, monotonic: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.monotonic = monotonic
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float | None:
        """Seconds until ``client`` may try again, or None when it may now."""
        now = self.monotonic()
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.limit:
                return None
            return max(times[0] + self.window - now, 0.001)

    def failed(self, client: str) -> None:
        now = self.monotonic()
        with self._lock:
            times = self._recent(client, now)
            times.append(now)
            self._failures[client] = times
            self._failures.move_to_end(client)
            while len(self._failures) > MAX_CLIENTS:
                self._failures.popitem(last=False)

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times
