"""A Chinese headline and lead from a language model: the chat-completions client, the prompt,
and the guard that checks the model's draft against the source before anyone sees it.

The client speaks the OpenAI-compatible protocol (``POST {base}/chat/completions``) that Ollama,
vLLM, llama.cpp and hosted services share. The guard is code, not a request in the prompt:
every amount and date the draft states must be in the source (or be the item's date), the
lengths must fit the bulletin, and the lead must name the publisher in Chinese.

ModelError                 the model gave nothing usable for this item
├── ModelUnavailableError       the service cannot be used now (network, time-out, HTTP error)
└── BadReplyError               it answered, but not with the JSON asked for
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import httpx

from monitor.config import Publisher
from monitor.drafting.skeleton import full_name, headline_actor
from monitor.errors import MonitorError
from monitor.months import MONTHS
from monitor.stories.facts import amounts, normalise_text, percents

log = logging.getLogger(__name__)

PROMPT_VERSION = "zh-1"  # change it whenever the prompt changes: drafts are cached under it
TEXT_CHARS = 3000  # of the article text sent to the model
SUMMARY_CHARS = 1500
MAX_REPLY_BYTES = 256 * 1024
MAX_TOKENS = 800
TEMPERATURE = 0.2
HEADLINE_MAX = 40
LEAD_MIN, LEAD_MAX = 60, 300
CJK_SHARE = 0.3  # at least this share of a draft's characters must be Chinese

Messages = Sequence[Mapping[str, str]]


class ModelError(MonitorError):
    """The model gave nothing usable for this item."""


class ModelUnavailableError(ModelError):
    """The service cannot be used now: stop asking it during this digest."""


class BadReplyError(ModelError):
    """The service answered, but not with the JSON object the prompt asks for."""

    def __init__(self, reason: str, content: str = "") -> None:
        self.content = content
        super().__init__(reason)


class ChatModel(Protocol):
    """What the orchestration needs of a client (tests may pass their own)."""

    model: str

    def complete(self, messages: Messages, timeout: float | None = None) -> str: ...


# ------------------------------------------------------------------------------------ client
class ChatClient:
    """A synchronous chat-completions client: a timeout per request (each wait is bounded by it,
    and the reply must be complete within it, checked between chunks), a bounded reply, no
    redirects, the API key as a Bearer token (never in repr or logs)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        max_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout = timeout
        self.max_bytes = max_bytes
        headers = {"Accept": "application/json", "User-Agent": "monitor-drafting"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        # No proxies from the environment: the key goes only to the configured host.
        self._http = httpx.Client(headers=headers, follow_redirects=False, trust_env=False)

    def __repr__(self) -> str:
        return f"ChatClient(url={self.url!r}, model={self.model!r}, timeout={self.timeout})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def complete(self, messages: Messages, timeout: float | None = None) -> str:
        """The content of the model's first choice; ModelError when there is none."""
        body = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "temperature": TEMPERATURE,
            "max_tokens": MAX_TOKENS,
            "response_format": {"type": "json_object"},
            "stream": False,
        }
        raw = self._post(body, self.timeout if timeout is None else min(timeout, self.timeout))
        return _content(raw)

    def _post(self, body: dict[str, Any], seconds: float) -> bytes:
        deadline = time.monotonic() + seconds
        limits = httpx.Timeout(seconds, connect=min(seconds, 10.0))
        try:
            with self._http.stream("POST", self.url, json=body, timeout=limits) as response:
                _check_status(response)
                return self._read(response, deadline, seconds)
        except httpx.TimeoutException as e:
            raise ModelUnavailableError(f"timed out after {seconds:g} s") from e
        except httpx.HTTPError as e:
            raise ModelUnavailableError(f"{type(e).__name__}: {e}") from e

    def _read(self, response: httpx.Response, deadline: float, seconds: float) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise ModelError(f"reply of {declared} bytes (at most {self.max_bytes})")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise ModelError(f"reply larger than {self.max_bytes} bytes")
            if time.monotonic() > deadline:
                raise ModelUnavailableError(f"timed out after {seconds:g} s")
            chunks.append(chunk)
        return b"".join(chunks)


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if response.is_redirect:
        where = response.headers.get("Location", "?")
        raise ModelUnavailableError(
            f"HTTP {status} redirect to {where} (redirects are not followed)"
        )
    detail = _error_detail(response)
    if status in (400, 413, 422):  # this request (this item) was refused, the next may do
        raise ModelError(f"HTTP {status}{detail}")
    raise ModelUnavailableError(f"HTTP {status}{detail}")


def _error_detail(response: httpx.Response) -> str:
    """A short excerpt of an error body (servers explain a 400 there)."""
    try:
        head = next(response.iter_bytes(), b"")[:300]
    except httpx.HTTPError:
        return ""
    text = " ".join(head.decode("utf-8", "replace").split())
    return f": {text}" if text else ""


