"""Read a bulletin the editors published: its entries, the section each sits under, what each cites.

``parse_published`` is pure (text in, ``PublishedIssue`` out); ``read_published`` reads a file first
(.txt/.md as UTF-8 or GB18030, .docx with its footnotes, .pdf when pdfminer.six is installed).

Errors: ``PublishedError`` (a ``ParseError``, so a ``MonitorError``) for a file that cannot be read,
text in no known layout, or a bulletin in which no citation was found.

Layouts (detected; the editors' real issues and their FORMATS.md are in shared/reference):

- ``cas`` 先进制造与新材料动态监测快报: section headings 专题, 战略规划, 项目资助, 行业观察,
  研究进展; an entry ends with its compiler "（黄 健）" or with "冯瑞华 编译自[2020-09-03]", the
  original title and URL (2020); from 2024 title and URL sit in numbered footnotes ("5 NSF awards
  ... https://..."), matched to the mark glued to the entry's text ("...等5。"), however far away.
- ``zj`` 新材料监测快报: 本期内容提要, 本期目录 by section, then the sections; an entry ends with
  its outlet in parentheses "（新华网）". The contents give the headlines the body wraps.
- ``idei`` 国外产业动态: numbered contents, numbered entries with a footnote mark, footnotes
  "资料来源：新闻 <English title>, <date>."; no sections.

The text is what a PDF extractor gives: a line per printed line, blank lines between, pages starting
with a space, page numbers and running headers, URLs and titles broken across lines, stray copies of
link targets at page ends. The pipeline: clean lines (drop noise, rejoin broken URLs), take the
footnotes out, read the front matter (title, issue, period, contents), cut the body into entries,
then gather each entry's citations.

Section keys: ``labels`` maps a printed label to a key; without it ``DEFAULT_LABELS``. A label
in ``labels`` or ``KNOWN_LABELS`` is recognised as a heading. 观点评述 (zj's commentary) is a
section mapped to no key: its pieces mix policy, industry and science commentary, and filing
them under ``strategy`` would teach the classifier wrong; the label stays in ``section_label``,
so a caller can map it with ``labels``.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from monitor.errors import ParseError
from monitor.months import MONTHS

log = logging.getLogger(__name__)

LAYOUTS = ("cas", "zj", "idei")

CAS_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "专题": "feature",
        "战略规划": "strategy",
        "项目资助": "funding",
        "行业观察": "industry",
        "研究进展": "research",
    }
)
ZJ_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "科技战略": "strategy",
        "智库报告": "strategy",
        "名企快讯": "industry",
        "地方动态": "industry",
        "前沿研究": "research",
    }
)
# Recognised as zj sections, deliberately mapped to no key (see the module docstring).
UNMAPPED_LABELS = frozenset({"观点评述"})
DEFAULT_LABELS: Mapping[str, str] = MappingProxyType({**CAS_LABELS, **ZJ_LABELS})
KNOWN_LABELS: frozenset[str] = frozenset(DEFAULT_LABELS) | UNMAPPED_LABELS


@dataclass(frozen=True)
class Citation:
    """One source an entry cites. ``kind``: "source" (compiled-from block, footnote, 资料来源),
    "outlet" (an outlet named in parentheses or after 来源：), "paper" (the journal article that a
    research entry names: ``outlet`` is the journal)."""

    title: str | None
    url: str | None
    date: dt.date | None
    outlet: str | None
    kind: str = "source"
    footnote: int | None = None  # the footnote number it was read from


@dataclass(frozen=True)
class PublishedEntry:
    headline: str
    section_label: str | None  # as printed, without the spaces: 战略规划, 科技战略 ...
    section: str | None  # feature|strategy|funding|industry|research, or None
    citations: tuple[Citation, ...]
    body: str = ""  # the entry's text, lines rejoined, without headline and attribution
    compiler: str | None = None  # cas: "黄 健", "冯瑞华"
    lead_date: dt.date | None = None  # "9 月 16 日，..." with the year inferred (issue, citation)


@dataclass(frozen=True)
class PublishedIssue:
    layout: str  # "cas" | "zj" | "idei"
    title: str | None
    issue_label: str | None  # "2024年第38期", "2021.02"
    period: tuple[dt.date, dt.date] | None
    entries: tuple[PublishedEntry, ...]
    notes: tuple[str, ...] = ()  # what the parser had to guess (a footnote placed by position ...)


class PublishedError(ParseError):
    """A published bulletin could not be read: unreadable file, unknown format, no citations."""


def parse_published(text: str, labels: Mapping[str, str] | None = None) -> PublishedIssue:
    """The entries, sections and citations of a published bulletin's text."""
    if not text or not text.strip():
        raise PublishedError("the bulletin is empty: no text to read")
    _check_text(text)
    lines = _clean_lines(text)
    known = KNOWN_LABELS | frozenset(labels or ())
    lines, notes = _take_footnotes(lines)
    front = _front_matter(lines, known)
    body = _drop_running_headers(lines[front.body_start :], front.title, known)
    layout = _detect_layout(lines, notes, front, known)
    drafts = _segment(body, layout, front.toc, known, {n.number for n in notes})
    if not drafts:
        raise PublishedError(f"no entries found (the text looks like layout {layout!r})")
    warnings = [f"contents list {t.headline!r}; no entry found" for t in front.toc if not t.used]
    _assign_footnotes(drafts, notes, warnings)
    drafts = _drop_back_matter(drafts)
    latest = max((c.date for d in drafts for c in _cited(d) if c.date), default=None)
    entries = tuple(_entry(d, layout, labels, front, latest) for d in drafts)
    if not any(e.citations for e in entries):
        raise PublishedError(
            f"no citations found in {len(entries)} entries (layout {layout!r}): expected 编译自 "
            "blocks, numbered footnotes with titles or URLs, 资料来源 notes or （outlet） lines"
        )
    log.debug("published issue: layout=%s entries=%d notes=%d", layout, len(entries), len(warnings))
    return PublishedIssue(
        layout=layout,
        title=front.title,
        issue_label=front.issue_label,
        period=front.period,
        entries=entries,
        notes=tuple(warnings),
    )


