"""From a page's URL to a checked source definition (``monitor sources add``).

- **Feeds**: the feeds a page names (``<link rel="alternate">``, read by trafilatura's feed
  finder), then the conventions of WordPress (``/feed/``, ``?feed=rss2``) and Drupal
  (``/rss.xml``, ``/node/feed``) and common paths (``/feed``, ``/rss``, ``/atom.xml`` ...);
  each is fetched and read with the ``rss`` kind, as a poll would.
- **Listings without a feed**: CSS selectors for the ``html`` kind, proposed from the blocks that
  repeat on the page and each hold a link and a date (``propose_selectors``).
- **The definition**: id, name, publisher (from the glossary when the host is known), kind,
  url; rendered as a YAML block and added to ``sources.yaml`` *as text* at the end of the
  ``sources:`` list, so that the file's comments and layout stay; the whole file is validated
  before it is written and after, and restored on error.

Pure except ``discover`` (fetches through the HttpClient it is given) and ``append_to_file``.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml
from bs4 import BeautifulSoup, Tag, XMLParsedAsHTMLWarning
from courlan import extract_domain
from trafilatura.feeds import FeedParameters, determine_feed

from monitor.config import SLUG, Config, SourceConfig, validate_config
from monitor.dates import parse_date
from monitor.encoding import decode_body, html_charset
from monitor.errors import ConfigError, FetchError, MonitorError, Problem
from monitor.sources import registry
from monitor.sources.html import Selectors
from monitor.text import clean
from monitor.yamlload import load_yaml_text

if TYPE_CHECKING:
    from monitor.http import Fetched, HttpClient
    from monitor.parsing import Parsed, Parser

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_NAMED = 6  # feeds a page names, tried
MAX_GUESSED = 8  # conventional feed paths tried when the page names none that works
MIN_BLOCKS = 3  # repeated blocks needed to propose a listing
_COMMON_PATHS = ("feed", "rss", "rss.xml", "feed.xml", "atom.xml", "index.xml")
_WORDPRESS = re.compile(r"<meta[^>]+content=[\"']WordPress|/wp-content/|/wp-json/", re.I)
_DRUPAL = re.compile(r"<meta[^>]+content=[\"']Drupal|drupal-settings-json|/sites/default/files/")
_FEED_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF)\b", re.S
)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_VOLATILE_CLASS = re.compile(
    r"\d|(?:^|[-_])(?:odd|even|first|last|active|current|is-[a-z]+|has-[a-z]+)(?:$|[-_])"
)
_SUMMARY_CLASS = re.compile(r"summary|teaser|excerpt|desc|abstract|intro|lead|body|text", re.I)
_NOT_A_SEGMENT = {"feed", "rss", "atom", "index", "home", "default", "en", "zh", "www"}


# -- feed candidates (pure) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    url: str
    how: str  # "named by the page", "WordPress", "Drupal", "common path"


def feed_candidates(html: str, page_url: str) -> tuple[list[Candidate], list[Candidate]]:
    """The feeds ``html`` names (trafilatura's finder: ``<link rel="alternate">``, else links
    that look like feeds; comment feeds left out), and the conventional paths to guess when
    none of them works, platform conventions first."""
    base = _origin(page_url)
    params = FeedParameters(base, extract_domain(page_url) or "", page_url)
    named = [Candidate(u, "named by the page") for u in determine_feed(html, params)]
    page_dir = page_url.split("?", 1)[0].split("#", 1)[0]
    page_dir = page_dir if page_dir.endswith("/") else page_dir.rsplit("/", 1)[0] + "/"
    guesses: list[Candidate] = []
    if _WORDPRESS.search(html):
        if page_dir != base + "/":
            guesses.append(Candidate(page_dir + "feed/", "WordPress (this section)"))
        guesses += [
            Candidate(base + "/feed/", "WordPress"),
            Candidate(base + "/?feed=rss2", "WordPress"),
        ]
    if _DRUPAL.search(html):
        guesses += [
            Candidate(base + "/rss.xml", "Drupal"),
            Candidate(base + "/node/feed", "Drupal"),
        ]
    if page_dir != base + "/":
        guesses += [
            Candidate(page_dir + p, "common path (this section)") for p in ("feed", "rss.xml")
        ]
    guesses += [Candidate(f"{base}/{p}", "common path") for p in _COMMON_PATHS]
    seen = {page_url, *(c.url for c in named)}
    unique = []
    for candidate in guesses:
        if candidate.url not in seen:
            seen.add(candidate.url)
            unique.append(candidate)
    return named[:MAX_NAMED], unique[:MAX_GUESSED]


def looks_like_feed(content: bytes, content_type: str) -> bool:
    """Whether a response is probably a feed (and worth reading with the ``rss`` kind)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.endswith(("rss+xml", "atom+xml", "rdf+xml")):
        return True
    return bool(_FEED_START.match(content[:2048].lstrip(b"\xef\xbb\xbf")))


