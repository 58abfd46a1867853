"""Chinese headlines and leads from a language model: over real HTTP to a local server speaking
the chat-completions protocol, with the drafts stored in a real database."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import Config, Publisher, load_config
from monitor.drafting.llm import (
    PROMPT_VERSION,
    BadReplyError,
    ChatClient,
    ModelError,
    ModelUnavailableError,
    Reply,
    check,
    draft_dates,
    parse_reply,
    source_dates,
)
from monitor.drafting.zh import EntryInput, zh_entries
from monitor.errors import ConfigError
from monitor.items import Classification, Entry
from monitor.settings import LlmSettings, Settings
from monitor.store import Store
from tests.conftest import base_config, write_config

NOW = datetime(2026, 5, 14, 8, 0, tzinfo=UTC)
DAY = date(2026, 5, 14)
WEEK = "2026-W20"
PATH = "/v1/chat/completions"
KEY = "sk-test-0123456789-secret"
NSF = Publisher(
    name="U.S. National Science Foundation",
    name_zh="美国国家科学基金会",
    abbr="NSF",
    country="US",
    country_zh="美",
)
TITLE = "NSF invests $42.4 million in the future of semiconductors"
SUMMARY = (
    "The U.S. National Science Foundation announced $42.4 million for 22 projects through the "
    "Future of Semiconductors program, in partnership with the Department of Commerce."
)
HEADLINE = "美NSF投资4240万美元支持未来半导体研究"
LEAD = (
    "5月14日，美国国家科学基金会（NSF）宣布投资4240万美元，通过“未来半导体”计划资助22个研究项目，"
    "并与美国商务部合作，支持面向未来半导体的材料、器件与制造技术研究，以及相关的教育与人才培养，"
    "加快研究成果向先进制造领域的转化。"
)


DraftingStore = Store  # the drafts live in the Store (monitor.store.drafts.ZhDraftStore)


# ----------------------------------------------------------------------------------- fixtures
@pytest.fixture
def store(db_url: str) -> Iterator[DraftingStore]:
    store = DraftingStore(db_url)
    yield store
    store.close()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path / "sources.yaml", base_config()))


def settings_for(server: HTTPServer, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "base_url": server.url_for("/v1"),
        "model": "test-model",
        "api_key": KEY,
        "timeout": 5.0,
        "max_per_week": 60,
        "budget": 60.0,
    }
    return Settings(llm=LlmSettings(**(values | changes)))


def add_items(store: Store, count: int) -> list[int]:
    from monitor.dedup import canonical_url

    decision = Classification(True, 0.9, ("semiconductors",), "funding", ())
    ids: list[int] = []
    for n in range(count):
        url = f"https://www.nsf.gov/news/item-{n}"
        entry = Entry(
            source_id="nsf-news",
            publisher="nsf",
            canonical_url=canonical_url(url),
            url=url,
            guid=None,
            title=f"{TITLE} ({n})",
            summary=SUMMARY,
            published_at=NOW,
            published_date=DAY,
            date_source="feed",
            date_note=None,
            language="en",
        )
        ids.extend(store.save_entries([(entry, decision)], NOW).item_ids)
    return ids


def entries(ids: list[int], **changes: Any) -> list[EntryInput]:
    base = EntryInput(
        item_id=0,
        title=TITLE,
        summary=SUMMARY,
        text="The awards support research on new materials and chip manufacturing. " * 10,
        publisher="nsf",
        day=DAY,
        dated=True,
    )
    return [replace(base, item_id=i, **changes) for i in ids]


def chat_reply(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }


def draft_json(headline: str = HEADLINE, lead: str = LEAD) -> str:
    return json.dumps({"headline": headline, "lead": lead}, ensure_ascii=False)


def answer(server: HTTPServer, content: str) -> None:
    server.expect_request(PATH, method="POST").respond_with_json(chat_reply(content))


def requests(server: HTTPServer) -> list[Request]:
    return [request for request, _ in server.log]


def run(
    store: Store, settings: Settings, config: Config, items: list[EntryInput], **kw: Any
) -> dict[int, Any]:
    week = kw.pop("week", WEEK)
    return zh_entries(store, settings, config, items, week, "cas", NOW, **kw)


# ------------------------------------------------------------------------------ orchestration
def test_a_good_reply_is_used_stored_and_not_asked_for_again(
    httpserver: HTTPServer, store: DraftingStore, config: Config
) -> None:
    answer(httpserver, draft_json())
    settings = settings_for(httpserver)
    (item_id,) = add_items(store, 1)

    drafts = run(store, settings, config, entries([item_id]))

    assert drafts[item_id].source == "model"
    assert (drafts[item_id].headline, drafts[item_id].lead) == (HEADLINE, LEAD)
    (request,) = requests(httpserver)
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    body = json.loads(request.get_data())
    assert body["model"] == "test-model" and body["temperature"] == 0.2
    system, user = body["messages"]
    assert system["role"] == "system" and "4240万美元" in system["content"]
    assert "美国国家科学基金会（NSF）" in user["content"]
    assert "2026年5月14日" in user["content"] and TITLE in user["content"]
    assert "Department of Commerce → " in user["content"]  # a glossary term the item names
    stored = store.zh_drafts([item_id], PROMPT_VERSION, "test-model")[item_id]
    assert stored.accepted and stored.week == WEEK and stored.headline == HEADLINE

    again = run(store, settings, config, entries([item_id]))

    assert again[item_id].source == "model" and again[item_id].lead == LEAD
    assert len(requests(httpserver)) == 1  # from the store, not the model
    other_model = run(store, settings_for(httpserver, model="other"), config, entries([item_id]))
    assert other_model[item_id].source == "model" and len(requests(httpserver)) == 2


def test_no_configuration_means_the_skeleton_and_no_request(
    httpserver: HTTPServer, store: DraftingStore, config: Config
) -> None:
    answer(httpserver, draft_json())
    ids = add_items(store, 2)

    drafts = run(store, Settings(), config, entries(ids))

    assert {d.source for d in drafts.values()} == {"skeleton"} and set(drafts) == set(ids)
    assert requests(httpserver) == []


def test_http_500_gives_skeletons_quickly_and_stops_asking(
    httpserver: HTTPServer, store: DraftingStore, config: Config
) -> None:
    httpserver.expect_request(PATH).respond_with_data("overloaded", status=500)
    ids = add_items(store, 3)

    started = time.monotonic()
    drafts = run(store, settings_for(httpserver), config, entries(ids))

    assert time.monotonic() - started < 3
    assert {d.source for d in drafts.values()} == {"skeleton"} and set(drafts) == set(ids)
    assert len(requests(httpserver)) == 1  # the service is down: no more requests this digest
    assert store.zh_draft_count(WEEK) == 0  # a failure is not a rejection: asked again next time


def test_a_time_out_gives_the_skeleton_within_the_timeout(
    httpserver: HTTPServer, store: DraftingStore, config: Config
) -> None:
    release = threading.Event()

    def slow(_request: Request) -> Response:
        release.wait(10)  # longer than the timeout, until the test has seen enough
        return Response(json.dumps(chat_reply(draft_json())), content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(slow)
    ids = add_items(store, 2)

    started = time.monotonic()
    drafts = run(store, settings_for(httpserver, timeout=0.4), config, entries(ids))

    assert time.monotonic() - started < 1.5
    assert {d.source for d in drafts.values()} == {"skeleton"}
    assert store.zh_draft_count(WEEK) == 0
    release.set()  # let the server finish the request before the next test uses it
    deadline = time.monotonic() + 10
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(requests(httpserver)) == 1


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(chat_reply("Sure! Here is the headline: 美NSF投资")),  # content not JSON
        json.dumps(chat_reply(json.dumps({"title": HEADLINE}))),  # the wrong keys
        "<html>Bad gateway</html>",  # not a chat-completions reply at all
        json.dumps({"choices": []}),
    ],
)
def test_a_malformed_reply_gives_the_skeleton_and_is_remembered(
    httpserver: HTTPServer, store: DraftingStore, config: Config, body: str
) -> None:
    httpserver.expect_request(PATH).respond_with_data(body, content_type="application/json")
    (item_id,) = add_items(store, 1)
    settings = settings_for(httpserver)

    started = time.monotonic()
    drafts = run(store, settings, config, entries([item_id]))

    assert time.monotonic() - started < 3
    assert drafts[item_id].source == "skeleton"
    stored = store.zh_drafts([item_id], PROMPT_VERSION, "test-model")[item_id]
    assert not stored.accepted and stored.reason and stored.reason.startswith("bad reply")
    run(store, settings, config, entries([item_id]))
    assert len(requests(httpserver)) == 1


@pytest.mark.parametrize(
    ("headline", "lead", "reason"),
    [
        (HEADLINE.replace("4240", "5000"), LEAD, "amount 50M USD is not in the source"),
        (HEADLINE, LEAD.replace("4240万美元", "4240万欧元"), "amount 42.4M EUR"),
        (HEADLINE, LEAD.replace("5月14日", "5月12日"), "date 5月12日"),
        (HEADLINE, LEAD.replace("5月14日", "2025年5月14日"), "date 2025年5月14日"),
        (HEADLINE, LEAD.replace("22个研究项目", "22个研究项目，资助率为35%"), "percentage 35%"),
        (HEADLINE, LEAD.replace("美国国家科学基金会", "美国国家基金会"), "does not name"),
        (HEADLINE * 2, LEAD, "headline of"),
        (HEADLINE, LEAD[:40], "lead of 40 characters"),
    ],
    ids=[
        "amount",
        "currency",
        "date",
        "year",
        "percentage",
        "publisher",
        "long-headline",
        "short-lead",
    ],
)
def test_a_draft_the_guard_rejects_gives_the_skeleton_and_is_stored_as_rejected(
    httpserver: HTTPServer,
    store: DraftingStore,
    config: Config,
    headline: str,
    lead: str,
    reason: str,
) -> None:
    answer(httpserver, draft_json(headline, lead))
    (item_id,) = add_items(store, 1)
    settings = settings_for(httpserver)

    drafts = run(store, settings, config, entries([item_id]))

    assert drafts[item_id].source == "skeleton"
    stored = store.zh_drafts([item_id], PROMPT_VERSION, "test-model")[item_id]
    assert not stored.accepted and stored.reason and reason in stored.reason
    assert stored.headline == headline and store.zh_draft_count(WEEK) == 1
    again = run(store, settings, config, entries([item_id]))
    assert again[item_id].source == "skeleton" and len(requests(httpserver)) == 1


def test_the_weekly_maximum_is_respected(
    httpserver: HTTPServer, store: DraftingStore, config: Config
) -> None:
    answer(httpserver, draft_json())
    ids = add_items(store, 5)
    settings = settings_for(httpserver, max_per_week=2)

    first = run(store, settings, config, entries(ids[:3]))

    assert [first[i].source for i in ids[:3]] == ["model", "model", "skeleton"]
    assert len(requests(httpserver)) == 2 and store.zh_draft_count(WEEK) == 2
    later = run(store, settings, config, entries(ids))  # the same week, drafted again
    assert [later[i].source for i in ids] == ["model", "model"] + ["skeleton"] * 3
    assert len(requests(httpserver)) == 2
    next_week = run(store, settings, config, entries(ids), week="2026-W21")
    assert [next_week[i].source for i in ids] == ["model"] * 4 + ["skeleton"]
    assert len(requests(httpserver)) == 4


def test_no_request_starts_once_the_budget_is_spent(
    httpserver: HTTPServer, store: DraftingStore, config: Config
) -> None:
    answer(httpserver, draft_json())
    ids = add_items(store, 4)
    ticks = iter(range(0, 10_000, 50))  # every look at the clock: 50 seconds later

    drafts = run(
        store,
        settings_for(httpserver, budget=120),
        config,
        entries(ids),
        clock=lambda: float(next(ticks)),
    )

    assert [drafts[i].source for i in ids] == ["model", "model", "skeleton", "skeleton"]
    assert len(requests(httpserver)) == 2


def test_redirects_are_not_followed(
    httpserver: HTTPServer, store: DraftingStore, config: Config
) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        "", status=307, headers={"Location": "http://elsewhere.invalid/v1/chat/completions"}
    )
    (item_id,) = add_items(store, 1)

    drafts = run(store, settings_for(httpserver), config, entries([item_id]))

    assert drafts[item_id].source == "skeleton" and len(requests(httpserver)) == 1


def test_an_unreachable_service_gives_skeletons(store: DraftingStore, config: Config) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(llm=LlmSettings(base_url=f"http://127.0.0.1:{port}/v1", model="m"))
    ids = add_items(store, 2)

    drafts = run(store, settings, config, entries(ids))

    assert {d.source for d in drafts.values()} == {"skeleton"}


# ------------------------------------------------------------------------------------ client
def test_the_client_bounds_the_reply(httpserver: HTTPServer) -> None:
    big = chat_reply("x" * 5000)
    httpserver.expect_request(PATH).respond_with_json(big)
    with (
        ChatClient(httpserver.url_for("/v1"), "m", max_bytes=1000) as client,
        pytest.raises(ModelError, match="bytes"),
    ):
        client.complete([{"role": "user", "content": "hi"}])


def test_the_client_has_its_own_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("no", status=401)
    with ChatClient(httpserver.url_for("/v1"), "m", api_key=KEY) as client:
        assert KEY not in repr(client)
        with pytest.raises(ModelUnavailableError, match="HTTP 401"):
            client.complete([{"role": "user", "content": "hi"}])


def test_parse_reply_tolerates_fences_and_thinking() -> None:
    content = f"<think>Let me see.</think>\n```json\n{draft_json()}\n```"
    assert parse_reply(content) == Reply(HEADLINE, LEAD)
    assert parse_reply(f"Here it is: {draft_json()} Done.") == Reply(HEADLINE, LEAD)
    with pytest.raises(BadReplyError):
        parse_reply('["headline", "lead"]')


# ------------------------------------------------------------------------------------- guard
def test_the_guard_accepts_amounts_in_chinese_units_and_dates_of_the_source() -> None:
    source = f"{TITLE}\n{SUMMARY}\nThe call closes on September 30, 2026; awards of £22 million."
    lead = LEAD + "申请截止日期为9月30日，另有2200万英镑资助。"
    reply = Reply(HEADLINE, lead)
    assert check(reply, source=source, publisher=NSF, day=DAY, dated=True) is None
    # the item's date is only allowed when it is the publication date
    reason = check(reply, source=source, publisher=NSF, day=DAY, dated=False)
    assert reason and "5月14日" in reason


def test_the_guard_accepts_a_rounded_amount_but_not_an_invented_one() -> None:
    source = "DOE announces $192.5 million and €3 billion"
    lead = "5月14日，美国国家科学基金会（NSF）" + "宣布" * 30 + "30亿欧元"
    ok = Reply("美DOE投资1.925亿美元", lead)
    assert check(ok, source=source, publisher=NSF, day=DAY, dated=True) is None
    bad = Reply("美DOE投资2亿美元", ok.lead)  # one significant digit: not a rounding we accept
    assert "amount" in (check(bad, source=source, publisher=NSF, day=DAY, dated=True) or "")


def test_the_guard_wants_chinese() -> None:
    english = Reply(HEADLINE, "On May 14 the 美国国家科学基金会 announced " + "funding " * 20)
    reason = check(english, source=SUMMARY, publisher=NSF, day=DAY, dated=True)
    assert reason == "the lead is not mostly Chinese"


def test_the_guard_accepts_a_publisher_name_without_its_bracketed_note() -> None:
    war = Publisher(name="U.S. Department of War", name_zh="美国战争部（原国防部）", abbr="DoW")
    lead = "5月14日，美国战争部（DoW）宣布" + "资助先进制造研究" * 10
    reply = Reply("美战争部资助先进制造", lead)
    assert check(reply, source="", publisher=war, day=DAY, dated=True) is None


def test_dates_in_drafts_and_sources() -> None:
    assert draft_dates("2025年9月16日，……9月18日") == [(2025, 9, 16), (None, 9, 18)]
    found = source_dates("On Sept. 16, 2025 and 3 March 2026, 2026-01-05; 4月1日")
    assert {(2025, 9, 16), (2026, 3, 3), (2026, 1, 5), (None, 4, 1)} <= found


# ---------------------------------------------------------------------------------- settings
def test_settings_read_the_model_from_the_environment_and_hide_the_key() -> None:
    env = {
        "MONITOR_LLM_BASE_URL": "http://localhost:11434/v1/",
        "MONITOR_LLM_MODEL": "qwen2.5:7b",
        "MONITOR_LLM_API_KEY": KEY,
        "MONITOR_LLM_TIMEOUT": "45",
        "MONITOR_LLM_MAX_PER_WEEK": "20",
        "MONITOR_LLM_BUDGET": "300",
    }
    settings = Settings.from_env(env)
    assert settings.llm == LlmSettings("http://localhost:11434/v1", "qwen2.5:7b", KEY, 45, 20, 300)
    assert settings.llm.configured
    assert KEY not in repr(settings) and KEY not in repr(settings.llm)
    default = Settings.from_env({})
    assert not default.llm.configured
    assert (default.llm.timeout, default.llm.max_per_week, default.llm.budget) == (30, 60, 120)


def test_settings_report_every_wrong_model_setting_at_once() -> None:
    env = {
        "MONITOR_LLM_BASE_URL": "http://user:pw@localhost:11434/v1",
        "MONITOR_LLM_TIMEOUT": "soon",
        "MONITOR_LLM_MAX_PER_WEEK": "2.5",
        "MONITOR_LLM_BUDGET": "-1",
    }
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    problems = {p.key: p.message for p in caught.value.problems}
    assert set(problems) == {
        "MONITOR_LLM_BASE_URL",
        "MONITOR_LLM_MODEL",
        "MONITOR_LLM_TIMEOUT",
        "MONITOR_LLM_MAX_PER_WEEK",
        "MONITOR_LLM_BUDGET",
    }
    assert "MONITOR_LLM_API_KEY" in problems["MONITOR_LLM_BASE_URL"]
    assert "pw" not in str(caught.value)
    assert "'soon' is not a number of seconds" in problems["MONITOR_LLM_TIMEOUT"]
    with pytest.raises(ConfigError, match="MONITOR_LLM_BASE_URL"):
        Settings.from_env({"MONITOR_LLM_BASE_URL": "localhost:11434", "MONITOR_LLM_MODEL": "m"})


# ------------------------------------------------------------------------- through the digest
UKRI_HEADLINE = "英UKRI资助先进材料与制造研究"
UKRI_LEAD = (
    "英国研究与创新署（UKRI）宣布资助一批面向先进材料与制造的研究项目，支持高校与企业合作，"
    "推动新材料从实验室走向生产线，并加强相关领域的人才培养与基础设施建设。"
)


def test_the_digest_carries_the_models_entries_and_survives_a_failing_model(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli
    from tests.conftest import data, serve, source

    serve(site, "/ukri/feed/", data("ukri_wordpress_feed.xml"), "application/rss+xml")
    cfg = base_config(sources=[source("ukri-news", "rss", site.url_for("/ukri/feed/"), "ukri")])
    asked: list[Any] = []

    def reply(request: Request) -> Response:
        asked.append(json.loads(request.data))
        content = json.dumps({"headline": UKRI_HEADLINE, "lead": UKRI_LEAD}, ensure_ascii=False)
        return Response(
            json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}),
            content_type="application/json",
        )

    site.expect_request(PATH, method="POST").respond_with_handler(reply)
    env = {
        "MONITOR_DATABASE_URL": db_url,
        "MONITOR_ALLOW_PRIVATE_HOSTS": "1",
        "MONITOR_DIGEST_DIR": str(tmp_path / "digests"),
        "MONITOR_CONFIG": str(write_config(tmp_path / "sources.yaml", cfg)),
        "MONITOR_LLM_BASE_URL": site.url_for("/v1"),
        "MONITOR_LLM_MODEL": "test-model",
    }
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], env=env).exit_code == 0
    first = runner.invoke(cli, ["digest", "--week", "2024-W39"], env=env)
    assert first.exit_code == 0, first.output
    txt = (tmp_path / "digests" / "2024-W39.cas.txt").read_text(encoding="utf-8")
    entries = txt.count("编译自[")
    assert entries >= 1 and len(asked) == entries  # only the entries selected for the digest
    assert txt.count(UKRI_HEADLINE) >= entries and UKRI_LEAD in txt
    again = runner.invoke(cli, ["digest", "--week", "2024-W39"], env=env)
    assert again.exit_code == 0 and len(asked) == entries  # stored: not asked again
    down = env | {
        "MONITOR_LLM_MODEL": "another-model",
        "MONITOR_LLM_BASE_URL": "http://127.0.0.1:9/v1",
    }
    started = time.monotonic()
    failing = runner.invoke(cli, ["digest", "--week", "2024-W39"], env=down)
    assert failing.exit_code == 0, failing.output
    assert time.monotonic() - started < 30
    txt = (tmp_path / "digests" / "2024-W39.cas.txt").read_text(encoding="utf-8")
    assert UKRI_HEADLINE not in txt and "英UKRI" in txt  # the skeleton, in the same style