def read_published(path: Path, labels: Mapping[str, str] | None = None) -> PublishedIssue:
    """Read a published bulletin from .txt/.md, .docx or .pdf and parse it."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PublishedError(f"{path}: cannot read the file: {e.strerror or e}") from e
    if suffix == ".doc":
        raise PublishedError(f"{path}: old Word .doc files are not read; save it as .docx")
    try:
        if suffix == ".docx":
            text = _docx_text(data)
        elif suffix == ".pdf":
            text = _pdf_text(data)
        else:
            text = _decode(data)
        return parse_published(text, labels)
    except PublishedError as e:
        raise PublishedError(f"{path}: {e}") from e


# --- characters and small text helpers -----------------------------------------------------------

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_CLOSERS = "）》」』】”’)\\]"  # inside a character class
_SENTENCE_END = "。！？!?；;"
_URL = re.compile(r"https?://[^\s<>\"'（）【】，。；、“”‘’《》]+", re.IGNORECASE)
_URL_LINE = re.compile(r"^<?https?://\S+?>?$", re.IGNORECASE)
_URL_TAIL = re.compile(r"https?://\S+$", re.IGNORECASE)
_URL_PIECE = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")
_WORD = re.compile(r"^[A-Za-z]+[.,;:!?]?$")
_SPACES = re.compile(r"[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_PUNCT = re.compile(f"[^0-9A-Za-z{_CJK}]+")
_ENUMERATED = re.compile(
    r"^(?:[（(][0-9一二三四五六七八九十]{1,3}[）)]|[一二三四五六七八九十]{1,3}[、.．]"
    r"|\d{1,2}[、.．](?!\d)|[①-⑳]|【)"
)
_CAPTION = re.compile(r"^(?:图|表|Figure|Fig\.|Table)\s*\d+(?:[-.]\d+)?(?:\s|$|[:：])", re.I)


def _has_cjk(text: str) -> bool:
    return bool(_HAS_CJK.search(text))


def _compact(text: str) -> str:
    """``text`` without any whitespace: "战 略 规 划" → "战略规划"."""
    return "".join(text.split())


def _norm(text: str) -> str:
    """For comparing headlines: letters, digits and ideographs only, lower case."""
    return _PUNCT.sub("", text).lower()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _join(parts: Sequence[str]) -> str:
    """Rejoin printed lines: no space between ideographs, one between Latin words; a space before a
    number that starts a line after Chinese text (so "材料" + "12 个" is not read as mark 12)."""
    out = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if out and _needs_space(out[-1], part):
            out += " "
        out += part
    return out


def _needs_space(before: str, after: str) -> bool:
    first = after[0]
    if before == "-" or _has_cjk(first) or first in "，。、；：！？）》」』】”’":
        return False
    if before.isascii() and before.isalnum() and first.isascii():
        return True
    if first.isdigit():
        return not re.match(r"\d{1,3}[。，；、！？]", after)
    return before in ".,;:!?)" and first.isascii() and first.isalnum()


# --- dates ---------------------------------------------------------------------------------------

_MONTHS = MONTHS
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YMD = re.compile(
    r"(?<!\d)(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})(?:\s*[日号])?(?!\d)"
)
_MDY = re.compile(_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b", re.IGNORECASE)
_DMY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(\d{4})\b", re.IGNORECASE)
_URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})([/-])(\d{2})\2(\d{2})(?!\d)")


def _make_date(year: str, month: str, day: str) -> dt.date | None:
    try:
        made = dt.date(int(year), int(month), int(day))
    except ValueError:
        return None
    return made if 1990 <= made.year <= 2100 else None


def _find_date(text: str) -> tuple[dt.date, re.Match[str]] | None:
    """The last date in ``text``: 2024-09-16, 2024年9月16日, September 16, 2024, 16 Sep 2024."""
    found: list[tuple[int, dt.date, re.Match[str]]] = []
    for m in _YMD.finditer(text):
        if (d := _make_date(m[1], m[2], m[3])) is not None:
            found.append((m.start(), d, m))
    for m in _MDY.finditer(text):
        if (d := _make_date(m[3], str(_MONTHS[m[1].lower()]), m[2])) is not None:
            found.append((m.start(), d, m))
    for m in _DMY.finditer(text):
        if (d := _make_date(m[3], str(_MONTHS[m[2].lower()]), m[1])) is not None:
            found.append((m.start(), d, m))
    if not found:
        return None
    _, day, match = max(found, key=lambda f: f[0])
    return day, match


def _date_in_url(url: str) -> dt.date | None:
    """A full date in a URL's path (/2024/09/20/, -2024-09-24_en): the publication date, usually."""
    m = _URL_DATE.search(url)
    return _make_date(m[1], m[3], m[4]) if m else None


# --- lines ---------------------------------------------------------------------------------------


@dataclass
class _Line:
    text: str  # stripped, inner spacing as printed
    pos: int  # index among the cleaned lines (a footnote is placed by it)
    page_start: bool = False  # first line of a page (a leading space or a form feed before it)


_PAGE_NUMBER = re.compile(r"^[-—–\s]*(?:第\s*)?\d{1,3}(?:\s*页)?(?:\s*/\s*\d{1,3})?[-—–\s]*$")
_PLACEHOLDER = re.compile(r"^\[[^\]]{1,12}\]$")
_NOISE = re.compile(r"^[\s\-—–_=·.…*•]+$")


def _check_text(text: str) -> None:
    sample = text[:20000]
    bad = sum(1 for c in sample if (ord(c) < 32 and c not in "\t\n\r\f") or c == "\ufffd")
    if bad > max(8, len(sample) // 100):
        raise PublishedError("the file is not text (binary data or a wrong encoding)")


def _clean_lines(text: str) -> list[_Line]:
    """Non-empty lines without noise; URLs broken across lines rejoined; markdown marks removed."""
    text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    raw: list[tuple[str, bool]] = []
    page_start = False
    for chunk in text.split("\n"):
        for k, piece in enumerate(chunk.split("\f")):
            starts = page_start or k > 0 or piece[:1] == " "
            stripped = _markdown(_SPACES.sub(" ", piece).strip())
            if stripped:
                raw.append((stripped, starts))
                page_start = False
            elif k > 0:
                page_start = True
    kept: list[tuple[str, bool]] = []
    carry = False
    for text, starts in _rejoin_urls(raw):
        if _is_noise(text):
            carry = True  # a page number or a placeholder: what follows starts a page
            continue
        kept.append((text, starts or carry))
        carry = False
    return [_Line(t, i, s) for i, (t, s) in enumerate(kept)]


def _markdown(line: str) -> str:
    """A published bulletin saved as Markdown reads as text: headings, emphasis, footnote marks."""
    line = re.sub(r"^#{1,6}\s+", "", line)
    line = re.sub(r"^>\s*", "", line)
    line = re.sub(r"^[-*+]\s+(?=\S)", "", line)
    line = re.sub(r"^\[\^(\d{1,3})\]:\s*", r"\1 ", line)
    line = re.sub(r"\[\^(\d{1,3})\]", r"\1", line)
    line = re.sub(r"<(https?://[^>\s]+)>", r"\1", line)
    line = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"\1 \2", line)
    return line.replace("**", "").replace("__", "").strip()


def _is_noise(text: str) -> bool:
    return bool(_PAGE_NUMBER.match(text) or _PLACEHOLDER.match(text) or _NOISE.match(text))