def looks_like_url(text: str) -> bool:
    return bool(re.match(r"^https?://[^\s/]+", text.strip(), re.I))


# -- the page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """What ``sources add`` reads from the page itself."""

    html: str
    title: str
    site_name: str
    language: str | None  # two-letter code from <html lang>, when given


def read_page(content: bytes, encoding: str | None) -> tuple[Page, BeautifulSoup]:
    decoded = decode_body(content, encoding, html_charset(content))
    soup = _soup(decoded.text)
    title = clean(soup.title.get_text()) if soup.title else ""
    site = soup.find("meta", attrs={"property": "og:site_name"})
    site_name = clean(str(site.get("content") or "")) if isinstance(site, Tag) else ""
    html_el = soup.find("html")
    lang = str(html_el.get("lang") or "") if isinstance(html_el, Tag) else ""
    code = lang.split("-")[0].strip().lower()
    language = code if code.isalpha() else _script_language(soup)
    return Page(decoded.text, title, site_name, language), soup


def _script_language(soup: BeautifulSoup) -> str | None:
    """``zh`` or ``ja`` for a page without ``lang`` whose text is mostly Han (with kana:
    Japanese); None otherwise (the default, English, then applies)."""
    text = clean((soup.body or soup).get_text(" "))[:5000]
    letters = [ch for ch in text if ch.isalpha()]
    han = sum(1 for ch in letters if "\u4e00" <= ch <= "\u9fff")
    kana = sum(1 for ch in letters if "\u3040" <= ch <= "\u30ff")
    if not letters or han + kana < 0.3 * len(letters):
        return None
    return "ja" if kana > 0.05 * len(letters) else "zh"


def _soup(text: str) -> BeautifulSoup:
    with warnings.catch_warnings():  # XHTML pages start with an XML declaration: fine
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        return BeautifulSoup(text, "lxml")  # as the html kind parses it: selectors match alike


# -- selectors for a listing (pure) ------------------------------------------------------------


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


# -- trying candidates (I/O through the client) --------------------------------------------------


@dataclass(frozen=True)
class Trial:
    """One candidate definition, fetched and parsed as a poll would."""

    source: SourceConfig
    how: str  # where the candidate came from
    fetched: Fetched | None = None
    parsed: Parsed | None = None
    error: str | None = None
    title: str = ""  # the feed's or the page's

    @property
    def items(self) -> int:
        return len(self.parsed.entries) if self.parsed else 0

    @property
    def relevant(self) -> int:
        return sum(d.relevant for d in self.parsed.decisions) if self.parsed else 0

    @property
    def dated(self) -> int:
        return sum(e.published_date is not None for e in self.parsed.entries) if self.parsed else 0

    @property
    def works(self) -> bool:
        return self.error is None and self.items > 0


@dataclass(frozen=True)
class Discovery:
    url: str
    page: Fetched
    info: Page
    trials: list[Trial]
    chosen: Trial | None
    source: dict[str, Any] = field(default_factory=dict)  # the proposed definition
    new_publisher: dict[str, dict[str, str]] = field(default_factory=dict)  # key → entry


