"""The review desk through its WSGI app (werkzeug's test client) on a real database: access
(token, session cookie, Bearer, CSRF, rate limit), every action stored as feedback and
reflected in the digest, escaping, edited text kept over re-drafts, the email preview, and
"send now" exactly once to a real SMTP server on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug.test import Client, TestResponse

from monitor.desk.actions import Desk
from monitor.desk.auth import Guard, RateLimiter
from monitor.desk.web import DeskApp, make_desk
from monitor.digest.week import parse_week
from monitor.store.drafts import StoredZhDraft
from monitor.store.models import FeedbackRow
from monitor.web import application
from tests.deskdata import (
    ARTICLE,
    EDITOR,
    TOKEN,
    WEEK,
    Seeded,
    csrf_of,
    desk_app,
    sections_of,
    seed,
)
from tests.mailserver import MailServer


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def app(tmp_path: Path, db_url: str, mailserver: MailServer) -> Iterator[Any]:
    app = desk_app(tmp_path, db_url, mailserver.port)
    yield app
    app.close()


@pytest.fixture
def seeded(app: Any) -> Seeded:
    return seed(app)


def wsgi(app: Any, ticks: Ticks | None = None) -> Any:
    guard = Guard(TOKEN, monotonic=ticks or Ticks())
    return application(lambda: (True, {}), CollectorRegistry(), DeskApp(Desk(app), guard))


@pytest.fixture
def client(app: Any, ticks: Ticks) -> Client:
    return Client(wsgi(app, ticks))


def sign_in(client: Client, token: str = TOKEN, **environ: Any) -> TestResponse:
    form = client.get("/review/login", **environ)
    return client.post(
        "/review/login", data={"token": token, "csrf": csrf_of(form.text)}, **environ
    )


@pytest.fixture
def signed_in(client: Client) -> Client:
    assert sign_in(client).status_code == 303
    return client


def page(client: Client, week: str = WEEK) -> str:
    response = client.get(f"/review?week={week}&profile=cas")
    assert response.status_code == 200, response.text
    return response.text


def act(client: Client, action: str, item: int, **form: str) -> TestResponse:
    csrf = csrf_of(page(client))
    data = {"csrf": csrf, "week": WEEK, "profile": "cas", "action": action, "item": str(item)}
    return client.post("/review/action", data=data | form)


def section_of(html: str, item: int) -> str | None:
    found = re.search(rf'id="item-{item}" data-section="(\w+)"', html)
    return found.group(1) if found else None


def desk_feedback(app: Any) -> list[tuple[int, str, str]]:
    with app.store.session() as s:
        rows = s.execute(select(FeedbackRow.item_id, FeedbackRow.verdict, FeedbackRow.origin))
        return [tuple(r) for r in rows]


# -- access -------------------------------------------------------------------------------------


def test_the_token_comes_from_the_environment_only() -> None:
    from monitor.errors import ConfigError
    from monitor.settings import Settings

    assert Settings.from_env({}).review_token is None
    settings = Settings.from_env({"MONITOR_REVIEW_TOKEN": f"  {TOKEN}\n"})
    assert settings.review_token == TOKEN and TOKEN not in repr(settings)
    with pytest.raises(ConfigError) as short:
        Settings.from_env({"MONITOR_REVIEW_TOKEN": "short"})
    assert "MONITOR_REVIEW_TOKEN" in str(short.value) and "at least 16" in str(short.value)


def test_without_a_token_the_desk_is_off_and_health_stays_open(tmp_path: Path, db_url: str) -> None:
    app = desk_app(tmp_path, db_url, review_token=None)
    client = Client(application(lambda: (True, {}), CollectorRegistry(), make_desk(app)))
    for path in ("/review", "/review/login", "/review/preview"):
        response = client.get(path)
        assert response.status_code == 404 and "MONITOR_REVIEW_TOKEN" in response.text
    assert client.post("/review/login", data={"token": ""}).status_code == 404
    assert client.get("/review", headers={"Authorization": "Bearer x"}).status_code == 404
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    app.close()


def test_everything_needs_a_session_or_the_bearer_token(
    app: Any, seeded: Seeded, client: Client
) -> None:
    assert client.get("/healthz").status_code == 200  # open, for the container
    response = client.get(f"/review?week={WEEK}")
    assert response.status_code == 303 and response.headers["Location"] == "/review/login"
    assert client.get("/review/preview/email.html").status_code == 303
    refused = client.post(
        "/review/action", data={"action": "drop", "item": str(seeded.funding), "week": WEEK}
    )
    assert refused.status_code == 403 and desk_feedback(app) == []
    forged = client.get("/review", headers={"Cookie": "monitor_desk=forged.cookie.value"})
    assert forged.status_code == 303
    wrong = client.get("/review", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and "Bearer" in wrong.headers["WWW-Authenticate"]
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert "NSF awards $30M" in client.get(f"/review?week={WEEK}", headers=bearer).text
    # a script with the token needs no CSRF token (no cookie carries its authority)
    dropped = client.post(
        "/review/action",
        data={"action": "drop", "item": str(seeded.funding), "week": WEEK, "profile": "cas"},
        headers=bearer,
    )
    assert dropped.status_code == 303
    assert desk_feedback(app) == [(seeded.funding, "irrelevant", "desk")]


def test_sign_in_cookie_and_security_headers(app: Any, client: Client) -> None:
    form = client.get("/review/login")
    assert form.status_code == 200 and 'type="password"' in form.text
    assert form.headers["X-Frame-Options"] == "DENY"
    assert form.headers["Cache-Control"] == "no-store"
    csp = form.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "script-src" not in csp  # no script at all
    # the one stylesheet is allowed by its hash
    style = re.search(r"<style>(.*?)</style>", form.text, re.S)
    assert style is not None
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp

    wrong = client.post("/review/login", data={"token": "wrong", "csrf": csrf_of(form.text)})
    assert wrong.status_code == 401 and "令牌错误" in wrong.text
    assert "monitor_desk=" not in wrong.headers.get("Set-Cookie", "")
    signed = sign_in(client)
    assert signed.status_code == 303 and signed.headers["Location"] == "/review"
    cookie = next(c for c in signed.headers.getlist("Set-Cookie") if c.startswith("monitor_desk="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/review" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    page = client.get("/review")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'name="csrf"' in page.text


def test_sign_in_behind_tls_sets_a_secure_cookie(app: Any, ticks: Ticks) -> None:
    client = Client(wsgi(app, ticks))
    signed = sign_in(client, headers={"X-Forwarded-Proto": "https"})
    cookie = next(c for c in signed.headers.getlist("Set-Cookie") if c.startswith("monitor_desk="))
    assert "Secure" in cookie


def test_sign_in_form_without_its_csrf_token_is_refused(client: Client) -> None:
    fresh = Client(client.application)  # never saw the form: no sign-in cookie
    assert fresh.post("/review/login", data={"token": TOKEN}).status_code == 403
    client.get("/review/login")
    response = client.post("/review/login", data={"token": TOKEN, "csrf": "forged"})
    assert response.status_code == 403
    assert client.get("/review").status_code == 303  # still not signed in


def test_failed_sign_ins_are_rate_limited(app: Any, client: Client, ticks: Ticks) -> None:
    for _ in range(5):
        assert sign_in(client, "wrong-token").status_code == 401
    blocked = sign_in(client)  # even the right token, while blocked
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    bearer = client.get("/review", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 429
    other = Client(client.application)  # same test client address: blocked too
    assert sign_in(other).status_code == 429
    ticks.now += 61
    assert sign_in(client).status_code == 303


def test_rate_limiter_window_slides() -> None:
    ticks = Ticks()
    limiter = RateLimiter(3, 60.0, ticks)
    for _ in range(3):
        assert limiter.retry_after("a") is None
        limiter.failed("a")
    assert limiter.retry_after("a") == pytest.approx(60.0)
    assert limiter.retry_after("b") is None
    ticks.now += 30
    assert limiter.retry_after("a") == pytest.approx(30.0)
    ticks.now += 30.5
    assert limiter.retry_after("a") is None


def test_guard_tokens_and_sessions() -> None:
    guard = Guard(TOKEN)
    assert guard.token_ok(TOKEN) and not guard.token_ok(TOKEN[:-1]) and not guard.token_ok("")
    cookie = guard.new_session()
    session = guard.session_id(cookie)
    assert session is not None and guard.session_id(cookie + "x") is None
    assert Guard("another-token-0123456789").session_id(cookie) is None  # new token: signed out
    csrf = guard.csrf_token(session)
    assert guard.csrf_ok(session, csrf) and not guard.csrf_ok(
        session, csrf[:-1] + ("1" if csrf[-1] == "0" else "0")
    )
    assert not guard.csrf_ok(session, None) and not guard.csrf_ok(session, "令牌")
    assert not guard.csrf_ok(guard.session_id(guard.new_session()) or "", csrf)


def test_post_without_a_valid_csrf_token_is_refused(
    app: Any, seeded: Seeded, signed_in: Client
) -> None:
    data = {"action": "drop", "item": str(seeded.funding), "week": WEEK, "profile": "cas"}
    assert signed_in.post("/review/action", data=data).status_code == 403
    assert signed_in.post("/review/action", data=data | {"csrf": "0" * 64}).status_code == 403
    assert signed_in.post("/review/send", data={"week": WEEK}).status_code == 403
    assert desk_feedback(app) == []
    assert "NSF awards $30M" in page(signed_in)


# -- the page and its actions -------------------------------------------------------------------


def test_page_shows_sections_details_candidates_and_escapes_web_text(
    seeded: Seeded, signed_in: Client
) -> None:
    html = page(signed_in)
    assert section_of(html, seeded.funding) == "funding"
    assert section_of(html, seeded.industry) == "industry"
    assert "美NSF" in html or "美国国家科学基金会" in html  # the Chinese headline and lead
    assert "得分 score 0.92" in html and "rule: funding terms" in html  # score and the full why
    candidates = html.split('id="candidates"')[1]
    assert f'id="item-{seeded.candidate}"' in candidates and "Workshop on coatings" in candidates
    assert "<script>alert" not in html and "<b>membranes" not in html
    assert "&lt;script&gt;alert(" in html and "&lt;b&gt;membranes" in html


def test_move_drop_pin_edit_include_are_feedback_and_change_the_digest(
    app: Any, seeded: Seeded, signed_in: Client
) -> None:
    assert act(signed_in, "move", seeded.research, section="strategy").status_code == 303
    assert act(signed_in, "drop", seeded.industry).status_code == 303
    assert act(signed_in, "pin", seeded.funding).status_code == 303
    edited = act(
        signed_in,
        "edit",
        seeded.hostile,
        headline="英国石墨烯膜实现规模化",
        lead="4月29日，英国研究与创新署宣布……",
    )
    assert edited.status_code == 303 and edited.headers["Location"].endswith(
        f"#item-{seeded.hostile}"
    )
    assert act(signed_in, "include", seeded.candidate, section="research").status_code == 303

    html = page(signed_in)
    assert section_of(html, seeded.research) == "strategy"
    assert section_of(html, seeded.industry) is None
    industry_out = html.split('id="candidates"')[1]
    assert f'id="item-{seeded.industry}"' in industry_out and "已删除 dropped" in industry_out
    assert section_of(html, seeded.funding) == "feature"
    assert section_of(html, seeded.candidate) == "research"
    assert "英国石墨烯膜实现规模化" in html and "已编辑 edited" in html
    assert set(desk_feedback(app)) == {
        (seeded.research, "relevant", "desk"),
        (seeded.research, "section=strategy", "desk"),
        (seeded.industry, "irrelevant", "desk"),
        (seeded.funding, "relevant", "desk"),
        (seeded.funding, "section=feature", "desk"),
        (seeded.hostile, "relevant", "desk"),
        (seeded.candidate, "relevant", "desk"),
        (seeded.candidate, "section=research", "desk"),
    }
    examples = {e.title: e for e in app.store.feedback_examples()}  # the classifier learns
    assert examples["Workshop on coatings for turbine blades"].label == "1"
    assert examples["Chipmaker opens a new wafer fab in Ohio"].label == "0"
    # including the dropped one again undoes the drop
    assert act(signed_in, "include", seeded.industry).status_code == 303
    assert section_of(page(signed_in), seeded.industry) == "industry"


def test_bad_actions_are_refused_with_a_reason(seeded: Seeded, signed_in: Client) -> None:
    bad = act(signed_in, "move", seeded.funding, section="sports")
    assert bad.status_code == 400 and "unknown section" in bad.text
    empty = act(signed_in, "edit", seeded.funding, headline=" ", lead="x")
    assert empty.status_code == 400 and "must not be empty" in empty.text
    assert act(signed_in, "explode", seeded.funding).status_code == 400
    assert act(signed_in, "drop", 999_999).status_code == 400
    week = signed_in.get("/review?week=2026-W99")
    assert week.status_code == 400 and "no week 99" in week.text


def test_edited_text_survives_a_redraft_and_beats_the_model(
    app: Any, seeded: Seeded, signed_in: Client, httpserver: HTTPServer
) -> None:
    from dataclasses import replace

    from monitor.drafting.llm import PROMPT_VERSION
    from monitor.settings import LlmSettings

    llm = LlmSettings(base_url=httpserver.url_for("/v1"), model="m", timeout=2.0, budget=5.0)
    app.settings = replace(app.settings, llm=llm)
    for item, headline in ((seeded.funding, "模型标题甲"), (seeded.research, "模型标题乙")):
        draft = StoredZhDraft(item, PROMPT_VERSION, "m", WEEK, headline, "模型导语", True)
        app.store.save_zh_draft(draft, app.clock())
    assert (
        act(signed_in, "edit", seeded.funding, headline="编辑标题", lead="编辑导语").status_code
        == 303
    )
    week = parse_week(WEEK, app.timezone)
    for _ in range(2):  # drafted again and again: the editor's text stays
        drafted = app.draft(week, "cas")
        assert "编辑标题" in drafted.rendered["txt"] and "编辑导语" in drafted.rendered["txt"]
        assert "模型标题甲" not in drafted.rendered["txt"]
        assert "模型标题乙" in drafted.rendered["txt"]  # the model's draft where nobody edited
    # a second edit replaces the first; the model's weekly count ignores editors' text
    assert (
        act(signed_in, "edit", seeded.funding, headline="编辑标题二", lead="导语二").status_code
        == 303
    )
    assert "编辑标题二" in app.draft(week, "cas").rendered["txt"]
    assert app.store.zh_draft_count(WEEK) == 2  # the model's two; editors' text not counted
    asked = [r.get_data(as_text=True) for r, _ in httpserver.log]
    assert asked and not any("additive manufacturing" in body for body in asked)  # never asked
    assert list(app.store.zh_edits([seeded.funding, seeded.research])) == [seeded.funding]


def test_add_a_missed_item_by_url(
    app: Any, seeded: Seeded, signed_in: Client, site: HTTPServer
) -> None:
    site.expect_request("/articles/battery").respond_with_data(ARTICLE, content_type="text/html")
    site.expect_request("/gone").respond_with_data("no", status=404)
    csrf = csrf_of(page(signed_in))
    form = {"csrf": csrf, "week": WEEK, "profile": "cas", "section": "funding"}
    added = signed_in.post("/review/add", data=form | {"url": site.url_for("/articles/battery")})
    assert added.status_code == 303, added.text
    item_id = int(re.search(r"item=(\d+)", added.headers["Location"]).group(1))  # type: ignore[union-attr]
    html = page(signed_in)
    assert section_of(html, item_id) == "funding"
    assert "DOE funds a solid-state battery pilot line" in html
    item = app.store.item(item_id)
    assert item.published_date.isoformat() == "2026-04-30" and item.text  # extracted
    assert item.why  # classified on the spot
    assert (item_id, "relevant", "desk") in desk_feedback(app)
    assert [m.source_id for m in item.mentions] == ["desk"]

    missing = signed_in.post("/review/add", data=form | {"url": site.url_for("/gone")})
    assert missing.status_code == 400 and "cannot fetch" in missing.text
    not_url = signed_in.post("/review/add", data=form | {"url": "javascript:alert(1)"})
    assert not_url.status_code == 400 and "http(s)" in not_url.text
    # a page dated in another week is stored, and the editor is told where it went
    dated = signed_in.post(
        "/review/add",
        data=form | {"url": site.url_for("/articles/battery"), "date": "2026-04-20"},
    )
    assert dated.status_code == 303 and "belongs=2026-W17" in dated.headers["Location"]
    assert "2026-W17" in signed_in.get(dated.headers["Location"]).text


def message_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_preview_is_the_email_and_send_now_sends_once(
    app: Any, seeded: Seeded, signed_in: Client, mailserver: MailServer
) -> None:
    preview = signed_in.get(f"/review/preview?week={WEEK}&profile=cas")
    assert preview.status_code == 200 and "先进制造" in preview.text and EDITOR in preview.text
    email = signed_in.get(f"/review/preview/email.html?week={WEEK}&profile=cas")
    assert email.status_code == 200 and "NSF" in email.text
    assert "sandbox" in email.headers["Content-Security-Policy"]
    assert email.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "<script>alert" not in email.text

    csrf = csrf_of(preview.text)
    form = {"csrf": csrf, "week": WEEK, "profile": "cas"}
    first = signed_in.post("/review/send", data=form)
    assert first.status_code == 303 and "done=sent" in first.headers["Location"]
    again = signed_in.post("/review/send", data=form)  # a second click
    assert again.status_code == 303
    (received,) = mailserver.wait_for(1)
    assert received.rcpt_tos == [EDITOR]
    # the email is the preview: same subject, same text
    assert str(received.message["Subject"]) in preview.text
    assert "NSF awards $30M for additive manufacturing" in message_text(received.message)
    after = signed_in.get(first.headers["Location"])
    assert "已发送" in after.text and 'id="send-now"' not in after.text and "sent" in after.text
    refused = act(signed_in, "drop", seeded.funding)
    assert refused.status_code == 400 and "was sent already" in refused.text
    assert len(mailserver.received) == 1


def test_the_sent_email_shows_the_editors_changes(
    app: Any, seeded: Seeded, signed_in: Client, mailserver: MailServer, site: HTTPServer
) -> None:
    site.expect_request("/articles/battery").respond_with_data(ARTICLE, content_type="text/html")
    act(signed_in, "move", seeded.research, section="strategy")
    act(signed_in, "drop", seeded.industry)
    act(signed_in, "pin", seeded.funding)
    act(
        signed_in,
        "edit",
        seeded.hostile,
        headline="英国石墨烯膜实现规模化生产",
        lead="编辑写的导语。",
    )
    csrf = csrf_of(page(signed_in))
    signed_in.post(
        "/review/add",
        data={
            "csrf": csrf,
            "week": WEEK,
            "profile": "cas",
            "url": site.url_for("/articles/battery"),
        },
    )
    assert (
        signed_in.post(
            "/review/send", data={"csrf": csrf, "week": WEEK, "profile": "cas"}
        ).status_code
        == 303
    )
    (received,) = mailserver.wait_for(1)
    text = message_text(received.message)
    sections = sections_of(text)
    assert "Chipmaker opens a new wafer fab" not in text  # dropped
    assert "NSF awards $30M" in sections["专题"]  # pinned
    assert "MIT team prints" in sections["战略规划"]  # moved
    assert "英国石墨烯膜实现规模化生产" in text and "编辑写的导语。" in text  # edited
    assert "DOE funds a solid-state battery pilot line" in text  # added by URL


def test_the_news_alert_mark_is_not_part_of_an_edited_headline() -> None:
    from monitor.desk.review import edited_text
    from monitor.digest.view import ALERTED

    assert edited_text(f"美NSF宣布资助  {ALERTED}", " 导语。\r\n") == ("美NSF宣布资助", "导语。")
    kept = "稀土（已快讯）出口管制"  # the words inside a headline stay
    assert edited_text(kept, "导语")[0] == kept
