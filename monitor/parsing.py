"""The CPU stage of a poll: a response body → entries (parse, normalise) → decisions (classify).

``InlineParser`` runs it in the calling thread. ``PooledParser`` runs it in worker processes,
one per core, for rounds that poll many sources at once: feedparser, lxml and the classifier
are Python code that one core cannot run faster, and the GIL keeps threads on one core.
Workers are started with ``forkserver`` (never forked from a process that runs threads), each
loading the configuration and the classifier once.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from monitor.classify import Classifier, Doc
from monitor.config import SourceConfig
from monitor.items import Classification, Entry
from monitor.normalise import normalise
from monitor.sources import registry
from monitor.stories.entries import doc_of
from monitor.stories.features import Profile
from monitor.stories.glossary import Glossary
from monitor.stories.match import story_profile


@dataclass(frozen=True)
class Parsed:
    entries: list[Entry]
    decisions: list[Classification]
    warnings: list[str]
    features: list[Profile | None] | None = None  # story features, when a worker made them


class Parser(Protocol):
    def parse(
        self,
        source: SourceConfig,
        content: bytes,
        url: str,
        encoding: str | None,
        now: datetime,
    ) -> Parsed: ...

    def classify(self, entries: list[Entry]) -> list[Classification]: ...

    def close(self) -> None: ...


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


def parse_body(
    classifier: Classifier,
    source: SourceConfig,
    content: bytes,
    url: str,
    encoding: str | None,
    now: datetime,
    glossary: Glossary | None = None,
) -> Parsed:
    """Parse with the source's kind (ParseError on bad input), normalise, keep each canonical
    URL once, classify; with a ``glossary``, also compute each entry's story features."""
    result = registry.get(source.kind).parse(content, url, encoding, source)
    entries = unique([normalise(raw, source, now) for raw in result.items])
    decisions = [classify_entry(classifier, e) for e in entries]
    features: list[Profile | None] | None = None
    if glossary is not None:
        features = [story_profile(doc_of(0, e), glossary) for e in entries]
    return Parsed(entries, decisions, list(result.warnings), features)


def unique(entries: list[Entry]) -> list[Entry]:
    seen: set[str] = set()
    out = []
    for entry in entries:
        if entry.canonical_url not in seen:
            seen.add(entry.canonical_url)
            out.append(entry)
    return out


class InlineParser:
    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier

    def parse(
        self, source: SourceConfig, content: bytes, url: str, encoding: str | None, now: datetime
    ) -> Parsed:
        return parse_body(self.classifier, source, content, url, encoding, now)

    def classify(self, entries: list[Entry]) -> list[Classification]:
        return [classify_entry(self.classifier, e) for e in entries]

    def close(self) -> None:
        pass


# -- worker processes ---------------------------------------------------------------------------

_WORKER: tuple[Classifier, Glossary] | None = None


def _start_worker(config_path: str, data_dir: str) -> None:
    global _WORKER
    from monitor.classify.loading import make_classifier
    from monitor.config import load_config

    config = load_config(Path(config_path))
    _WORKER = (make_classifier(config, Path(data_dir)), Glossary.build(config.publishers))


def _parse_in_worker(
    source: SourceConfig, content: bytes, url: str, encoding: str | None, now: datetime
) -> Parsed:
    assert _WORKER is not None
    classifier, glossary = _WORKER
    return parse_body(classifier, source, content, url, encoding, now, glossary)


def _classify_in_worker(entries: list[Entry]) -> list[Classification]:
    assert _WORKER is not None
    return [classify_entry(_WORKER[0], e) for e in entries]


class PooledParser:
    """The CPU stage in ``processes`` worker processes (default: one per core)."""

    def __init__(self, config_path: str, data_dir: Path, processes: int | None = None) -> None:
        self.processes = processes or os.cpu_count() or 1
        self._pool = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_start_worker,
            initargs=(config_path, str(data_dir)),
        )

    def parse(
        self, source: SourceConfig, content: bytes, url: str, encoding: str | None, now: datetime
    ) -> Parsed:
        return self._pool.submit(_parse_in_worker, source, content, url, encoding, now).result()

    def classify(self, entries: list[Entry]) -> list[Classification]:
        return self._pool.submit(_classify_in_worker, entries).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