def _content(raw: bytes) -> str:
    try:
        reply = json.loads(raw)
        content = reply["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise BadReplyError(f"not a chat-completions reply ({type(e).__name__})") from e
    if not isinstance(content, str) or not content.strip():
        raise BadReplyError("the reply has no content")
    return content


# ------------------------------------------------------------------------------------ prompt
SYSTEM_PROMPT = "\n".join(
    (
        "你是《先进制造与新材料动态监测快报》的编辑，"
        "负责把外国政府、机构、实验室或企业的一条新闻编译成快报条目的中文标题和导语。",
        "",
        '只输出一个 JSON 对象，不要输出任何其他文字：{"headline": "标题", "lead": "导语"}',
        "",
        "标题：国别简称+机构简称+动作+对象，不超过30个字，不加句号。例如：",
        "- 美NSF投资4240万美元支持未来半导体研究",
        "- 英UKRI投资2200万英镑建设先进材料研究中心",
        "- 欧发布《欧盟先进制造业战略洞察分析报告》",
        "",
        "导语：100至250个字，一段话。以日期和机构的中文全称加括号英文缩写开头，"
        "例如“9月16日，美国国家科学基金会（NSF）宣布……”；"
        "写明谁、做了什么、涉及的金额、项目或计划名称、目的。"
        "报告、战略、计划、法案的名称用书名号《》。",
        "",
        "金额一律用中文单位：2550万美元、1.925亿美元、2200万英镑、30亿欧元"
        "（不写“百万”“十亿”“million”“billion”）。"
        "换算必须与原文数值完全一致：$42.4 million 写作4240万美元，"
        "$192.5 million 写作1.925亿美元。",
        "日期写作“9月16日”，跨年时写作“2025年9月16日”。",
        "",
        "只使用所给材料中的事实。不得编造、推算或汇总金额、日期、数字、百分比、人名、机构名或地名；"
        "材料中没有的内容一律不写。不确定的信息宁可省略。",
        "机构名称使用所给的规范译名。",
    )
)


@dataclass(frozen=True)
class PromptInput:
    """What the model is told about one item."""

    title: str
    summary: str
    text: str
    publisher: Publisher
    day: date
    dated: bool  # False: ``day`` is when the item was first seen, not its publication date
    terms: tuple[str, ...] = ()  # "English name → 中文名（ABBR）" lines from the glossary


def messages(item: PromptInput) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_prompt(item)},
    ]


def user_prompt(item: PromptInput) -> str:
    publisher = item.publisher
    lines = [f"发布机构：{publisher.name}", f"导语中的机构名称：{full_name(publisher)}"]
    lines.append(f"标题中的机构简称：{headline_actor(publisher)}")
    if item.dated:
        opening = f"导语以“{zh_date(item.day)}，”开头"
        lines.append(f"发布日期：{zh_date(item.day, year=True)}（{opening}）")
    else:
        lines.append("发布日期：不详（导语不写日期，直接以机构中文全称开头）")
    if item.terms:
        lines.append("规范译名：")
        lines.extend(f"- {term}" for term in item.terms)
    lines.append("")
    lines.append(f"原文标题：{_clip(item.title, 500)}")
    if item.summary.strip():
        lines.append(f"原文摘要：{_clip(item.summary, SUMMARY_CHARS)}")
    if item.text.strip():
        lines.append(f"原文正文（开头部分）：\n{_clip(item.text, TEXT_CHARS)}")
    return "\n".join(lines)


def zh_date(day: date, *, year: bool = False) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if year else f"{day.month}月{day.day}日"


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + "……"


# ------------------------------------------------------------------------------------- reply
@dataclass(frozen=True)
class Reply:
    headline: str
    lead: str


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


def parse_reply(content: str) -> Reply:
    """The headline and lead of the model's JSON answer (fences and <think> tolerated)."""
    text = _FENCE.sub("", _THINK.sub("", content).strip()).strip()
    try:
        data = json.loads(text)
    except ValueError:
        start, end = text.find("{"), text.rfind("}")
        try:
            data = json.loads(text[start : end + 1]) if 0 <= start < end else None
        except ValueError:
            data = None
    if not isinstance(data, dict):
        raise BadReplyError("the reply is not a JSON object", content)
    headline, lead = data.get("headline"), data.get("lead")
    if not isinstance(headline, str) or not isinstance(lead, str):
        raise BadReplyError('the JSON object lacks a "headline" or "lead" string', content)
    return Reply(_tidy(headline), _tidy(lead))


def _tidy(text: str) -> str:
    return " ".join(text.split()).strip()


# ------------------------------------------------------------------------------------- guard
_CJK = re.compile(r"[\u3400-\u9fff]")
_ZH_DATE = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_MONTHS = MONTHS
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_EN_MONTH_DAY = re.compile(
    rf"\b(?P<m>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}}))?",
    re.IGNORECASE,
)
_EN_DAY_MONTH = re.compile(
    rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m>{_MONTH_RE})\b\.?(?:,?\s+(?P<y>\d{{4}}))?",
    re.IGNORECASE,
)
_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")

