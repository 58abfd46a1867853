"""The offline Chinese skeleton of a bulletin entry: headline and lead, without a language model.
Pure; no I/O.

Everything the bulletin states in fixed form is written in Chinese: the region and the agency
(美NSF, 欧委会), the date (9月16日), the publisher's full name with its abbreviation at first
mention (美国国家科学基金会（NSF）), the kind of act (宣布资助, 发布报告, 签署行政令 ...), sums of
money in Chinese units (4240万美元) and counts of projects or centres (47个战略项目). What cannot be
translated offline, the object of the news, stays as the original title after the full-width
colon "：" — **that part is for the editor to translate**; in the headline it is the title in
compact form (no "FACT SHEET:" label, no second clause), in the lead the whole title::

    美NSF宣布资助4240万美元：NSF awards $42.4M in new grants to support the future of semiconductors
    9月16日，美国国家科学基金会（NSF）宣布资助4240万美元：NSF awards $42.4M in new grants ...。

Layouts (a profile's ``layout``) follow the bulletins the editors publish:

- ``cas`` (default): headline "region abbreviation + short name + act" (美NSF, 英政府, 欧委会 — the
  region is not repeated when the short name starts with it); lead "M月D日，full name（abbr）act".
- ``zj``: headlines name the country in full (美国NSF, 英国政府); leads introduce the abbreviation
  as "（以下简称NSF）". The outlet in parentheses that ends a zj entry is the renderer's.
- ``idei``: plain titles, numbered by the renderer: the publisher's Chinese name and the act as a
  noun (美国国家科学基金会4240万美元资助); the footnote citing the source is the renderer's.

An item whose publication date is unknown (``dated=False``) has the day it was first seen; the
lead says so: "3月3日（发布日期不详，此为首次发现日期），...".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from monitor.config import Publisher
from monitor.drafting.acts import OTHER, RESULT, Act, act_of, counts_zh
from monitor.drafting.amounts import amounts_zh

__all__ = [
    "LAYOUTS",
    "ZhDraft",
    "compact_title",
    "full_name",
    "headline_actor",
    "skeleton",
    "zh_date",
]

LAYOUTS = ("cas", "zj", "idei")
HEADLINE_TITLE_MAX = 90  # characters of the original title kept in a headline
UNDATED = "（发布日期不详，此为首次发现日期）"


@dataclass(frozen=True)
class ZhDraft:
    """A Chinese headline and lead. In a skeleton, what follows the first "：" is the original
    title, for the editor to translate."""

    headline: str  # Chinese headline skeleton
    lead: str  # Chinese lead skeleton (starts with the date and the publisher's full name (abbr))
    source: str = "skeleton"  # "skeleton", "model" or "editor" (the review desk)


def skeleton(
    *, title: str, summary: str, publisher: Publisher, day: date, dated: bool, layout: str
) -> ZhDraft:
    """The skeleton of one entry in the profile's ``layout`` ("cas", "zj" or "idei")."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r} (supported: {', '.join(LAYOUTS)})")
    original = _clean(title)
    act = _act(original, summary, publisher)
    facts = _Facts.of(original, summary)
    headline = _headline(layout, publisher, act, facts, compact_title(original))
    lead = _lead(layout, publisher, act, facts, original, zh_date(day, dated))
    return ZhDraft(headline=headline, lead=lead)


# ---------------------------------------------------------------------------------- the facts
@dataclass(frozen=True)
class _Facts:
    """Sums (in Chinese form) and the count an entry states. The title's go into the verb
    phrase; the summary's sum only into an aside, for acts about money, where it is likely the
    sum of the act."""

    amount: str  # the title's first sum
    count: str  # the title's first count of projects, centres ... (47个战略项目)
    summary_amount: str  # the summary's first sum

    @classmethod
    def of(cls, title: str, summary: str) -> _Facts:
        return cls(
            amount=next(iter(amounts_zh(title)), ""),
            count=next(iter(counts_zh(title)), ""),
            summary_amount=next(iter(amounts_zh(summary)), ""),
        )


