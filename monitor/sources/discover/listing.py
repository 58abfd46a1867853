"""CSS selectors proposed for a listing without a feed: the blocks that repeat on the page and
each hold a link and a date. Pure."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

from bs4 import BeautifulSoup, Tag

from monitor.dates import parse_date
from monitor.sources.html import Selectors
from monitor.text import clean

MIN_BLOCKS = 3  # repeated blocks needed to propose a listing
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_VOLATILE_CLASS = re.compile(
    r"\d|(?:^|[-_])(?:odd|even|first|last|active|current|is-[a-z]+|has-[a-z]+)(?:$|[-_])"
)
_SUMMARY_CLASS = re.compile(r"summary|teaser|excerpt|desc|abstract|intro|lead|body|text", re.I)


def propose_selectors(soup: BeautifulSoup, language: str = "en") -> list[Selectors]:
    """Selectors for the listing on a page without a feed, best first.

    Items are repeated blocks: elements of one tag under parents of the same tag-and-class path
    (siblings in a list, or cells of a grid), at least ``MIN_BLOCKS``, each holding a link and
    exactly one date that ``monitor.dates`` reads. More blocks rank first; of nested candidates
    the outer one (its summary is inside it)."""
    dates = _date_elements(soup, language)
    date_ids = {id(d) for d in dates}
    counts: Counter[int] = Counter()  # dates inside each element
    for date_el in dates:
        counts.update(id(a) for a in _ancestors(date_el, 64))
    groups: dict[tuple[tuple[str, ...], str], list[Tag]] = {}
    for date_el in dates:
        for block in _ancestors(date_el, 8):
            if counts[id(block)] > 1:
                break  # holds several items: neither it nor its ancestors is one
            parent = block.parent
            if isinstance(parent, Tag) and _headline(block) is not None:
                groups.setdefault((_path(parent), block.name), []).append(block)
    ranked = [
        (len(blocks), -len(path), blocks)
        for (path, _), blocks in groups.items()
        if len(blocks) >= MIN_BLOCKS
    ]
    ranked.sort(key=lambda r: (r[0], r[1]), reverse=True)
    proposals: list[Selectors] = []
    for _, _, blocks in ranked[:4]:
        proposal = _selectors_for(soup, blocks, date_ids)
        if proposal is not None and proposal not in proposals:
            proposals.append(proposal)
    return proposals[:3]


def _date_elements(soup: BeautifulSoup, language: str) -> list[Tag]:
    """The innermost elements whose short text (or ``datetime``) is a date with a year."""
    found: list[Tag] = []
    languages = tuple(dict.fromkeys([language, "en"]))
    for el in (soup.body or soup).find_all(True):
        if el.name in ("script", "style", "noscript", "template", "select", "option"):
            continue
        text = _date_text(el)
        if len(text) <= 60 and _YEAR.search(text) and _is_date(text, languages):
            found.append(el)
    ids = {id(el) for el in found}
    return [el for el in found if not any(id(d) in ids for d in _descendants(el))]


@lru_cache(maxsize=4096)
def _is_date(text: str, languages: tuple[str, ...]) -> bool:
    """Whether ``monitor.dates`` reads ``text`` as a date (cached: a listing repeats its dates,
    and the lenient parser takes milliseconds)."""
    return parse_date(text, languages=list(languages))[0] is not None


def _date_text(el: Tag) -> str:
    """The element's ``datetime`` attribute (``<time>``, and some themes' divs), else its text."""
    return clean(str(el.get("datetime") or "")) or clean(el.get_text(" "))


def _descendants(el: Tag) -> Iterable[Tag]:
    return (d for d in el.descendants if isinstance(d, Tag))


def _ancestors(el: Tag, limit: int) -> Iterable[Tag]:
    """``el`` and its ancestors below ``<body>``, at most ``limit``."""
    current: Tag | None = el
    for _ in range(limit):
        if current is None or current.name in ("body", "html", "[document]"):
            return
        yield current
        current = current.parent


def _classes(el: Tag) -> list[str]:
    """The element's classes without those that vary from item to item or with the layout
    (views-row-3, post-35120, odd, first, is-layout-flow, has-global-padding)."""
    value = el.get("class")
    names = value.split() if isinstance(value, str) else list(value or [])
    return sorted(c for c in names if not _VOLATILE_CLASS.search(c) and _css_ident(c))


def _css_ident(name: str) -> bool:
    return bool(re.fullmatch(r"-?[A-Za-z_][A-Za-z0-9_-]*", name))


def _step(el: Tag, classes: Iterable[str] | None = None) -> str:
    return el.name + "".join(f".{c}" for c in (_classes(el) if classes is None else classes))


def _path(el: Tag) -> tuple[str, ...]:
    return tuple(_step(a) for a in reversed(list(_ancestors(el, 64))))


def _headline(block: Tag) -> Tag | None:
    """The block's main link: the ``<a href>`` with the longest text (two words at least, or
    a Chinese or Japanese title)."""
    links = [block] if block.name == "a" else block.find_all("a", href=True)
    best, longest = None, 0
    for link in links:
        href = str(link.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        text = clean(link.get_text(" "))
        if (len(text.split()) >= 2 or _wide(text)) and len(text) > longest:
            best, longest = link, len(text)
    return best


def _wide(text: str) -> bool:
    """Chinese and Japanese titles have no spaces: enough characters make a title."""
    return sum(1 for ch in text if unicodedata.east_asian_width(ch) == "W") >= 6


def _selectors_for(soup: BeautifulSoup, blocks: list[Tag], date_ids: set[int]) -> Selectors | None:
    item = _item_selector(soup, blocks)
    headlines = [_headline(b) for b in blocks]
    title = ":scope" if blocks[0].name == "a" else _relative(blocks, headlines)
    date_els = [next((d for d in [b, *_descendants(b)] if id(d) in date_ids), None) for b in blocks]
    date = _relative(blocks, date_els)
    if item is None or title is None or date is None:
        return None
    first = date_els[0]
    by_attribute = first is not None and bool(clean(str(first.get("datetime") or "")))
    summaries = [_summary(b, h, d) for b, h, d in zip(blocks, headlines, date_els, strict=True)]
    summary = _relative(blocks, summaries, share=0.6)
    return Selectors(
        item=item,
        title=title,
        date=date,
        date_attr="datetime" if by_attribute else None,
        summary=summary,
    )


def _item_selector(soup: BeautifulSoup, blocks: list[Tag]) -> str | None:
    """The shortest selector that selects exactly the blocks: the blocks' tag with one of the
    classes they share, or under their parent's (then grandparent's) tag, id or class; else
    the most specific one tried that selects them all."""
    wanted = {id(b) for b in blocks}
    shared = set.intersection(*(set(_classes(b)) for b in blocks))
    own = [blocks[0].name] + [f"{blocks[0].name}.{c}" for c in sorted(shared)]
    options = list(own)
    parent = blocks[0].parent
    for depth in range(3):
        if not isinstance(parent, Tag) or parent.name in ("body", "html", "[document]"):
            break
        anchors = _anchors(parent)
        options += [f"{a} > {o}" if depth == 0 else f"{a} {o}" for a in anchors for o in own]
        parent = parent.parent
    fallback = None
    for option in sorted(dict.fromkeys(options), key=_specific_first):
        found = {id(el) for el in soup.select(option)}
        if found == wanted:
            return option
        if wanted <= found and (fallback is None or len(found) < fallback[1]):
            fallback = (option, len(found))
    return fallback[0] if fallback else None


def _specific_first(selector: str) -> tuple[bool, bool, int]:
    """Sort key: a selector naming a class or id, on the item itself best, then the shortest
    (a bare ``li`` breaks as soon as the page gets one more list)."""
    last = selector.split()[-1]
    return (not re.search(r"[.#]", selector), not re.search(r"[.#]", last), len(selector))


def _anchors(el: Tag) -> list[str]:
    """Ways to name an element in a selector: its id (unless generated), its tag with each
    of its stable classes, its tag alone."""
    out = []
    ident = str(el.get("id") or "")
    if ident and _css_ident(ident) and not re.search(r"\d{3,}", ident):
        out.append(f"{el.name}#{ident}")
    out += [f"{el.name}.{c}" for c in _classes(el)]
    return [*out, el.name]


def _relative(
    blocks: Sequence[Tag], targets: Sequence[Tag | None], share: float = 0.8
) -> str | None:
    """A selector that finds, inside each block, its target (in at least ``share`` of them)."""
    sample = next((t for t in targets if t is not None), None)
    if sample is None:
        return None
    owner = next(b for b, t in zip(blocks, targets, strict=True) if t is sample)
    options = [_step(sample), *(f"{sample.name}.{c}" for c in _classes(sample))]
    parent = sample.parent
    if isinstance(parent, Tag) and parent is not owner:
        if re.fullmatch(r"h[1-6]", parent.name or ""):
            options.insert(0, f"{parent.name} {sample.name}")
        options += [f"{a} {sample.name}" for a in _anchors(parent)]
    options.append(sample.name)
    for option in dict.fromkeys(options):
        hits = sum(
            1
            for block, target in zip(blocks, targets, strict=True)
            if target is not None and block.select_one(option) is target
        )
        if hits >= share * len(blocks):
            return option
    return None


def _summary(block: Tag, headline: Tag | None, date_el: Tag | None) -> Tag | None:
    """A paragraph, or an element with a summary-like class, of some length that is neither
    the title nor the date nor holds them."""
    for el in _descendants(block):
        named = _SUMMARY_CLASS.search(" ".join(_classes(el)))
        if el.name != "p" and not (el.name in ("div", "span") and named):
            continue
        if len(clean(el.get_text(" "))) < 40:
            continue
        inside = {id(d) for d in _descendants(el)} | {id(el)}
        if any(t is not None and id(t) in inside for t in (headline, date_el)):
            continue
        return el
    return None