def try_source(
    source: SourceConfig,
    how: str,
    *,
    client: HttpClient,
    parser: Parser,
    now: datetime,
    fetched: Fetched | None = None,
) -> Trial:
    """Fetch (unless ``fetched`` is given) and parse ``source`` as a poll would; never raises
    for the source's failures: they come back in ``error``."""
    kind = registry.get(source.kind)
    try:
        fetched = fetched or client.get(source.url, accept=kind.accept, headers=source.headers)
        parsed = parser.parse(source, fetched.content, fetched.final_url, fetched.encoding, now)
        title = kind.parse(fetched.content, fetched.final_url, fetched.encoding, source).title
    except FetchError as e:
        return Trial(source, how, fetched, error=e.reason)
    except MonitorError as e:  # ParseError
        return Trial(source, how, fetched, error=str(e))
    return Trial(source, how, fetched, parsed, title=title or "")


def discover(
    url: str,
    *,
    client: HttpClient,
    parser: Parser,
    config: Config,
    now: datetime,
    source_id: str | None = None,
    publisher: str | None = None,
) -> Discovery:
    """Fetch ``url``; find its feeds and try them; without one that works, propose selectors
    for its listing and try those; return every trial and the proposed definition (empty when
    nothing works). FetchError when the page itself cannot be fetched."""
    page = client.get(url, accept=registry.get("html").accept)
    info, soup = read_page(page.content, page.encoding)
    key, stub = choose_publisher(page.final_url, config, info, publisher)
    sid = source_id or source_id_for(key, page.final_url, {s.id for s in config.sources})
    common = {"id": sid, "name": sid, "publisher": key, "language": info.language or "en"}

    def attempt(
        kind: str, at: str, how: str, fetched: Fetched | None = None, **extra: Any
    ) -> Trial:
        model = registry.get(kind).config
        source = model.model_validate({**common, "kind": kind, "url": at, **extra})
        return try_source(source, how, client=client, parser=parser, now=now, fetched=fetched)

    trials: list[Trial] = []
    if looks_like_feed(page.content, page.content_type):
        trials.append(attempt("rss", page.final_url, "the address given", page))
    if not any(t.works for t in trials):
        named, guessed = feed_candidates(info.html, page.final_url)
        trials += [attempt("rss", c.url, c.how) for c in named]
        for candidate in [] if any(t.works for t in trials) else guessed:
            trials.append(attempt("rss", candidate.url, candidate.how))
            if trials[-1].works:
                break
    if not any(t.works for t in trials):
        for selectors in propose_selectors(soup, info.language or "en"):
            trials.append(attempt("html", page.final_url, "listing", page, selectors=selectors))
    chosen = best_trial(trials)
    if chosen is None:
        return Discovery(url, page, info, trials, None)
    name = chosen.title if chosen.source.kind == "rss" and chosen.title else info.title
    proposed = definition(chosen, name or sid, info.language)
    return Discovery(url, page, info, trials, chosen, proposed, stub)


def best_trial(trials: Sequence[Trial]) -> Trial | None:
    """The feed with the most relevant items (then the most items; the first on a tie), else
    the listing selectors that read the most dated items."""
    working = [t for t in trials if t.works]
    feeds = [t for t in working if t.source.kind == "rss"]
    if feeds:
        return max(feeds, key=lambda t: (t.relevant, t.items, -working.index(t)))
    if not working:
        return None
    return max(working, key=lambda t: (t.dated, t.items, -working.index(t)))


def definition(trial: Trial, name: str, language: str | None) -> dict[str, Any]:
    """The source as it goes into sources.yaml (keys in the order the shipped file uses)."""
    source = trial.source
    url = trial.fetched.final_url if trial.fetched else source.url
    out: dict[str, Any] = {
        "id": source.id,
        "name": clean(name)[:100],
        "publisher": source.publisher,
    }
    out |= {"kind": source.kind, "url": url}
    if language and language != "en":
        out["language"] = language
    selectors = getattr(source, "selectors", None)
    if isinstance(selectors, Selectors):
        out["selectors"] = selectors.model_dump(exclude_defaults=True)
    return out


# -- publisher and id (pure) ---------------------------------------------------------------------


def choose_publisher(
    url: str, config: Config, page: Page | None = None, given: str | None = None
) -> tuple[str, dict[str, dict[str, str]]]:
    """The publisher key for a page at ``url``: ``given``, else the glossary's when the host is
    known, else a new key; with the glossary entry to add for a key not in the glossary."""
    key = given or match_publisher(url, config, page.site_name or page.title if page else "")
    if key and key in config.publishers:
        return key, {}
    key = key or new_publisher_key(url, config)
    name = (page.site_name if page else "") or extract_domain(url) or urlsplit(url).hostname or key
    return key, {key: {"name": name}}


