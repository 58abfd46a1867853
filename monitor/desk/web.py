"""The review desk over HTTP: a WSGI app (werkzeug) mounted at ``/review`` of ``monitor run``'s
endpoint, pages rendered with Jinja2 (autoescaped), no script at all.

Every path under ``/review`` but the sign-in form needs a session cookie (from signing in with
``MONITOR_REVIEW_TOKEN``) or ``Authorization: Bearer <token>``; every POST with a cookie needs
the form's CSRF token. Without the token set, the desk answers 404 and says why. Responses carry
a strict Content-Security-Policy (the one stylesheet allowed by its hash), X-Frame-Options DENY
and ``Cache-Control: no-store``; only the email preview may be framed, by the desk itself, and
runs sandboxed.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from monitor.desk.actions import Desk
from monitor.desk.auth import LOGIN_NONCE_SECONDS, SESSION_SECONDS, Guard
from monitor.desk.review import ActionError
from monitor.digest.render import safe_url
from monitor.digest.week import Week, parse_week
from monitor.errors import StoreError

if TYPE_CHECKING:
    from monitor.app import App

log = logging.getLogger(__name__)

PREFIX = "/review"
SESSION_COOKIE = "monitor_desk"
LOGIN_COOKIE = "monitor_desk_login"
DISABLED = (
    "review desk disabled: set MONITOR_REVIEW_TOKEN (at least 16 characters) in the "
    "environment of `monitor run` to turn it on (docs/desk.md)\n"
)
DONE = {
    "move": "已移动 Moved to the chosen section.",
    "drop": "已删除 Dropped: it leaves this digest and teaches the classifier.",
    "pin": "已设为专题 Pinned as 专题 (feature).",
    "include": "已纳入 Included in the digest.",
    "edit": "已保存 The headline and lead are saved; later drafts keep them.",
    "add": "已添加 Added and marked relevant.",
    "sent": "已提交发送 Sent through the outbox (see the deliveries below).",
}
WsgiApp = Callable[..., Iterable[bytes]]


class DeskRequest(Request):
    max_content_length = 256 * 1024
    max_form_memory_size = 256 * 1024
    max_form_parts = 100


@dataclass(frozen=True)
class Auth:
    session: str | None  # the session id, or None for a Bearer token
    csrf: str = ""


def _css() -> tuple[Markup, str]:
    text = (files("monitor.desk") / "templates" / "desk.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return Markup(text), f"'sha256-{digest}'"  # our own stylesheet, not web text


CSS, CSS_HASH = _css()
CSP = (
    f"default-src 'none'; style-src {CSS_HASH}; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; "
    "base-uri 'none'; form-action 'none'; sandbox allow-popups allow-popups-to-escape-sandbox"
)


def make_desk(app: App) -> WsgiApp:
    """The desk of ``app``; off (404 everywhere) when ``MONITOR_REVIEW_TOKEN`` is not set."""
    token = app.settings.review_token
    return DeskApp(Desk(app), Guard(token) if token else None)


class DeskApp:
    def __init__(self, desk: Desk, guard: Guard | None) -> None:
        self.desk = desk
        self.guard = guard
        self.urls = Map(
            [
                Rule(PREFIX, endpoint="index", methods=["GET"]),
                Rule(f"{PREFIX}/", endpoint="index", methods=["GET"]),
                Rule(f"{PREFIX}/login", endpoint="login", methods=["GET", "POST"]),
                Rule(f"{PREFIX}/logout", endpoint="logout", methods=["POST"]),
                Rule(f"{PREFIX}/action", endpoint="action", methods=["POST"]),
                Rule(f"{PREFIX}/add", endpoint="add", methods=["POST"]),
                Rule(f"{PREFIX}/preview", endpoint="preview", methods=["GET"]),
                Rule(f"{PREFIX}/preview/email.html", endpoint="email", methods=["GET"]),
                Rule(f"{PREFIX}/send", endpoint="send", methods=["POST"]),
            ],
            strict_slashes=False,
        )
        self.templates = Environment(
            loader=PackageLoader("monitor.desk", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["url"] = safe_url
        self.templates.globals.update(css=CSS, prefix=PREFIX, qs=_qs)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = DeskRequest(environ)
        try:
            response = self._respond(request)
        except HTTPException as e:
            response = self._page("message.html.j2", e.code or 500, message=e.description)
        except ActionError as e:
            response = self._page("message.html.j2", 400, message=str(e), back=_back(request))
        except StoreError as e:
            log.error("desk: database error: %s", e)
            response = self._page("message.html.j2", 503, message="数据库暂不可用 database error")
        except Exception:
            log.exception("desk: unexpected error path=%s", request.path)
            response = self._page("message.html.j2", 500, message="内部错误 internal error")
        if "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = CSP
            response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        return response(environ, start_response)

    # -- dispatch and access --------------------------------------------------------------------

    def _respond(self, request: Request) -> Response:
        if self.guard is None:
            return Response(DISABLED, status=404, mimetype="text/plain")
        endpoint, _ = self.urls.bind_to_environ(request.environ).match()
        if endpoint == "login":
            return self.login(request, self.guard)
        auth = self._authenticate(request, self.guard)
        if isinstance(auth, Response):
            return auth
        if self._csrf_refused(request, auth, self.guard):
            log.warning("desk: POST without a valid CSRF token path=%s", request.path)
            return self._page(
                "message.html.j2", 403, message="表单已失效，请刷新页面 invalid form token"
            )
        handler: Callable[[Request, Auth], Response] = getattr(self, endpoint)
        return handler(request, auth)

    @staticmethod
    def _csrf_refused(request: Request, auth: Auth, guard: Guard) -> bool:
        """A POST on a session cookie (not a Bearer token) without the session's CSRF token."""
        if request.method != "POST" or auth.session is None:
            return False
        return not guard.csrf_ok(auth.session, request.form.get("csrf"))

    def _authenticate(self, request: Request, guard: Guard) -> Auth | Response:
        client = request.remote_addr or "unknown"
        header = request.headers.get("Authorization", "")
        if header:
            wait = guard.limiter.retry_after(client)
            if wait is not None:
                return _too_many(wait)
            scheme, _, presented = header.partition(" ")
            if scheme.lower() == "bearer" and guard.token_ok(presented.strip()):
                return Auth(None)
            guard.limiter.failed(client)
            log.warning("desk: wrong bearer token client=%s", client)
            return Response(
                "wrong token\n",
                status=401,
                mimetype="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="monitor review desk"'},
            )
        session = guard.session_id(request.cookies.get(SESSION_COOKIE))
        if session is not None:
            return Auth(session, guard.csrf_token(session))
        if request.method == "GET":
            return _redirect(f"{PREFIX}/login")
        return self._page("message.html.j2", 403, message="请先登录 sign in first")

    # -- signing in and out ---------------------------------------------------------------------

    def login(self, request: Request, guard: Guard) -> Response:
        if request.method == "GET" and guard.session_id(request.cookies.get(SESSION_COOKIE)):
            return _redirect(PREFIX)
        client = request.remote_addr or "unknown"
        nonce = request.cookies.get(LOGIN_COOKIE)
        if request.method == "GET":
            return self._login_form(request, guard, 200)
        wait = guard.limiter.retry_after(client)
        if wait is not None:
            response = self._login_form(request, guard, 429, "尝试过多，请稍后再试 too many tries")
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        if not guard.login_csrf_ok(nonce, request.form.get("csrf")):
            return self._login_form(request, guard, 403, "表单已失效 invalid form token")
        if not guard.token_ok(request.form.get("token", "")):
            guard.limiter.failed(client)
            log.warning("desk: failed sign-in client=%s", client)
            return self._login_form(request, guard, 401, "令牌错误 wrong token")
        log.info("desk: signed in client=%s", client)
        response = _redirect(PREFIX)
        _cookie(response, request, SESSION_COOKIE, guard.new_session(), SESSION_SECONDS)
        response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
        return response

    def _login_form(self, request: Request, guard: Guard, status: int, error: str = "") -> Response:
        nonce = guard.new_login_nonce()
        response = self._page(
            "login.html.j2", status, error=error, csrf=guard.login_csrf_token(nonce)
        )
        _cookie(response, request, LOGIN_COOKIE, nonce, LOGIN_NONCE_SECONDS)
        return response

    def logout(self, request: Request, auth: Auth) -> Response:
        response = _redirect(f"{PREFIX}/login")
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    # -- pages ----------------------------------------------------------------------------------

    def index(self, request: Request, auth: Auth) -> Response:
        profile, week = self._chosen(request.args)
        done = request.args.get("done", "")
        added = _added(request.args)
        return self._page(
            "review.html.j2",
            200,
            o=self.desk.overview(week, profile),
            weeks=self.desk.weeks(profile),
            profiles=self.desk.profiles(),
            publishers=sorted(self.desk.app.config.publishers),
            sent=self.desk.sent(week, profile),
            done=DONE.get(done, ""),
            added=added,
            csrf=auth.csrf,
        )

    def preview(self, request: Request, auth: Auth) -> Response:
        profile, week = self._chosen(request.args)
        return self._page(
            "preview.html.j2",
            200,
            week=week,
            profile=profile,
            p=self.desk.preview(week, profile),
            deliveries=self.desk.app.outbox.deliveries(week.label, profile),
            sent=self.desk.sent(week, profile),
            smtp=self.desk.app.deliverer.smtp_ready,
            done=DONE.get(request.args.get("done", ""), ""),
            csrf=auth.csrf,
        )

    def email(self, request: Request, auth: Auth) -> Response:
        """The HTML part of the email alone, for the preview's sandboxed frame."""
        profile, week = self._chosen(request.args)
        response = Response(self.desk.preview(week, profile).html, mimetype="text/html")
        response.headers["Content-Security-Policy"] = PREVIEW_CSP
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return response

    # -- actions --------------------------------------------------------------------------------

    def action(self, request: Request, auth: Auth) -> Response:
        profile, week = self._chosen(request.form)
        name = request.form.get("action", "")
        item_id = _int(request.form.get("item"), "item")
        self.desk.act(
            name,
            item_id,
            week,
            profile,
            section=request.form.get("section") or None,
            headline=request.form.get("headline", ""),
            lead=request.form.get("lead", ""),
        )
        return _redirect(f"{PREFIX}?{_qs(week, profile, done=name)}#item-{item_id}")

    def add(self, request: Request, auth: Auth) -> Response:
        profile, week = self._chosen(request.form)
        added = self.desk.add_url(
            request.form.get("url", ""),
            week,
            profile,
            section=request.form.get("section") or None,
            day=_date(request.form.get("date", "")),
            publisher=request.form.get("publisher") or None,
        )
        query = _qs(week, profile, done="add", item=added.item_id, belongs=added.week.label)
        return _redirect(f"{PREFIX}?{query}#item-{added.item_id}")

    def send(self, request: Request, auth: Auth) -> Response:
        profile, week = self._chosen(request.form)
        self.desk.send(week, profile)
        return _redirect(f"{PREFIX}/preview?{_qs(week, profile, done='sent')}")

    # -- helpers --------------------------------------------------------------------------------

    def _chosen(self, values: Any) -> tuple[str, Week]:
        profile = self.desk.profile(values.get("profile"))
        try:
            week = self.desk.week(values.get("week") or None, profile)
        except ValueError as e:
            raise ActionError(str(e)) from e
        return profile, week

    def _page(self, template: str, status: int, **context: Any) -> Response:
        context.setdefault("back", PREFIX)
        html = self.templates.get_template(template).render(**context)
        return Response(html, status=status, mimetype="text/html")