DateKey = tuple[int | None, int, int]  # year (None: not written), month, day


def check(reply: Reply, *, source: str, publisher: Publisher, day: date, dated: bool) -> str | None:
    """Why the draft must not be used, or None when it passes. ``source``: the item's title,
    summary and text as given to the model."""
    draft = f"{reply.headline}\n{reply.lead}"
    return (
        _shape(reply)
        or _names_publisher(reply, publisher)
        or _amounts(draft, source)
        or _percents(draft, source)
        or _dates(draft, source, day, dated)
    )


def _shape(reply: Reply) -> str | None:
    if not reply.headline or len(reply.headline) > HEADLINE_MAX:
        return f"headline of {len(reply.headline)} characters (1 to {HEADLINE_MAX})"
    if not LEAD_MIN <= len(reply.lead) <= LEAD_MAX:
        return f"lead of {len(reply.lead)} characters ({LEAD_MIN} to {LEAD_MAX})"
    for name, text in (("headline", reply.headline), ("lead", reply.lead)):
        if len(_CJK.findall(text)) < CJK_SHARE * len(text.replace(" ", "")):
            return f"the {name} is not mostly Chinese"
    return None


def _names_publisher(reply: Reply, publisher: Publisher) -> str | None:
    forms = publisher_forms(publisher)
    if any(form in reply.lead for form in forms):
        return None
    return f"the lead does not name the publisher ({' or '.join(forms)})"


def publisher_forms(publisher: Publisher) -> list[str]:
    """The names a lead may use for the publisher: its Chinese name, also without a bracketed
    note (美国战争部（原国防部） → 美国战争部); with no Chinese name, its abbreviation or name."""
    if not publisher.name_zh:
        return [f for f in (publisher.abbr, publisher.name) if f]
    main = re.split(r"[（(]", publisher.name_zh, maxsplit=1)[0].strip()
    return list(dict.fromkeys(f for f in (publisher.name_zh, main) if len(f) >= 2))


def _amounts(draft: str, source: str) -> str | None:
    known = amounts(source)
    for amount in amounts(draft):
        if not any(amount.agrees(other) for other in known):
            stated = ", ".join(str(a) for a in known) or "none"
            return f"amount {amount} is not in the source (the source has: {stated})"
    return None


def _percents(draft: str, source: str) -> str | None:
    known = percents(source)
    for value in sorted(percents(draft) - known):
        return f"percentage {value:g}% is not in the source"
    return None


def _dates(draft: str, source: str, day: date, dated: bool) -> str | None:
    allowed = source_dates(source)
    if dated:
        allowed.add((day.year, day.month, day.day))
    for year, month, day_of_month in draft_dates(draft):
        if not any(_same_date((year, month, day_of_month), other) for other in allowed):
            written = f"{year}年{month}月{day_of_month}日" if year else f"{month}月{day_of_month}日"
            return f"date {written} is neither the item's date nor in the source"
    return None


def _same_date(a: DateKey, b: DateKey) -> bool:
    return a[1:] == b[1:] and (a[0] is None or b[0] is None or a[0] == b[0])


def draft_dates(text: str) -> list[DateKey]:
    """The dates a Chinese draft states: 9月16日, 2025年9月16日."""
    found = []
    for match in _ZH_DATE.finditer(normalise_text(text)):
        year = int(match[1]) if match[1] else None
        found.append((year, int(match[2]), int(match[3])))
    return found


def source_dates(text: str) -> set[DateKey]:
    """The dates a source states, in English (September 16, 2025; 16 Sept 2025; 2025-09-16)
    or Chinese (2025年9月16日)."""
    text = normalise_text(text)
    found: set[DateKey] = set(draft_dates(text))
    for pattern in (_EN_MONTH_DAY, _EN_DAY_MONTH, _ISO):
        for match in pattern.finditer(text):
            month = match["m"]
            number = int(month) if month.isdigit() else _MONTHS[month.lower()]
            year = int(match["y"]) if match["y"] else None
            found.add((year, number, int(match["d"])))
    return {d for d in found if 1 <= d[1] <= 12 and 1 <= d[2] <= 31}


# ------------------------------------------------------------------------------- one request
def ask(client: ChatModel, item: PromptInput, timeout: float | None = None) -> Reply:
    """The model's headline and lead for ``item`` (unchecked); ModelError when there are none."""
    return parse_reply(client.complete(messages(item), timeout))


def source_text(title: str, summary: str, text: str) -> str:
    """The source the guard compares a draft with: what the model was shown."""
    return "\n".join(t for t in (title, summary[:SUMMARY_CHARS], text[:TEXT_CHARS]) if t)