def match_publisher(url: str, config: Config, site_name: str = "") -> str | None:
    """The publisher of a page at ``url`` from what the configuration knows: a source on the
    same site (the host sharing the most labels wins; a parent host beats a sibling), else a
    publisher whose key or abbreviation is a label of the host, else one whose name the site
    gives (``og:site_name``). None when unknown or ambiguous."""
    host = _host(url)
    if not host:
        return None
    domain = extract_domain(url) or host
    scores: dict[str, tuple[int, bool]] = {}
    for source in config.sources:
        other = _host(source.url)
        if other and (extract_domain(source.url) or other) == domain:
            score = (_shared_labels(host, other), host == other or host.endswith("." + other))
            scores[source.publisher] = max(scores.get(source.publisher, score), score)
    if scores:
        best = max(scores.values())
        winners = [p for p, s in scores.items() if s == best]
        if len(winners) == 1:
            return winners[0]
    labels = set(host.split("."))
    for key, publisher in config.publishers.items():
        names = {key, _alnum(publisher.abbr or "")}
        if labels & {n for n in names if n}:
            return key
    site = clean(site_name).casefold()
    named = [k for k, p in config.publishers.items() if site and _names(site, p.name, p.abbr)]
    return named[0] if len(named) == 1 else None


def _names(site: str, name: str, abbr: str | None) -> bool:
    """Whether a site name (og:site_name, else the title) names the publisher: its full name
    within it, or its abbreviation as the whole of it."""
    return (len(name) >= 6 and name.casefold() in site) or bool(abbr and abbr.casefold() == site)


def new_publisher_key(url: str, config: Config) -> str:
    host = _host(url) or "site"
    domain = extract_domain(url)
    key = slug(domain.split(".")[0] if domain else host, 24) or "site"
    return unique_key(key, set(config.publishers))


def source_id_for(publisher: str, page_url: str, taken: set[str]) -> str:
    """``publisher-section`` from the page's path (``purdue-newsroom``), unique in ``taken``."""
    segments = [s for s in urlsplit(page_url).path.split("/") if s]
    words = [slug(re.sub(r"\.[a-z]{2,5}$", "", s), 30) for s in reversed(segments)]
    section = next((w for w in words if w and w not in _NOT_A_SEGMENT and not w.isdigit()), "news")
    sid = section if section.startswith(publisher) else f"{publisher}-{section}"
    return unique_key(slug(sid, 40) or publisher, taken)


def slug(text: str, limit: int = 40) -> str:
    """A lowercase ASCII slug (``SLUG`` in the configuration); empty for text without any
    Latin letter or digit."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    return out if SLUG.match(out) else ""


def unique_key(key: str, taken: set[str]) -> str:
    if key not in taken:
        return key
    number = 2
    while f"{key}-{number}" in taken:
        number += 1
    return f"{key}-{number}"


def _host(url: str) -> str:
    host = (urlsplit(url.strip()).hostname or "").lower()
    return host.removeprefix("www.")


def _shared_labels(a: str, b: str) -> int:
    count = 0
    for x, y in zip(reversed(a.split(".")), reversed(b.split(".")), strict=False):
        if x != y:
            break
        count += 1
    return count


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# -- sources.yaml as text --------------------------------------------------------------------------


@dataclass(frozen=True)
class Addition:
    """Sources (and glossary entries) to add to a configuration file."""

    sources: list[dict[str, Any]]
    publishers: dict[str, dict[str, str]] = field(default_factory=dict)
    comment: str = ""  # a comment line above the sources


def source_block(addition: Addition, indent: int = 2) -> str:
    """The YAML text of the sources, a list item each, indented by ``indent``."""
    dumped = yaml.safe_dump(
        addition.sources, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000
    )
    lines = [f"# {line}" for line in addition.comment.splitlines() if line.strip()]
    return "".join(" " * indent + line + "\n" for line in [*lines, *dumped.splitlines()])


def publisher_lines(publishers: dict[str, dict[str, str]], indent: int = 2) -> str:
    """Glossary entries, one flow mapping a line, each with a note to complete it."""
    out = ""
    for key, entry in publishers.items():
        flow = yaml.safe_dump(
            entry, default_flow_style=True, allow_unicode=True, width=1000
        ).strip()
        out += f"{' ' * indent}{key}: {flow}  # new: fill in name_zh, abbr, country_zh, kind\n"
    return out


def add_to_text(text: str, addition: Addition) -> str:
    """``text`` (a sources.yaml) with the sources appended to its ``sources:`` list and the
    publishers to its glossary, everything else (comments, order, quoting) as it was.
    ConfigError when the file's structure does not allow it (a list in flow style)."""
    if text and not text.endswith("\n"):
        text += "\n"
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as e:
        raise ConfigError([_problem(f"invalid YAML: {e}")]) from e
    if root is not None and not isinstance(root, yaml.MappingNode):
        raise ConfigError([_problem("the file must hold a mapping (key: value)")])
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in characters
    if addition.publishers:
        block = partial(publisher_lines, addition.publishers)
        edits.append(_edit(root, "publishers", text, block))
    if addition.sources:
        edits.append(_edit(root, "sources", text, partial(source_block, addition)))
    for begin, end, replacement in sorted(edits, reverse=True):
        text = text[:begin] + replacement + text[end:]
    return text