def _rejoin_urls(raw: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for text, starts in raw:
        if out and _continues_url(out[-1][0], text):
            out[-1] = (out[-1][0] + text, out[-1][1])
        else:
            out.append((text, starts))
    return out


def _continues_url(before: str, text: str) -> bool:
    """``text`` is the rest of a URL that ``before`` ends with: no spaces, only URL characters."""
    if not _URL_TAIL.search(before) or not _URL_PIECE.match(text):
        return False
    if text.lower().startswith(("http://", "https://")):
        return False
    if text.isdigit() and len(text) <= 3:
        return False  # a page number
    return not (_WORD.match(text) and before[-1] not in "-/_=?&.#")


def _urls(text: str) -> list[str]:
    return [u for u in (_clean_url(m.group()) for m in _URL.finditer(text)) if u]


def _clean_url(url: str) -> str:
    url = url.rstrip(".,;:!?'\"»>")
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1]
    return url if re.match(r"https?://(?:[^/\s.]+\.[^/\s]|[^/\s.:]+:\d)", url, re.I) else ""


def _is_url_line(text: str) -> bool:
    return bool(_URL_LINE.match(text))


# --- footnotes -----------------------------------------------------------------------------------


@dataclass
class _Footnote:
    number: int
    lines: list[str]
    pos: int
    citations: list[Citation] = field(default_factory=list)


_FN_START = re.compile(r"^(\d{1,3})(?![\d.,%:/])(?!\s*[年月日号个项家所])(\s*)(\S.*)$")
_FN_SOURCE = re.compile(r"^(?:资料来源|信息来源|来源|出处|Source)\s*[:：]", re.IGNORECASE)
_FN_EDITOR = re.compile(r"^(?:编者注|编者按|注)\s*[:：]")
_LATIN_START = re.compile(r"^(?:[A-Za-z“\"'‘£$€]|\d+[A-Za-z])")


def _take_footnotes(lines: list[_Line]) -> tuple[list[_Line], list[_Footnote]]:
    """Numbered footnotes (1, 2, 3 ... in order, wherever the page put them) out of the text."""
    body: list[_Line] = []
    notes: list[_Footnote] = []
    i = 0
    while i < len(lines):
        expected = notes[-1].number + 1 if notes else None
        number = _footnote_start(lines, i, expected)
        if number is None:
            body.append(lines[i])
            i += 1
            continue
        end = _footnote_end(lines, i)
        first = _FN_START.match(lines[i].text)
        assert first is not None
        texts = [first[3]] + [line.text for line in lines[i + 1 : end]]
        notes.append(_Footnote(number, texts, lines[i].pos))
        i = end
    for note in notes:
        note.citations = _footnote_citations(note)
    return body, notes


def _footnote_start(lines: list[_Line], i: int, expected: int | None) -> int | None:
    """The number of the footnote starting at line ``i``, or None. Footnotes number on from the
    last (a missed one may be skipped); the first may have any number if a URL or 资料来源 vouches
    for it (an excerpt of an issue)."""
    m = _FN_START.match(lines[i].text)
    if not m or (expected is not None and not expected <= int(m[1]) <= expected + 2):
        return None
    if expected is None and int(m[1]) > 1 and not _vouched(lines, i, m[3]):
        return None
    gap, content = m[2], m[3]
    if _FN_SOURCE.match(content) or _FN_EDITOR.match(content):
        return int(m[1])
    if not gap:
        return None
    if content.lower().startswith(("http://", "https://")):
        return int(m[1])
    if _url_follows(lines, i):
        return int(m[1])
    latin = _LATIN_START.match(content) and not _has_cjk(content) and len(content.split()) >= 2
    ends_like_title = content.rstrip().endswith(".") or _find_date(content) is not None
    return int(m[1]) if latin and ends_like_title else None


def _vouched(lines: list[_Line], i: int, content: str) -> bool:
    return bool(_FN_SOURCE.match(content) or _urls(content) or _url_follows(lines, i))


def _url_follows(lines: list[_Line], i: int) -> bool:
    """A URL line within the next three lines, on the same page and before any other numbered line
    (a table row "6 人工智能 7 4200" is no footnote)."""
    for line in lines[i + 1 : i + 4]:
        if line.page_start or _FN_START.match(line.text):
            return False
        if _is_url_line(line.text):
            return True
    return False


def _footnote_end(lines: list[_Line], i: int) -> int:
    """Index after the footnote starting at ``i``: its title lines, then its URLs. A footnote ends
    at the page's end, at the next footnote, or where its kind of text stops."""
    first = _FN_START.match(lines[i].text)
    assert first is not None
    content = first[3]
    kind = _note_kind(content)
    seen_url = bool(_urls(content))
    texts = [content]
    j = i + 1
    while j < len(lines) and not lines[j].page_start and not _is_next_note(lines, j):
        text = lines[j].text
        if _is_url_line(text):
            seen_url = True
        elif not _note_goes_on(kind, text, texts, seen_url, lines, j):
            break
        texts.append(text)
        j += 1
    return j


def _note_kind(content: str) -> str:
    if _FN_SOURCE.match(content):
        return "source"
    if _FN_EDITOR.match(content):
        return "editor"
    return "cjk" if _has_cjk(_URL.sub("", content)) else "latin"


def _is_next_note(lines: list[_Line], j: int) -> bool:
    m = _FN_START.match(lines[j].text)
    return m is not None and _footnote_start(lines, j, int(m[1])) is not None


def _note_goes_on(
    kind: str, text: str, texts: list[str], seen_url: bool, lines: list[_Line], j: int
) -> bool:
    cjk = _has_cjk(_URL.sub("", text))
    if kind == "latin":
        return not cjk and (not seen_url or _url_within(lines, j, 1))
    if kind == "source":
        return not cjk or bool(_FN_SOURCE.match(text))
    if seen_url or texts[-1].rstrip()[-1:] in "。.":
        return False
    return _url_within(lines, j - 1, 3) or (len(texts) < 3 and len(text) < 60)


def _footnote_citations(note: _Footnote) -> list[Citation]:
    text = _join(note.lines)
    if _FN_EDITOR.match(note.lines[0]) and not _urls(text):
        return []
    if _FN_SOURCE.match(note.lines[0]):
        parts = _FN_SOURCES.split(text)
        cited = [_source_citation(p, note.number) for p in parts if p.strip(" ;；。.")]
        return [c for c in cited if c.title or c.url or c.outlet]
    return _titled_urls(note.lines, note.number)


_FN_SOURCES = re.compile(r"(?:资料来源|信息来源|来源|出处|Source)\s*[:：]", re.IGNORECASE)


_LINK_LABEL = re.compile(r"^(?:原文链接|原文|链接|网址|网页|URL|Link|Source)\s*[:：]?$", re.I)