# Acts that a lab's or university's summary may state; other acts a summary suggests (a
# "collaboration", a "new centre") are the setting of a research result.
_SUMMARY_ACTS = frozenset(
    {"funding", "investment", "contract", "call", "selection", "report", "strategy", "law"}
)


def _act(title: str, summary: str, publisher: Publisher) -> Act:
    """The act; a lab's or university's news whose title names no act is a research result."""
    act = act_of(title, summary)
    if publisher.kind not in ("lab", "university") or act_of(title) != OTHER:
        return act
    return act if act.key in _SUMMARY_ACTS else RESULT


# ------------------------------------------------------------------------------------ headline
def _headline(layout: str, publisher: Publisher, act: Act, facts: _Facts, title: str) -> str:
    if _is_chinese(title):
        return title  # a Chinese title is already a headline
    amount, count = facts.amount, facts.count
    if layout == "idei":
        return _colon(_idei_title(publisher, act, amount, count), title)
    if publisher.kind == "media":  # the outlet reports; who acted is in the title
        return _colon(f"{_short_name(publisher)}报道{_aside(amount)}", title)
    actor = headline_actor(publisher, full_country=layout == "zj")
    if act.money or not amount:
        return _colon(actor + act.phrase(amount, count), title)
    return _colon(f"{actor}{act.phrase(count=count)}{_aside(amount)}", title)


def _idei_title(publisher: Publisher, act: Act, amount: str, count: str) -> str:
    """A plain title: 美国国家科学基金会4240万美元资助, 英国政府战略; with a count, the verb
    phrase: 欧盟委员会遴选47个战略项目."""
    name = _plain_name(publisher)
    if publisher.kind == "media":
        return f"{name}报道"
    if act.money and amount:
        return f"{name}{amount}{act.noun}"
    if count and "{count}" in act.template:
        return name + act.phrase(count=count)
    return name + act.noun


def headline_actor(publisher: Publisher, *, full_country: bool = False) -> str:
    """Region and short name as headlines write them: 美NSF, 英政府, 欧委会 (not 欧欧委会), 美白宫;
    with ``full_country``: 美国NSF, 英国政府."""
    short = _short_name(publisher)
    region = publisher.country_zh or ""
    if full_country:
        region = _COUNTRY_ZH.get((publisher.country or "").upper(), region)
    if not region or _starts_with_region(short, region):
        return short
    return f"{region}{short}"


# Region abbreviations of one character that a short name may already begin with (欧委会, 美国…).
_ONE_CHAR_REGIONS = frozenset("美英欧德法日韩中俄澳加意荷瑞印")


def _starts_with_region(short: str, region: str) -> bool:
    if short.startswith(region):
        return True
    first = region[:1]
    return first in _ONE_CHAR_REGIONS and short.startswith(first)


_COUNTRY_ZH = {
    "US": "美国",
    "GB": "英国",
    "UK": "英国",
    "EU": "欧盟",
    "DE": "德国",
    "FR": "法国",
    "JP": "日本",
    "KR": "韩国",
    "SG": "新加坡",
    "CA": "加拿大",
    "AU": "澳大利亚",
    "CN": "中国",
    "TW": "中国台湾",
    "HK": "中国香港",
    "IN": "印度",
    "NL": "荷兰",
    "CH": "瑞士",
    "IT": "意大利",
    "ES": "西班牙",
    "SE": "瑞典",
    "FI": "芬兰",
    "BE": "比利时",
    "AT": "奥地利",
    "DK": "丹麦",
    "NO": "挪威",
    "IE": "爱尔兰",
    "IL": "以色列",
    "RU": "俄罗斯",
    "BR": "巴西",
}


