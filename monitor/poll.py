"""One polling round: fetch → parse → normalise → classify → store, for many sources at once.

Fetching and parsing run in worker threads under the global concurrency limit (the HTTP client
adds the per-host limits); results are classified and stored by the calling thread, one source
at a time, so database writes never contend. One bad source never stops the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from monitor.classify import Classifier, Doc
from monitor.config import SourceConfig
from monitor.errors import FetchCancelledError, FetchError, MonitorError, StoreError
from monitor.extract import Article, extract_article
from monitor.http import Fetched, HttpClient
from monitor.items import Classification, Entry
from monitor.normalise import normalise, with_article
from monitor.sources import registry
from monitor.store.repo import PollRecord, SourceState, Store

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


ArticleWanted = Callable[[Entry], bool]
ARTICLE_MIN_SECONDS = 5.0  # an article page is not started with less time than this left


def fetch_source(
    source: SourceConfig,
    client: HttpClient,
    state: SourceState,
    clock: Callable[[], datetime],
    article_limit: int,
    wants_article: ArticleWanted | None = None,
    deadline: float | None = None,
) -> Fetch:
    """Fetch and parse one source; never raises: failures come back in ``error``.

    The article pages of new items are fetched (at most ``article_limit``) when an item has no
    date, or when ``wants_article`` says its text would help (an uncertain classification).
    ``deadline`` (``time.monotonic()``) bounds the whole of it: article pages that would not fit
    are left for the next poll."""
    started = clock()
    kind = registry.get(source.kind)
    fetched = None
    try:
        fetched = client.get(
            source.url,
            etag=state.etag,
            last_modified=state.last_modified,
            accept=kind.accept,
            headers=source.headers,
            deadline=deadline,
        )
        if fetched.not_modified:
            return Fetch(source, started, clock(), fetched)
        result = kind.parse(fetched.content, fetched.final_url, fetched.encoding, source)
        entries = _unique([normalise(raw, source, started) for raw in result.items])
        if source.fetch_articles:
            wanted = wants_article or (lambda _entry: False)
            entries = _with_articles(
                entries, state.known_urls, client, started, article_limit, wanted, deadline
            )
        return Fetch(source, started, clock(), fetched, entries, list(result.warnings))
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


def _unique(entries: list[Entry]) -> list[Entry]:
    seen: set[str] = set()
    out = []
    for entry in entries:
        if entry.canonical_url not in seen:
            seen.add(entry.canonical_url)
            out.append(entry)
    return out


def _with_articles(
    entries: list[Entry],
    known: frozenset[str],
    client: HttpClient,
    now: datetime,
    limit: int,
    wanted: ArticleWanted,
    deadline: float | None,
) -> list[Entry]:
    """Fetch the article pages of new items that need them: undated ones first, then those
    whose classification is uncertain; at most ``limit`` pages, and none once too little time
    is left before ``deadline`` (those items stay unchecked, so the next poll tries them)."""
    new = [e for e in entries if e.canonical_url not in known]
    undated = [e for e in new if e.published_date is None]
    uncertain = [e for e in new if e.published_date is not None and wanted(e)]
    chosen = [e.canonical_url for e in (undated + uncertain)[: max(limit, 0)]]
    articles: dict[str, Article | None] = {}
    for url in chosen:
        if deadline is not None and deadline - time.monotonic() < ARTICLE_MIN_SECONDS:
            log.info(
                "article fetches deferred count=%d (poll deadline)", len(chosen) - len(articles)
            )
            break
        entry = next(e for e in entries if e.canonical_url == url)
        article = _article(client, entry.url, now, deadline)
        if article is None and deadline is not None and time.monotonic() >= deadline:
            break  # cut off by the poll's deadline: not the page's fault, try it next time
        articles[url] = article
    return [
        with_article(e, articles[e.canonical_url]) if e.canonical_url in articles else e
        for e in entries
    ]


def uncertain_items(classifier: Classifier, low: float = 0.05, high: float = 0.9) -> ArticleWanted:
    """Items whose short listing (a title, a line) leaves the classifier unsure, or not sure
    enough to drop them: the article may decide."""

    def wanted(entry: Entry) -> bool:
        if len(entry.summary) >= 200:
            return False
        return low <= classify_entry(classifier, entry).score < high

    return wanted


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


def classify_entry(classifier: Classifier, entry: Entry) -> Classification:
    return classifier.classify(
        Doc(
            title=entry.title,
            summary=entry.summary,
            text=entry.text or "",
            url=entry.url,
            publisher=entry.publisher,
            section_hint=entry.section_hint,
        )
    )


def store_fetch(store: Store, classifier: Classifier, result: Fetch) -> PollRecord:
    """Classify and store what one source brought; record the poll; return its record.

    A failure to record the poll raises StoreError (see ``save_fetch`` for the items)."""
    record = save_fetch(store, classifier, result)
    record = replace(record, consecutive_failures=store.record_poll(record))
    log_poll(record)
    return record


def save_fetch(store: Store, classifier: Classifier, result: Fetch) -> PollRecord:
    """Classify and store the items one source brought; return the poll's record, not yet
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
    if fetched is not None and fetched.not_modified:
        return replace(record, outcome="not_modified")
    return _save(store, classifier, result, record)


def _save(store: Store, classifier: Classifier, result: Fetch, record: PollRecord) -> PollRecord:
    decided = [(e, classify_entry(classifier, e)) for e in result.entries]
    try:
        saved = store.save_entries(decided, result.finished_at)
    except StoreError as e:
        log.error("storing failed source=%s error=%s", result.source.id, e)
        return replace(record, outcome="error", error=f"storing failed: {e}")
    fetched = result.fetched
    return replace(
        record,
        found=len(result.entries),
        new=saved.new,
        updated=saved.updated,
        etag=fetched.etag if fetched else None,
        last_modified=fetched.last_modified if fetched else None,
        validators_for=result.source.fingerprint(),
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
    classifier: Classifier,
    concurrency: int,
    article_limit: int,
    poll_deadline: float,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_done: Callable[[PollRecord], None] | None = None,
) -> list[PollRecord]:
    """Poll ``sources`` concurrently, each within ``poll_deadline`` seconds; return one record
    per source, in the order given."""
    sources = list(sources)
    records: dict[str, PollRecord] = {}
    if not sources:
        return []
    wanted = uncertain_items(classifier)

    def fetch(source: SourceConfig, state: SourceState) -> Fetch:
        deadline = time.monotonic() + poll_deadline
        return fetch_source(source, client, state, clock, article_limit, wanted, deadline)

    with ThreadPoolExecutor(max_workers=min(concurrency, len(sources))) as pool:
        futures = {pool.submit(fetch, s, store.source_state(s.id)): s for s in sources}
        for future in as_completed(futures):
            source = futures[future]
            try:
                record = store_fetch(store, classifier, future.result())
            except MonitorError as e:  # the poll could not even be recorded
                log.error("recording the poll failed source=%s error=%s", source.id, e)
                now = clock()
                record = PollRecord(source.id, now, now, "error", error=f"storing failed: {e}")
            records[source.id] = record
            if on_done:
                on_done(record)
    return [records[s.id] for s in sources]