def _titled_urls(lines: Sequence[str], number: int | None) -> list[Citation]:
    """Title lines each followed by their URL lines: "Title ... / https://..."."""
    out: list[Citation] = []
    pending: list[str] = []
    for text in lines:
        urls = _urls(text)
        rest = _URL.sub("", text).strip()
        if rest and not _LINK_LABEL.match(rest):
            pending.append(rest)
        for url in urls:
            title, day = _title_and_date(_join(pending))
            out.append(_citation(title, url, day, None, "source", number))
            pending = []
    if pending and not out:
        title, day = _title_and_date(_join(pending))
        if title:
            out.append(_citation(title, None, day, None, "source", number))
    return out


def _source_citation(text: str, number: int | None) -> Citation:
    """ "[outlet] 新闻 <title>, <date>. <url>" as idei and the service's drafts write it."""
    urls = _urls(text)
    text = _URL.sub(" ", text).strip(" ;；")
    outlet: str | None = None
    news = re.match(r"^(.*?)\s*新闻\s+(?=\S)(.*)$", text)
    if news:
        outlet, text = news[1].strip() or None, news[2]
    else:
        lead = _OUTLET_FIRST.match(text)
        if lead:
            outlet, text = lead[1], lead[2]
    title, day = _title_and_date(text)
    if title and not _has_latin_words(title) and outlet is None and not urls:
        outlet, title = title, None  # "来源：新华网", "来源：上海有色网（Shanghai Metals Market）"
    kind = "source" if title or urls else "outlet"
    return _citation(title, urls[0] if urls else None, day, outlet, kind, number)


_OUTLET_FIRST = re.compile(
    rf"^([{_CJK}（）()A-Za-z0-9·]*[{_CJK}][{_CJK}（）()]*)\s+(?=[A-Za-z“\"‘])(.*)$"
)


def _has_latin_words(text: str) -> bool:
    return bool(re.search(r"[A-Za-z]{2,}", re.sub(r"[（(][^）)]*[）)]", "", text)))


def _title_and_date(text: str) -> tuple[str | None, dt.date | None]:
    """Split "<title>, <date>." into the title and the date; clean the title."""
    text = _one_line(text)
    found = _find_date(text)
    day = None
    if found and len(text) - found[1].end() <= 3:
        day = found[0]
        text = text[: found[1].start()]
    return _clean_title(text), day


_ABBREVIATIONS = ("inc.", "ltd.", "co.", "corp.", "u.s.", "u.k.", "e.u.", "st.", "no.", "etc.")


def _clean_title(text: str) -> str | None:
    text = _one_line(text).strip(" ,，;；:：-—–")
    if text.endswith(".") and not text.lower().endswith(_ABBREVIATIONS):
        text = text[:-1].rstrip()
    return text or None


def _citation(
    title: str | None,
    url: str | None,
    day: dt.date | None,
    outlet: str | None,
    kind: str,
    number: int | None,
) -> Citation:
    if day is None and url:
        day = _date_in_url(url)
    return Citation(title=title, url=url, date=day, outlet=outlet, kind=kind, footnote=number)


# --- front matter --------------------------------------------------------------------------------


@dataclass
class _Toc:
    label: str | None
    headline: str
    number: int | None = None
    used: bool = False

    @property
    def key(self) -> str:
        return _norm(self.headline)


@dataclass
class _Front:
    body_start: int = 0
    toc: list[_Toc] = field(default_factory=list)
    title: str | None = None
    issue_label: str | None = None
    period: tuple[dt.date, dt.date] | None = None
    highlights: bool = False


_TOC_DOTS = r"(?:[.．·•・‧∙⋯…_]\s?){3,}|…+"
_TOC_LINE = re.compile(rf"^(?P<text>.*?\S)\s*(?:{_TOC_DOTS}|\s{{3,}})\s*(?P<page>\d{{1,3}})$")
_TOC_LEADER = re.compile(rf"^(?P<text>.*?\S)\s*(?:{_TOC_DOTS})\s*(?P<page>\d{{1,3}})$")
_TOC_HEAD = re.compile(r"^(?:本期)?(?:目录|目次)$")
_HIGHLIGHTS = re.compile(r"^(?:本期)?(?:内容提要|重点|要点|导读|要目|提要)$")
_NUMBERED = re.compile(r"^(\d{1,2})\s*[.．、]\s*(?=\S)(.*)$")
_TITLE = re.compile(
    rf"^[{_CJK}A-Za-z0-9与和及]{{2,30}}(?:快报|简报|周报|月报|动态|通讯|要报|参考|专报)$"
)
_ISSUE = re.compile(r"(\d{4})\s*年\s*第\s*(\d{1,3})\s*期")
_ISSUE_BARE = re.compile(r"第\s*(\d{1,3})\s*期")
_ISSUE_DOTTED = re.compile(r"^(\d{4})\s*[.．]\s*(\d{1,2})$")
_RANGE = re.compile(
    r"(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})\s*日?\s*[-—–~至到]+\s*"
    r"(?:(\d{4})\s*[年.\-/]\s*)?(?:(\d{1,2})\s*[月.\-/]\s*)?(\d{1,2})\s*日?"
)
_DATED = re.compile(r"(?:出版|发布|编印|印发)?(?:日期|时间)\s*[:：]")


def _front_matter(lines: list[_Line], known: frozenset[str]) -> _Front:
    front = _Front()
    start, front.toc = _contents(lines, known)
    if start is None:
        start = _first_heading_after_front(lines, known)
    front.body_start = start
    head = [line.text for line in lines[: start or 5]]
    front.highlights = any(_HIGHLIGHTS.match(_compact(t)) for t in head)
    front.title = _title(head, known)
    front.issue_label = _issue_label(head, lines, front.title)
    front.period = _period(head)
    return front


def _contents(lines: list[_Line], known: frozenset[str]) -> tuple[int | None, list[_Toc]]:
    """The table of contents: after a 目录 line, or the first run of dot-leader lines; and the index
    of the line after it."""
    heads = (i for i, line in enumerate(lines[:300]) if _TOC_HEAD.match(_compact(line.text)))
    begin = next(heads, None)
    if begin is None:
        leaders = [i for i, line in enumerate(lines[:400]) if _TOC_LEADER.match(line.text)]
        if len(leaders) < 2:
            return None, []
        begin = leaders[0] - 1
    toc: list[_Toc] = []
    label: str | None = None
    last = i = begin + 1
    while i < len(lines) and i - last <= 3:
        text = lines[i].text
        if heading := _heading(text, known):
            label, i = heading, i + 1
            continue
        width = 1
        m = _toc_line(text)
        if m is None and (m := _wrapped_toc(lines, i)):
            width = 2
        if m:
            toc.append(_toc_item(m, label))
            last = i + width
        i += width
    return (last if toc else None), toc


def _toc_line(text: str) -> re.Match[str] | None:
    m = _TOC_LINE.match(text)
    return m if m and _has_cjk(m["text"]) else None


def _wrapped_toc(lines: list[_Line], i: int) -> re.Match[str] | None:
    if i + 1 >= len(lines) or _toc_line(lines[i].text):
        return None
    return _toc_line(_join([lines[i].text, lines[i + 1].text]))