def _edit(
    root: yaml.Node | None, key: str, text: str, render: Callable[[int], str]
) -> tuple[int, int, str]:
    """The edit that extends the collection under ``key`` with ``render(indent)``."""
    pairs = root.value if isinstance(root, yaml.MappingNode) else []
    found = [(k, v) for k, v in pairs if isinstance(k, yaml.ScalarNode) and k.value == key]
    if not found:
        return len(text), len(text), f"{key}:\n{render(2)}"
    key_node, value = found[0]
    empty_flow = isinstance(value, yaml.CollectionNode) and value.flow_style and not value.value
    if _is_null(value) or empty_flow:  # `sources:`, `sources: ~`, `sources: []`
        colon = text.index(":", key_node.end_mark.index)
        newline = text.find("\n", colon)
        rest = text[colon + 1 : newline]
        comment = rest[rest.find("#") :] if "#" in rest else ""
        kept = f" {comment}" if comment else ""
        return colon + 1, newline, kept + "\n" + render(2).rstrip("\n")
    if not isinstance(value, yaml.CollectionNode) or value.flow_style:
        message = f"{key}: written in flow style ([...] or {{...}}); make it a block to add to it"
        raise ConfigError([_problem(message)])
    if isinstance(value, yaml.SequenceNode):
        indent = value.start_mark.column
    else:
        indent = value.value[0][0].start_mark.column
    at = _line_start_after(text, _last_line(value))
    return at, at, render(indent)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _line_start_after(text: str, line: int) -> int:
    """The index where line ``line + 1`` (0-based) starts."""
    index = 0
    for _ in range(line + 1):
        index = text.index("\n", index) + 1
    return index


def _last_line(node: yaml.Node) -> int:
    """The (0-based) line where the content of a block collection ends."""
    while isinstance(node, yaml.CollectionNode) and not node.flow_style and node.value:
        node = node.value[-1] if isinstance(node, yaml.SequenceNode) else node.value[-1][1]
    end = node.end_mark
    return end.line if end.column > 0 else end.line - 1


def _problem(message: str) -> Problem:
    return Problem("sources.yaml", None, "", message)


def check_text(text: str, file: str) -> Config:
    """Validate a whole configuration text (ConfigError listing every problem)."""
    return validate_config(load_yaml_text(text, file))


def append_to_file(path: Path, addition: Addition) -> Config:
    """Add to the configuration file at ``path`` (see ``add_to_text``); the new text is
    validated before it is written and the written file after; on any error the file is left
    (or put back) as it was and the error raised."""
    original = path.read_text(encoding="utf-8")
    changed = add_to_text(original, addition)
    check_text(changed, str(path))
    _write(path, changed)
    try:
        return validate_config(load_yaml_text(path.read_text(encoding="utf-8"), str(path)))
    except Exception:
        _write(path, original)
        raise


def _write(path: Path, text: str) -> None:
    """Replace the file at once (a reader never sees half of it), keeping its permissions."""
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