# ---------------------------------------------------------------------------------------- lead
def _lead(layout: str, publisher: Publisher, act: Act, facts: _Facts, title: str, when: str) -> str:
    name = full_name(publisher, introduce=layout == "zj")
    about_money = act.money or act.key == "call"
    aside = _aside(facts.amount or (facts.summary_amount if about_money else ""), "涉及金额")
    if publisher.kind == "media":
        name, phrase = f"据{name}", f"报道{aside}"
    elif act.money and facts.amount:
        phrase = act.phrase(facts.amount, facts.count)
    else:
        phrase = act.phrase(count=facts.count) + aside
    return _sentence(_colon(f"{when}，{name}{phrase}", title))


def full_name(publisher: Publisher, *, introduce: bool = False) -> str:
    """The first mention: 美国国家科学基金会（NSF）; with ``introduce`` (zj):
    美国国家科学基金会（以下简称NSF）. A bracketed note in the Chinese name takes the abbreviation
    in: 美国战争部（原国防部，DoW）. Without an abbreviation, the name alone."""
    name = publisher.name_zh or publisher.name
    abbr = publisher.abbr
    if not abbr or abbr in name:
        return name
    note = f"以下简称{abbr}" if introduce else abbr
    if name.endswith("）"):
        return f"{name[:-1]}，{note}）"
    return f"{name}（{note}）"


def zh_date(day: date, dated: bool = True) -> str:
    """9月16日; an undated item's first-seen day says that it is one."""
    return f"{day.month}月{day.day}日" + ("" if dated else UNDATED)


# --------------------------------------------------------------------------------------- title
_LABEL = re.compile(
    r"^(?:fact sheet|news release|press release|media release|news|update|blog|video)\s*[:：|]\s*",
    re.IGNORECASE,
)
_FORMAT_NOTE = re.compile(r"\s*[(（](?:html|pdf|web) version[)）]\s*$", re.IGNORECASE)
_SECOND_CLAUSE = re.compile(r"\s*(?:;|\s\|\s|\s[–—]\s)\s*")


def compact_title(title: str, limit: int = HEADLINE_TITLE_MAX) -> str:
    """The original title as a headline keeps it: without a "FACT SHEET:" or "News Release:"
    label, a "(HTML version)" note or a second clause ("...; Boosting ..."), and cut at a word
    boundary to ``limit`` characters ("…" marks the cut)."""
    text = _FORMAT_NOTE.sub("", _LABEL.sub("", _clean(title)))
    head = _SECOND_CLAUSE.split(text, maxsplit=1)[0]
    if len(head) >= 20:
        text = head
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:–—-") + "…"


def _clean(title: str) -> str:
    """One line, and a title the feed gave twice over given once."""
    text = " ".join(title.split())
    half = re.fullmatch(r"(.{20,}?)\s*\1", text)
    return half[1] if half else text


def _short_name(publisher: Publisher) -> str:
    return publisher.short_zh or publisher.abbr or _plain_name(publisher)


def _plain_name(publisher: Publisher) -> str:
    """The Chinese name without a bracketed note (美国战争部（原国防部） → 美国战争部)."""
    if not publisher.name_zh:
        return publisher.name
    return re.split(r"[（(]", publisher.name_zh, maxsplit=1)[0].strip() or publisher.name_zh


def _sentence(text: str) -> str:
    """``text`` closed with "。" (not after "?" or "!")."""
    text = text.rstrip(" .。")
    return text if text.endswith(("?", "!", "？", "！")) else f"{text}。"


def _colon(chinese: str, original: str) -> str:
    return f"{chinese}：{original}" if original else chinese


def _aside(amount: str, label: str = "") -> str:
    return f"（{label}{amount}）" if amount else ""


def _is_chinese(text: str) -> bool:
    cjk = sum("\u3400" <= c <= "\u9fff" for c in text)
    return cjk > 0 and cjk >= len(text.replace(" ", "")) / 3