def _toc_item(m: re.Match[str], label: str | None) -> _Toc:
    text = _one_line(m["text"])
    numbered = _NUMBERED.match(text)
    if numbered:
        return _Toc(label, numbered[2].strip(), int(numbered[1]))
    return _Toc(label, text)


def _first_heading_after_front(lines: list[_Line], known: frozenset[str]) -> int:
    """Without contents the body starts at the first section heading, if only a cover precedes."""
    for i, line in enumerate(lines[:80]):
        if _heading(line.text, known):
            before = lines[:i]
            if all(not _end_marker(b.text) and not _compiled(b.text) for b in before):
                return i
            return 0
    return 0


def _title(head: list[str], known: frozenset[str]) -> str | None:
    for text in head:
        candidate = _ISSUE.sub("", _compact(text))
        candidate = re.sub(r"\d{4}[.．]\d{1,2}$", "", candidate)
        if _TITLE.match(candidate) and candidate not in known:
            return candidate
    return None


def _issue_label(head: list[str], lines: list[_Line], title: str | None) -> str | None:
    headers = [line.text for line in lines if title and title in _compact(line.text)]
    for text in head + headers:
        if m := _ISSUE.search(text):
            return f"{m[1]}年第{int(m[2])}期"
    for text in head + headers:
        if m := _ISSUE_DOTTED.match(_compact(text)):
            return f"{m[1]}.{int(m[2]):02d}"
        if m := _ISSUE_BARE.search(text):
            return f"第{int(m[1])}期"
    return None


def _period(head: list[str]) -> tuple[dt.date, dt.date] | None:
    for text in head:
        if m := _RANGE.search(text):
            first = _make_date(m[1], m[2], m[3])
            last = _make_date(m[4] or m[1], m[5] or m[2], m[6])
            if first and last and first <= last:
                return first, last
    for text in head:
        if _DATED.search(text) or re.fullmatch(r"[\d\s年月日.\-/]+", text):
            found = _find_date(text)
            if found:
                return found[0], found[0]
    return None


def _drop_running_headers(
    lines: list[_Line], title: str | None, known: frozenset[str]
) -> list[_Line]:
    """Without the running headers and footers: the bulletin's title (with its issue, a page
    number), and short lines repeated on three pages or more."""
    counts = Counter(_compact(line.text) for line in lines)
    out: list[_Line] = []
    for line in lines:
        compact = _compact(line.text)
        if title and title in compact and _header_rest(compact.replace(title, "", 1)):
            continue
        if counts[compact] >= 3 and _repeatable_noise(line.text, compact, known):
            continue
        out.append(line)
    return out


def _header_rest(rest: str) -> bool:
    rest = _ISSUE.sub("", rest)
    return bool(re.fullmatch(r"[\d第年月日期总（）()\-—–.·/|]*", rest))


def _repeatable_noise(text: str, compact: str, known: frozenset[str]) -> bool:
    if len(compact) > 40 or _heading(text, known) or _end_marker(text) or _is_url_line(text):
        return False
    return not any(c in compact for c in "。，；")


# --- layout --------------------------------------------------------------------------------------


def _detect_layout(
    lines: list[_Line], notes: list[_Footnote], front: _Front, known: frozenset[str]
) -> str:
    score = Counter({"cas": 0, "zj": 0, "idei": 0})
    title = front.title or ""
    if "监测快报" in title:
        score["zj" if title.startswith("新材料") else "cas"] += 5
    if "产业动态" in title:
        score["idei"] += 5
    for line in lines:
        heading = _heading(line.text, known)
        if heading in CAS_LABELS:
            score["cas"] += 2
        elif heading in ZJ_LABELS or heading in UNMAPPED_LABELS:
            score["zj"] += 2
        if _compiled(line.text):
            score["cas"] += 2
    if front.highlights:
        score["zj"] += 3
    score["idei"] += sum(1 for t in front.toc if t.number is not None)
    for note in notes:
        if _FN_SOURCE.match(note.lines[0]):
            score["idei"] += 2
        elif any(c.url for c in note.citations):
            score["cas"] += 1
    best, points = score.most_common(1)[0]
    if points:
        return best
    if any(_end_marker(line.text) for line in lines):
        return "zj"
    raise PublishedError(
        "unknown format: none of the layouts cas, zj, idei was recognised (no section headings, "
        "编译自 blocks, footnotes or numbered contents)"
    )


# --- entries -------------------------------------------------------------------------------------


@dataclass
class _Draft:
    headline: str
    label: str | None
    start: int  # position of the headline among the cleaned lines
    body: list[str] = field(default_factory=list)
    sources: list[Citation] = field(default_factory=list)
    outlets: list[Citation] = field(default_factory=list)
    extras: list[Citation] = field(default_factory=list)
    notes: list[_Footnote] = field(default_factory=list)
    compiler: str | None = None
    ended: bool = False
    marks: list[int] = field(default_factory=list)


_COMPILED = re.compile(
    rf"^(?P<who>[{_CJK}\s·、，,]{{0,30}}?)\s*(?:编译自|摘编自|摘译自|译自|编译)\s*[:：]?\s*"
    r"(?:[\[［【]\s*(?P<date>[^\]］】]{0,24})[\]］】])+(?P<rest>.*)$"
)


def _compiled(text: str) -> re.Match[str] | None:
    """ "冯瑞华 编译自[2020-09-03]": names, then a bracketed date that must be a real date."""
    m = _COMPILED.match(text)
    return m if m and _find_date(m["date"] or "") else None


_MARKER_LINE = re.compile(r"^[（(](?P<inner>[^（）()]{1,40})[)）]$")
_MARKER_LABEL = re.compile(r"^(?:资料来源|信息来源|来源|编译|编辑|撰稿)\s*[:：]")
_MARKER_GLUED = re.compile(r"^(?P<before>.*\S)\s{3,}[（(](?P<inner>[^（）()]{1,40})[)）]$")
_SOURCE_LINE = re.compile(r"^(?:资料来源|信息来源|来源|原文链接|原文)\s*[:：]\s*(?P<rest>\S.*)$")
_LEAD_DATE = re.compile(r"^\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?\s*[，,]")


def _heading(text: str, known: frozenset[str]) -> str | None:
    compact = _compact(text)
    if len(compact) > 12:
        return None
    compact = re.sub(r"^(?:[一二三四五六七八九十]+[、.．]|\d{1,2}[、.．]|[【\[《])", "", compact)
    compact = re.sub(r"[】\]》]$", "", compact)
    return compact if compact in known else None


