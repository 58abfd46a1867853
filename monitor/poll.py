"""One polling round: fetch → parse → normalise → classify → store, for many sources at once.

Fetching and parsing run in worker threads under the global concurrency limit (the HTTP client
adds the per-host limits); results are classified and stored by the calling thread, one source
at a time, so database writes never contend. One bad source never stops the others.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial

from monitor.config import SourceConfig
from monitor.errors import FetchCancelledError, FetchError, MonitorError, StoreError
from monitor.extract import Article, extract_article
from monitor.http import Fetched, HttpClient
from monitor.http.browser import fetcher
from monitor.items import Classification, Entry
from monitor.normalise import with_article
from monitor.parsing import Parsed, Parser
from monitor.sources import registry
from monitor.store.repo import Store
from monitor.store.sources import PollRecord, SourceState
from monitor.stories.features import Profile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fetch:
    """What the I/O half of a poll brought back for one source."""

    source: SourceConfig
    started_at: datetime
    finished_at: datetime
    fetched: Fetched | None = None
    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    status: int | None = None  # the HTTP status of a failed fetch
    retry_after: float | None = None  # the server asked us to come back after this (seconds)
    cancelled: bool = False  # the service is stopping: not the source's failure
    content_hash: str | None = None  # of the body read
    unchanged: bool = False  # the same bytes as last time: nothing parsed
    decisions: list[Classification] = field(default_factory=list)  # of each entry
    features: list[Profile | None] | None = None  # story features of each entry, if made

    @property
    def not_modified(self) -> bool:
        return self.unchanged or (self.fetched is not None and self.fetched.not_modified)


Known = Callable[[Collection[str]], frozenset[str]]
UNSURE = (0.05, 0.9)  # scores for which the article page is fetched when the listing is short
WAITING = 64  # fetched results waiting to be stored, at most
RECORD_BATCH = 50  # polls recorded in one transaction
ARTICLE_MIN_SECONDS = 5.0  # an article page is not started with less time than this left


def fetch_source(
    source: SourceConfig,
    client: HttpClient,
    state: SourceState,
    clock: Callable[[], datetime],
    article_limit: int,
    parser: Parser,
    deadline: float | None = None,
    known: Known | None = None,
) -> Fetch:
    """Fetch, parse and classify one source; never raises: failures come back in ``error``.

    The article pages of new items are fetched (at most ``article_limit``) when an item has no
    date, or when its classification is uncertain and its listing short (the article's text
    may decide); those items are classified again, and ``known`` (which of these canonical
    URLs were stored before, dated or checked) keeps pages from being fetched twice.
    ``deadline`` (``time.monotonic()``) bounds
    the whole of it: article pages that would not fit are left for the next poll."""
    started = clock()
    fetched = None
    try:
        fetched = fetcher(client, source)(  # client.get, or rendered when browser: true
            source.url,
            etag=state.etag,
            last_modified=state.last_modified,
            accept=registry.get(source.kind).accept,
            headers=source.headers,
            deadline=deadline,
        )
        if fetched.not_modified:
            return Fetch(source, started, clock(), fetched)
        digest = hashlib.sha256(fetched.content).hexdigest()
        if digest == state.content_hash:  # a server that ignores conditional GET
            return Fetch(source, started, clock(), fetched, content_hash=digest, unchanged=True)
        parsed = parser.parse(source, fetched.content, fetched.final_url, fetched.encoding, started)
        if source.fetch_articles:
            parsed = _with_articles(
                parsed, known or _nothing_known, client, parser, article_limit, deadline, started
            )
        return Fetch(
            source,
            started,
            clock(),
            fetched,
            parsed.entries,
            parsed.warnings,
            content_hash=digest,
            decisions=parsed.decisions,
            features=parsed.features,
        )
    except FetchCancelledError as e:
        return Fetch(source, started, clock(), fetched, error=str(e), cancelled=True)
    except FetchError as e:
        return Fetch(
            source,
            started,
            clock(),
            fetched,
            error=str(e),
            status=e.status,
            retry_after=e.retry_after,
        )
    except MonitorError as e:
        return Fetch(source, started, clock(), fetched, error=str(e))
    except Exception as e:  # a bug or a library failure on odd input: report it, go on
        log.exception("unexpected error source=%s", source.id)
        return Fetch(source, started, clock(), fetched, error=f"unexpected error: {e!r}")


def uncertain(entry: Entry, decision: Classification) -> bool:
    """A short listing (a title, a line) that leaves the classifier unsure, or not sure enough
    to drop it: the article may decide."""
    return len(entry.summary) < 200 and UNSURE[0] <= decision.score < UNSURE[1]


def _nothing_known(_urls: Collection[str]) -> frozenset[str]:
    return frozenset()


def _with_articles(
    parsed: Parsed,
    known: Known,
    client: HttpClient,
    parser: Parser,
    limit: int,
    deadline: float | None,
    now: datetime,
) -> Parsed:
    """Fetch the article pages of new items that need them: undated ones first, then those
    whose classification is uncertain; at most ``limit`` pages, and none once too little time
    is left before ``deadline`` (those items stay unchecked, so the next poll tries them)."""
    pairs = list(zip(parsed.entries, parsed.decisions, strict=True))
    stored = known([e.canonical_url for e in parsed.entries]) if limit > 0 else frozenset()
    new = [(e, d) for e, d in pairs if e.canonical_url not in stored]
    undated = [e for e, _ in new if e.published_date is None]
    unsure = [e for e, d in new if e.published_date is not None and uncertain(e, d)]
    chosen = (undated + unsure)[: max(limit, 0)]
    articles: dict[str, Article | None] = {}
    for entry in chosen:
        if deadline is not None and deadline - time.monotonic() < ARTICLE_MIN_SECONDS:
            left = len(chosen) - len(articles)
            log.info("article fetches deferred count=%d (poll deadline)", left)
            break
        article = _article(client, entry.url, now, deadline)
        if article is None and deadline is not None and time.monotonic() >= deadline:
            break  # cut off by the poll's deadline: not the page's fault, try it next time
        articles[entry.canonical_url] = article
    if not articles:
        return parsed
    entries = [
        with_article(e, articles[e.canonical_url]) if e.canonical_url in articles else e
        for e in parsed.entries
    ]
    again = [i for i, e in enumerate(entries) if e.canonical_url in articles]
    decisions = list(parsed.decisions)
    for index, decision in zip(again, parser.classify([entries[i] for i in again]), strict=True):
        decisions[index] = decision
    features = list(parsed.features or [None] * len(entries))
    for index in again:
        features[index] = None  # the article's text changes them: made when stored
    return Parsed(entries, decisions, parsed.warnings, features)


def _article(client: HttpClient, url: str, now: datetime, deadline: float | None) -> Article | None:
    try:
        page = client.get(url, accept="text/html", deadline=deadline)
        return extract_article(page.content, page.final_url, now)
    except FetchCancelledError:
        raise
    except FetchError as e:
        log.warning("article fetch failed url=%s error=%s", url, e.reason)
    except Exception:
        log.exception("article extraction failed url=%s", url)
    return None


def store_fetch(store: Store, result: Fetch) -> PollRecord:
    """Store what one source brought; record the poll; return its record.

    A failure to record the poll raises StoreError (see ``save_fetch`` for the items)."""
    record = save_fetch(store, result)
    record = replace(record, consecutive_failures=store.record_poll(record))
    log_poll(record)
    return record


def save_fetch(store: Store, result: Fetch) -> PollRecord:
    """Store the items one source brought, as classified; return the poll's record, not yet
    recorded. A database failure while storing the items becomes the poll's error (the
    source's validators are then not saved, so the next poll reads everything again: nothing
    is lost)."""
    fetched = result.fetched
    record = PollRecord(
        source_id=result.source.id,
        started_at=result.started_at,
        finished_at=result.finished_at,
        outcome="ok",
        http_status=fetched.status if fetched else result.status,
        final_url=fetched.final_url if fetched else None,
        warnings=tuple(result.warnings),
    )
    if result.error is not None:
        return replace(record, outcome="error", error=result.error)
    if result.not_modified:
        return replace(record, outcome="not_modified")
    try:
        decided = list(zip(result.entries, result.decisions, strict=True))
        saved = store.save_entries(decided, result.finished_at, result.features)
    except StoreError as e:
        log.error("storing failed source=%s error=%s", result.source.id, e)
        return replace(record, outcome="error", error=f"storing failed: {e}")
    return replace(
        record,
        found=len(result.entries),
        new=saved.new,
        updated=saved.updated,
        etag=fetched.etag if fetched else None,
        last_modified=fetched.last_modified if fetched else None,
        validators_for=result.source.fingerprint(),
        content_hash=result.content_hash,
        story_ids=saved.story_ids,
    )


def log_poll(record: PollRecord) -> None:
    ms = int((record.finished_at - record.started_at).total_seconds() * 1000)
    if record.outcome == "error":
        log.warning(
            "poll source=%s outcome=error status=%s ms=%d error=%s",
            record.source_id,
            record.http_status,
            ms,
            record.error,
        )
        return
    log.info(
        "poll source=%s outcome=%s new=%d updated=%d found=%d status=%s ms=%d warnings=%d",
        record.source_id,
        record.outcome,
        record.new,
        record.updated,
        record.found,
        record.http_status,
        ms,
        len(record.warnings),
    )


def poll_sources(
    sources: Iterable[SourceConfig],
    *,
    store: Store,
    client: HttpClient,
    parser: Parser,
    concurrency: int,
    article_limit: int,
    poll_deadline: float,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_done: Callable[[PollRecord], None] | None = None,
) -> list[PollRecord]:
    """Poll ``sources`` concurrently, each within ``poll_deadline`` seconds; return one record
    per source, in the order given.

    ``concurrency`` threads fetch (and hand bodies to ``parser``); this thread stores, one
    source at a time, as results come in, and records the polls in batches. At most
    ``WAITING`` results wait to be stored: when storing falls behind, fetching waits, so memory
    stays bounded however many sources."""
    sources = list(sources)
    if not sources:
        return []
    states = store.source_states([s.id for s in sources])
    waiting: queue.Queue[Fetch] = queue.Queue(maxsize=WAITING)

    def fetch(source: SourceConfig) -> None:
        deadline = time.monotonic() + poll_deadline
        known = partial(store.known_urls, source.id)
        state = states[source.id]
        waiting.put(
            fetch_source(source, client, state, clock, article_limit, parser, deadline, known)
        )

    records: dict[str, PollRecord] = {}
    unrecorded: list[PollRecord] = []
    with ThreadPoolExecutor(max_workers=min(concurrency, len(sources))) as pool:
        for source in sources:
            pool.submit(fetch, source)
        try:  # while the first requests are on the wire
            store.prepare_stories()
        except StoreError as e:
            log.warning("story index not ready before storing error=%s", e)
        for left in range(len(sources) - 1, -1, -1):
            unrecorded.append(save_fetch(store, waiting.get()))
            if len(unrecorded) >= RECORD_BATCH or waiting.empty() or not left:
                for record in _record(store, unrecorded, clock):
                    records[record.source_id] = record
                    if on_done:
                        on_done(record)
                unrecorded = []
    return [records[s.id] for s in sources]


def _record(
    store: Store, records: list[PollRecord], clock: Callable[[], datetime]
) -> list[PollRecord]:
    """Record polls in one transaction; a poll that could not be recorded comes back as a
    failure saying so."""
    try:
        failures = store.record_polls(records)
    except StoreError as e:
        log.error("recording polls failed count=%d error=%s", len(records), e)
        now = clock()
        return [
            PollRecord(r.source_id, r.started_at, now, "error", error=f"storing failed: {e}")
            for r in records
        ]
    done = [replace(r, consecutive_failures=n) for r, n in zip(records, failures, strict=True)]
    for record in done:
        log_poll(record)
    return done
