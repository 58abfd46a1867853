"""Trying candidates: each fetched through the HttpClient given and read as a poll would."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.config import Config, SourceConfig
from monitor.errors import FetchError, MonitorError
from monitor.sources import registry
from monitor.sources.discover.feeds import feed_candidates, looks_like_feed
from monitor.sources.discover.listing import propose_selectors
from monitor.sources.discover.naming import choose_publisher, source_id_for
from monitor.sources.discover.page import Page, read_page
from monitor.sources.html import Selectors
from monitor.text import clean

if TYPE_CHECKING:
    from monitor.http import Fetched, HttpClient
    from monitor.parsing import Parsed, Parser


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