def _end_marker(text: str) -> tuple[str, str] | None:
    """ "（黄 健）" (cas compiler) or "（新华网）" (zj outlet), alone or after a wide gap: (before,
    inner)."""
    m = _MARKER_LINE.match(text) or _MARKER_GLUED.match(text)
    if not m:
        return None
    inner = m["inner"].strip()
    if not inner or re.fullmatch(r"[\dA-Za-z一二三四五六七八九十①-⑳\s.、]{1,3}", inner):
        return None
    if any(c in inner for c in "。；") or len(_compact(inner)) > 30:
        return None
    if re.search("[:：]", inner) and not _MARKER_LABEL.match(inner):
        return None
    before = m.groupdict().get("before") or ""
    return before, inner


def _segment(
    lines: list[_Line], layout: str, toc: list[_Toc], known: frozenset[str], numbers: set[int]
) -> list[_Draft]:
    return _Segmenter(lines, layout, toc, known, numbers).run()


class _Segmenter:
    """Cuts the body into drafts: a headline follows a section heading or the previous entry's end
    (its compiler, its outlet, its 编译自 block); in idei, each numbered headline starts one."""

    def __init__(
        self,
        lines: list[_Line],
        layout: str,
        toc: list[_Toc],
        known: frozenset[str],
        numbers: set[int],
    ) -> None:
        self.lines, self.layout, self.toc = lines, layout, toc
        self.known, self.numbers = known, numbers
        self.drafts: list[_Draft] = []
        self.label: str | None = None
        self.expecting = layout != "idei"  # a headline comes next
        self.seen: set[str] = set()  # URLs already cited: a second copy is the PDF's link dump

    def run(self) -> list[_Draft]:
        i = 0
        while i < len(self.lines):
            i = self._step(i)
        return self.drafts

    def _step(self, i: int) -> int:
        line = self.lines[i]
        if heading := _heading(line.text, self.known):
            self.label = heading
            return self._expect_headline(i + 1)
        cur = self.drafts[-1] if self.drafts else None
        if cur is not None and (after := self._apparatus(cur, i)) is not None:
            return after
        if self._starts_entry(i):
            headline, marks, after = _take_headline(
                self.lines, i, self.layout, self.toc, self.numbers
            )
            self.drafts.append(_Draft(headline, self.label, line.pos, marks=marks))
            self.expecting = False
            return after
        if cur is not None and not (self.expecting and _CAPTION.match(line.text)):
            cur.body.append(line.text)
        return i + 1

    def _expect_headline(self, after: int) -> int:
        """A headline comes next (after a section heading or an entry's end); returns ``after``."""
        self.expecting = self.layout != "idei"
        return after

    def _starts_entry(self, i: int) -> bool:
        text = self.lines[i].text
        if self.layout == "idei":
            return _idei_headline(text, self.toc, self.numbers, len(self.drafts) + 1)
        if self.expecting:
            return _has_cjk(text) and not _CAPTION.match(text) and not _is_url_line(text)
        return _toc_anchor(self.lines, i, self.toc) or _lead_anchor(self.lines, i)

    def _apparatus(self, cur: _Draft, i: int) -> int | None:
        """A line about the entry rather than of it (a URL, a 编译自 block, the compiler or outlet,
        a 来源 line): record it and return the index after it; None for any other line."""
        line = self.lines[i]
        if _is_url_line(line.text):
            _stray_url(cur, line.text, self.seen)
            return i + 1
        if _compiled(line.text):
            return self._expect_headline(_attribution(self.lines, i, cur, self.seen, self.known))
        if marker := _end_marker(line.text):
            _close(cur, marker, self.layout)
            return self._expect_headline(i + 1)
        if src := _SOURCE_LINE.match(line.text):
            cur.extras.append(_source_citation(src["rest"], None))
            self.seen.update(_urls(src["rest"]))
            return i + 1
        return None


def _idei_headline(text: str, toc: list[_Toc], numbers: set[int], expected: int) -> bool:
    """A numbered headline: its number follows the last entry's, and it is in the contents or
    carries a footnote mark."""
    m = _NUMBERED.match(text)
    if not m or int(m[1]) != expected:
        return False
    headline, marks = _strip_mark(m[2], numbers)
    numbered = [t for t in toc if t.number is not None]
    if numbered:
        return any(t.key == _norm(headline) for t in numbered if t.number == expected)
    return bool(marks) or (len(_compact(headline)) <= 40 and headline[-1] not in _SENTENCE_END)


def _toc_anchor(lines: list[_Line], i: int, toc: list[_Toc]) -> bool:
    """An entry that lost its end marker still starts at a headline listed in the contents."""
    unused = [t for t in toc if not t.used][:3]
    for k in (1, 2):
        key = _norm(_join([line.text for line in lines[i : i + k]]))
        if len(key) >= 6 and any(t.key == key for t in unused):
            return True
    return False


def _lead_anchor(lines: list[_Line], i: int) -> bool:
    """A short line, after a finished paragraph, followed by a dated lead ("9 月 16 日，..."): a
    headline whose entry above lost its end marker."""
    text = lines[i].text
    if i < 3 or i + 1 >= len(lines) or not _has_cjk(text) or len(_compact(text)) > 40:
        return False
    if text[-1] in _SENTENCE_END + "，,：:、" or _ENUMERATED.match(text) or _CAPTION.match(text):
        return False
    return lines[i - 1].text[-1:] in "。！？”）" and bool(_LEAD_DATE.match(lines[i + 1].text))


def _take_headline(
    lines: list[_Line], i: int, layout: str, toc: list[_Toc], numbers: set[int]
) -> tuple[str, list[int], int]:
    """The headline starting at line ``i`` (one to three printed lines) and the index after it."""
    count, item = _match_toc(lines, i, toc, numbers)
    if item is None:
        count = _headline_lines(lines, i)
    text = _join([line.text for line in lines[i : i + count]])
    number = _NUMBERED.match(text) if layout == "idei" else None
    if number:
        text = number[2]
    text, marks = _strip_mark(text, numbers)
    if item is not None:
        item.used = True
        if len(item.key) >= len(_norm(text)):
            text = item.headline  # one printed line, and maybe fuller (工信部：物以...)
    return _one_line(text), marks, i + count