def _qs(week: Week, profile: str, **extra: Any) -> str:
    return urlencode({"week": week.label, "profile": profile, **extra})


def _redirect(location: str) -> Response:
    return Response("", status=303, headers={"Location": location})


def _too_many(wait: float) -> Response:
    return Response(
        "too many failed attempts; try again later\n",
        status=429,
        mimetype="text/plain",
        headers={"Retry-After": str(int(wait) + 1)},
    )


def _cookie(response: Response, request: Request, name: str, value: str, seconds: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        path=PREFIX,
        httponly=True,
        samesite="Lax",
        secure=_over_tls(request),
    )


def _over_tls(request: Request) -> bool:
    """Whether the browser reached us over TLS: directly, or through a proxy that says so."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.scheme == "https" or forwarded == "https"


def _int(value: str | None, name: str) -> int:
    if value is None or not value.strip().isdigit():
        raise ActionError(f"bad {name}: {value!r}")
    return int(value)


def _date(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as e:
        raise ActionError(f"日期格式应为 YYYY-MM-DD date expected: {value!r}") from e


def _added(args: Any) -> tuple[int, str] | None:
    """(item id, week label) of an item just added, from the redirect's query."""
    item, belongs = args.get("item", ""), args.get("belongs", "")
    if args.get("done") != "add" or not item.isdigit():
        return None
    try:
        return int(item), parse_week(belongs, "UTC").label
    except ValueError:
        return None


def _back(request: Request) -> str:
    week, profile = request.values.get("week", ""), request.values.get("profile", "")
    try:
        label = parse_week(week, "UTC").label
    except ValueError:
        return PREFIX
    return f"{PREFIX}?{urlencode({'week': label, 'profile': profile})}"