def _match_toc(
    lines: list[_Line], i: int, toc: list[_Toc], numbers: set[int]
) -> tuple[int, _Toc | None]:
    unused = [t for t in toc if not t.used]
    for exact in (True, False):
        for k in (1, 2, 3):
            parts = [line.text for line in lines[i : i + k]]
            if len(parts) < k or any(_end_marker(p) or _is_url_line(p) for p in parts):
                break
            text = re.sub(r"^\d{1,2}\s*[.．、]\s*", "", _join(parts))
            key = _norm(_strip_mark(text, numbers)[0])
            for item in unused:
                if key == item.key or (
                    not exact and len(key) >= max(4, len(item.key) // 2) and item.key.endswith(key)
                ):
                    return k, item
    return 1, None


def _headline_lines(lines: list[_Line], i: int) -> int:
    """How many printed lines the headline takes, without contents to tell: a line padded with
    spaces, or followed by a short unfinished one, goes on."""
    count = 1
    while count < 3 and i + count < len(lines):
        nxt = lines[i + count].text
        if not _headline_continues(lines[i + count - 1].text, nxt):
            break
        count += 1
    return count


def _headline_continues(text: str, nxt: str) -> bool:
    if text[-1] in _SENTENCE_END or _end_marker(nxt) or _is_url_line(nxt):
        return False
    if _ENUMERATED.match(nxt) or _CAPTION.match(nxt) or _compiled(nxt):
        return False
    return len(_compact(nxt)) <= 16 and nxt[-1] not in _SENTENCE_END + "，,：:"


def _strip_mark(text: str, numbers: set[int]) -> tuple[str, list[int]]:
    """A footnote mark glued to the end of a headline: "美国先进制造业国家战略1" → mark 1."""
    m = re.search(rf"(?<=[{_CJK}{_CLOSERS}])(\d{{1,3}})$", text.strip())
    if m and int(m[1]) in numbers:
        return text.strip()[: m.start()].rstrip(), [int(m[1])]
    return text, []


def _close(cur: _Draft, marker: tuple[str, str], layout: str) -> None:
    """The entry's end marker: the zj outlet, or the cas compiler (a 推荐 line names neither)."""
    before, inner = marker
    if before:
        cur.body.append(before)
    cur.ended = True
    source = re.match(r"^(?:资料来源|来源|信息来源)\s*[:：]\s*(.+)$", inner)
    inner = re.sub(r"^(?:编译|编辑|撰稿)\s*[:：]\s*", "", inner)
    if layout == "zj" or source:
        outlet = source[1] if source else inner
        cur.outlets.append(Citation(None, None, None, outlet.strip(), "outlet"))
    elif not re.search(r"推荐$", inner):
        cur.compiler = cur.compiler or _one_line(inner)


def _attribution(
    lines: list[_Line], i: int, cur: _Draft, seen: set[str], known: frozenset[str]
) -> int:
    """ "冯瑞华 编译自[2020-09-03]", the original title (one or more lines), its URLs; the index
    after them."""
    m = _compiled(lines[i].text)
    assert m is not None
    day = _find_date(m["date"] or "")
    who = _one_line(m["who"])
    if who and not re.search(r"推荐$", who):
        cur.compiler = who
    block = [m["rest"].strip()] if m["rest"].strip() else []
    j = i + 1
    while j < len(lines) and _in_attribution(lines, j, block, known):
        block.append(lines[j].text)
        j += 1
    found = _titled_urls(block, None)
    for c in found:
        if c.url and c.url in {s.url for s in cur.sources}:
            continue
        cur.sources.append(_dated(c, day[0] if day else None))
    seen.update(c.url for c in found if c.url)
    cur.ended = True
    return j


def _in_attribution(lines: list[_Line], j: int, block: list[str], known: frozenset[str]) -> bool:
    """Whether line ``j`` still belongs to a 编译自 block: its URLs, and the title lines before
    them (a Chinese title only just before its URL; a Latin one also as a next source's title)."""
    text = lines[j].text
    if _heading(text, known) or _end_marker(text) or _compiled(text):
        return False
    if _is_url_line(text) or (_urls(text) and len(_URL.sub("", text).strip()) <= 12):
        return True  # a URL, maybe behind a label: "原文链接 https://..."
    has_url = any(_urls(b) for b in block)
    if _has_cjk(text):
        return not has_url and len(block) < 2 and _url_within(lines, j, 2)
    return not has_url or _url_within(lines, j, 2)


def _url_within(lines: list[_Line], j: int, span: int) -> bool:
    return any(_is_url_line(line.text) for line in lines[j + 1 : j + 1 + span])


def _dated(c: Citation, day: dt.date | None) -> Citation:
    if day is None:
        return c
    return Citation(c.title, c.url, day, c.outlet, c.kind, c.footnote)


def _stray_url(cur: _Draft, text: str, seen: set[str]) -> None:
    """A URL alone on a line outside any attribution: the PDF's copy of a link target at the page
    end (dropped when already cited), else a citation of the entry it sits in."""
    for url in _urls(text):
        if url in seen:
            continue
        seen.add(url)
        cur.extras.append(_citation(None, url, None, None, "source", None))


_CONTACT = re.compile(r"(?:地\s*址|联\s*系\s*人|电\s*话|传\s*真|邮\s*编|E-?mail)\s*[:：]", re.I)


def _drop_back_matter(drafts: list[_Draft]) -> list[_Draft]:
    """The publisher's page at the end (address, contacts) is no entry: an uncited last block that
    names an address or a telephone number, or that never ended where the entry before it did."""
    if len(drafts) > 1 and not _cites(drafts[-1]):
        last = drafts[-1]
        contact = _CONTACT.search(last.headline + "\n".join(last.body))
        if contact or (not last.ended and drafts[-2].ended):
            drafts = drafts[:-1]
    return [d for d in drafts if _cites(d) or not _CONTACT.search(d.headline + "\n".join(d.body))]


def _cites(d: _Draft) -> bool:
    cited = d.sources or d.outlets or d.extras or any(n.citations for n in d.notes)
    return bool(cited) or bool(_PAPER.search(_join(d.body)))


# --- citations of an entry -----------------------------------------------------------------------


def _assign_footnotes(drafts: list[_Draft], notes: list[_Footnote], warnings: list[str]) -> None:
    """Each footnote goes to the entry whose text carries its mark (searched in order, so marks
    progress through the issue); failing that, to the entry printed where the footnote is."""
    texts = [_entry_text(d) for d in drafts]
    at, offset = 0, 0
    for note in sorted(notes, key=lambda n: n.number):
        owner = next((k for k, d in enumerate(drafts) if note.number in d.marks), None)
        if owner is None:
            found = _find_mark(texts, note.number, at, offset)
            if found:
                owner, offset = found
                at = owner
        if owner is None:
            owner = _by_position(drafts, note.pos)
            if note.citations:
                warnings.append(f"footnote {note.number}: no mark found, placed by its position")
        drafts[owner].notes.append(note)


def _entry_text(d: _Draft) -> str:
    return d.headline + "\n" + _join(d.body)


_UNITS = "年月日号时分秒个亿万千百元吨米度倍次期届名家项位台辆种人岁周天层类条款篇件座套批份余多"


def _find_mark(texts: list[str], number: int, at: int, offset: int) -> tuple[int, int] | None:
    """Where footnote ``number``'s mark is: glued after an ideograph or a closing bracket
    ("报告1。", "第一期6一样"), or after a comma or full stop when Chinese text follows; not a
    number that goes on (5.6, 50%, 2 月, F16CuPc)."""
    after = rf"(?![\d.,%‰０-９A-Za-z])(?!\s*[{_UNITS}])"
    pattern = re.compile(
        rf"(?<=[{_CJK}{_CLOSERS}]){number}{after}|(?<=[。，；：]){number}(?=[{_CJK}。，；：]|$)"
    )
    for k in range(at, len(texts)):
        m = pattern.search(texts[k], offset if k == at else 0)
        if m:
            return k, m.end()
    return None


def _by_position(drafts: list[_Draft], pos: int) -> int:
    before = [k for k, d in enumerate(drafts) if d.start <= pos]
    return before[-1] if before else 0


_PAPER = re.compile(
    r"(?:发表在|发表于|刊登在|刊发在|刊载于|发表)\s*(?P<journal>[^，。；（(]{1,60}?)\s*[（(]\s*"
    r"(?:文章|论文)?(?:标题|题目|题为)\s*[:：]\s*(?P<title>.+?)[）)](?=[。；，\s]|$)"
)


def _papers(body: str) -> list[Citation]:
    out = []
    for m in _PAPER.finditer(body):
        journal = _one_line(m["journal"]).strip("《》 ")
        out.append(Citation(_clean_title(m["title"]), None, None, journal or None, "paper"))
    return out


def _cited(d: _Draft) -> list[Citation]:
    """Sources first (compiled-from blocks, footnotes), the outlet, then what the text names."""
    cited = list(d.sources)
    for note in sorted(d.notes, key=lambda n: n.number):
        cited.extend(note.citations)
    return cited + d.outlets + d.extras + _papers(_join(d.body))


def _entry(
    d: _Draft,
    layout: str,
    labels: Mapping[str, str] | None,
    front: _Front,
    latest: dt.date | None,
) -> PublishedEntry:
    body = _join(d.body)
    cited = _cited(d)
    label = d.label if layout != "idei" else None
    mapping = labels if labels is not None else DEFAULT_LABELS
    return PublishedEntry(
        headline=d.headline,
        section_label=label,
        section=mapping.get(label) if label else None,
        citations=_dedupe(cited),
        body=body,
        compiler=d.compiler,
        lead_date=_lead_date(body, _reference_day(cited, front, latest)),
    )


def _dedupe(citations: list[Citation]) -> tuple[Citation, ...]:
    out: list[Citation] = []
    for c in citations:
        same = next((k for k, o in enumerate(out) if c.url and o.url == c.url), None)
        if same is None:
            out.append(c)
        elif out[same].title is None and c.title:
            out[same] = c
    return tuple(out)


_LEAD = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*日")


def _reference_day(cited: list[Citation], front: _Front, latest: dt.date | None) -> dt.date | None:
    """A day the entry's news is not much later than: its source's date, the issue's period, the
    latest source the issue cites, the end of the issue's year."""
    own = next((c.date for c in cited if c.date), None)
    if own or front.period:
        return own or (front.period[1] if front.period else None)
    if latest:
        return latest
    year = re.match(r"\d{4}", front.issue_label or "")
    return dt.date(int(year.group()), 12, 31) if year else None


def _lead_date(body: str, ref: dt.date | None) -> dt.date | None:
    """The date the lead starts with ("9 月 16 日，"), in the year that puts it at most a month
    after ``ref``; None without a year to give it."""
    m = _LEAD.search(body[:40])
    if not m:
        return None
    if m[1]:
        return _make_date(m[1], m[2], m[3])
    if ref is None:
        return None
    for year in (ref.year, ref.year - 1):
        made = _make_date(str(year), m[2], m[3])
        if made and made <= ref + dt.timedelta(days=31):
            return made
    return None


# --- reading files -------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if not data.strip():
        raise PublishedError("the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise PublishedError("the file is not text (binary data)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PublishedError("the file is neither UTF-8 nor GB18030 text")


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _docx_text(data: bytes) -> str:
    """Paragraphs (and table cells) in order, footnote marks as the numbers Word shows, hyperlink
    targets the text does not show; then the footnotes, one "N text" block each."""
    try:
        from docx import Document

        doc = Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises its own and zipfile's errors on a bad file
        raise PublishedError(f"not a Word .docx document ({type(e).__name__}: {e})") from e
    numbers: dict[str, int] = {}
    links = {rid: rel.target_ref for rid, rel in doc.part.rels.items() if rel.is_external}
    lines = []
    for p in doc.element.body.iter(f"{_W}p"):
        out: list[str] = []
        _docx_runs(p, numbers, links, out)
        lines.append("".join(out))
    return "\n".join(lines + _docx_footnotes(doc, numbers))


_SKIPPED = frozenset({f"{_W}pPr", f"{_W}rPr", f"{_W}del", f"{_W}instrText", f"{_W}footnoteRef"})


def _docx_runs(el: Any, numbers: dict[str, int], links: Mapping[str, str], out: list[str]) -> None:
    for child in el:
        tag = child.tag
        if tag in _SKIPPED:
            continue
        if tag == f"{_W}t":
            out.append(child.text or "")
        elif tag in (f"{_W}tab", f"{_W}br", f"{_W}cr"):
            out.append(" ")
        elif tag == f"{_W}footnoteReference":
            out.append(str(numbers.setdefault(child.get(f"{_W}id") or "", len(numbers) + 1)))
        elif tag == f"{_W}hyperlink":
            first = len(out)
            _docx_runs(child, numbers, links, out)
            target = links.get(child.get(f"{_R}id") or "", "")
            if target.lower().startswith(("http://", "https://")) and target not in "".join(
                out[first:]
            ):
                out.append(f" {target} ")
        else:
            _docx_runs(child, numbers, links, out)


def _docx_footnotes(doc: Any, numbers: dict[str, int]) -> list[str]:
    rel = next((r for r in doc.part.rels.values() if r.reltype.endswith("/footnotes")), None)
    if rel is None or not numbers:
        return []
    from lxml import etree

    part = rel.target_part
    root = part.element if hasattr(part, "element") else etree.fromstring(part.blob)
    found: list[tuple[int, str]] = []
    for note in root.iter(f"{_W}footnote"):
        number = numbers.get(note.get(f"{_W}id") or "")
        texts = []
        for p in note.iter(f"{_W}p"):
            out: list[str] = []
            _docx_runs(p, {}, {}, out)
            texts.append("".join(out).strip())
        text = "\n".join(t for t in texts if t)
        if number is not None and text:
            found.append((number, f"{number} {text}"))
    return [text for _, text in sorted(found)]


def _pdf_text(data: bytes) -> str:
    try:
        from pdfminer.high_level import extract_text
    except ImportError as e:
        raise PublishedError(
            "reading PDF needs pdfminer.six, which is not installed; install it, or extract the "
            "text first (pdftotext file.pdf file.txt) and read the .txt"
        ) from e
    try:
        return str(extract_text(io.BytesIO(data)))
    except Exception as e:  # pdfminer raises many unrelated types on a broken file
        raise PublishedError(f"not a readable PDF ({type(e).__name__}: {e})") from e
