"""Wiring: settings + configuration + database + HTTP client + classifier → one ``App``.

Parts are built on first use, so ``monitor classify`` or ``monitor sources check`` never open
the database, and nothing connects anywhere at import time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.classify import Classifier
from monitor.classify.loading import make_classifier
from monitor.config import Config, SourceConfig, load_config
from monitor.digest.week import Week, last_complete_week, parse_week
from monitor.settings import Settings
from monitor.store import Store
from monitor.store.health import HealthStore
from monitor.store.outbox import Outbox
from monitor.store.sources import PollRecord, SourceState
from monitor.store.stories import StoryMemory

if TYPE_CHECKING:
    from monitor.classify.dataset import Example
    from monitor.deliver import Deliverer
    from monitor.digest.build import Drafted
    from monitor.flash.rules import FlashMatcher
    from monitor.flash.send import Flasher
    from monitor.http import HttpClient
    from monitor.parsing import Parser
    from monitor.poll import Fetch


POOL_MIN_SOURCES = 100  # rounds of fewer sources parse in this process (a pool costs a start)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Trained:
    examples: list[Example]
    feedback: int  # of the examples, from the editors' verdicts
    path: Path
    seconds: float
    vocabulary: int
    reclassified: tuple[int, int] | None  # (items classified again, items changed)


@dataclass
class App:
    settings: Settings
    config: Config
    clock: Callable[[], datetime] = field(default=utcnow)

    @classmethod
    def from_settings(cls, settings: Settings, config_path: Path | None = None) -> App:
        return cls(settings, load_config(config_path or settings.config_path))

    @cached_property
    def store(self) -> Store:
        store = Store(self.settings.db_url, publishers=self.config.publishers)
        store.sync_sources(self.config.sources, self.clock())
        store.flash_matcher = self._flash_matcher(self.config)
        return store

    def _flash_matcher(self, config: Config) -> FlashMatcher | None:
        """The profiles' news alert rules, which the store applies to the items it inserts."""
        from monitor.flash.rules import FlashMatcher
        from monitor.notify.email import domain_of

        return FlashMatcher.of(config, domain_of(self.settings.smtp.mail_from))

    @cached_property
    def client(self) -> HttpClient:
        from monitor.http import HttpClient

        return HttpClient(self.config.http, allow_private=self.settings.allow_private_hosts)

    @cached_property
    def classifier(self) -> Classifier:
        return make_classifier(self.config, self.settings.data_dir)

    @cached_property
    def outbox(self) -> Outbox:
        service = self.config.service
        return Outbox(
            self.store, max_attempts=service.delivery_attempts, backoff=service.delivery_backoff
        )

    @cached_property
    def health(self) -> HealthStore:
        return HealthStore(self.store)

    @cached_property
    def deliverer(self) -> Deliverer:
        from monitor.deliver import Deliverer

        return Deliverer(self)

    @cached_property
    def flasher(self) -> Flasher:
        from monitor.flash.send import Flasher

        return Flasher(self)

    def reconfigure(self, config: Config) -> None:
        """Use a new, valid configuration from now on (``monitor run`` reloads on SIGHUP):
        sources are synced, the HTTP settings and the classifier follow."""
        old, self.config = self.config, config
        if "store" in self.__dict__:
            self.store.sync_sources(config.sources, self.clock())
            self.store.flash_matcher = self._flash_matcher(config)
        if "store" in self.__dict__ and config.publishers != old.publishers:
            self.store.stories = StoryMemory(config.publishers)  # reloaded on next use
        if "client" in self.__dict__ and config.http != old.http:
            self.client.reconfigure(config.http)
        self.__dict__.pop("classifier", None)  # topics, rules or publishers may have changed

    @property
    def timezone(self) -> str:
        return self.settings.timezone or self.config.digest.timezone

    def close(self) -> None:
        if "client" in self.__dict__:
            self.client.close()
        if "store" in self.__dict__:
            self.store.close()

    # -- use cases ------------------------------------------------------------------------------

    def select_sources(self, ids: Iterable[str] = ()) -> list[SourceConfig]:
        """The enabled sources, or exactly those named (KeyError for an unknown id)."""
        wanted = list(ids)
        if wanted:
            return [self.config.source(i) for i in wanted]
        return [s for s in self.config.sources if s.enabled]

    def poll(
        self, ids: Iterable[str] = (), on_done: Callable[[PollRecord], None] | None = None
    ) -> list[PollRecord]:
        from monitor.poll import poll_sources

        sources = self.select_sources(ids)
        parser = self.parser(len(sources))
        try:
            return poll_sources(
                sources,
                store=self.store,
                client=self.client,
                parser=parser,
                concurrency=self.config.http.concurrency,
                article_limit=self.config.service.article_fetch_limit,
                poll_deadline=self.config.service.poll_deadline.total_seconds(),
                clock=self.clock,
                on_done=on_done,
            )
        finally:
            parser.close()

    def parser(self, sources: int) -> Parser:
        """Parse and classify in this process, or, for a round of many sources on a machine
        with several cores, in a process per core."""
        from monitor.parsing import InlineParser, PooledParser

        cores = os.cpu_count() or 1
        if sources < POOL_MIN_SOURCES or cores < 2 or not self.config.path:
            return InlineParser(self.classifier)
        return PooledParser(self.config.path, self.settings.data_dir, cores)

    def try_source(self, source_id: str) -> Fetch:
        """Fetch and parse one source as if for the first time; store nothing."""
        from monitor.parsing import InlineParser
        from monitor.poll import fetch_source

        source = self.config.source(source_id)
        return fetch_source(
            source,
            self.client,
            SourceState(),
            self.clock,
            self.config.service.article_fetch_limit,
            InlineParser(self.classifier),
            deadline=time.monotonic() + self.config.service.poll_deadline.total_seconds(),
        )

    def train(self, data_file: Path | None = None) -> Trained:
        """Retrain the learned layer on the training set (``data_file`` or the shipped one)
        plus the editors' verdicts; then classify the items of the unsent weeks again."""
        from monitor.classify.dataset import SHIPPED, load_examples, merge_feedback
        from monitor.classify.train import fit

        examples = load_examples(data_file or SHIPPED, "file" if data_file else "shipped")
        feedback = self.store.feedback_examples({s.id: s.section for s in self.config.sources})
        examples = merge_feedback(examples, feedback)
        model = fit(examples, self.config)
        target = self.settings.data_dir / "model.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        model.dump(target)
        again = self.reclassify_unsent() if self.config.classifier.model else None
        return Trained(
            examples,
            len(feedback),
            target,
            model.meta["seconds"],
            model.meta["vocabulary"],
            again,
        )

    def unsent_weeks(self, back: int = 8) -> list[Week]:
        """This week and the ``back`` weeks before it whose digest has not been sent to
        anyone (any profile): the weeks a correction or a new model may still change."""
        from monitor.digest.week import current_week

        week = current_week(self.clock(), self.timezone)
        found = []
        for _ in range(back + 1):
            if not any(d.status == "sent" for d in self.outbox.deliveries(week.label)):
                found.append(week)
            week = week.previous()
        return found

    def reclassify_unsent(self, back: int = 8) -> tuple[int, int]:
        """Classify the stored items of every unsent week again (after training: the new
        model decides them; a sent digest never changes behind the editors' backs). Returns
        (items classified, items whose decision changed)."""
        from monitor.classify import Doc

        self.__dict__.pop("classifier", None)  # the model just trained
        hints = {s.id: s.section for s in self.config.sources}
        seen: set[int] = set()
        decisions = []
        for week in self.unsent_weeks(back):
            for item in self.store.items_in_period(week.first, week.last, week.start, week.end):
                if item.id in seen:
                    continue
                seen.add(item.id)
                hint = hints.get(item.mentions[0].source_id) if item.mentions else None
                doc = Doc(
                    title=item.title,
                    summary=item.summary,
                    text=item.text or "",
                    url=item.url,
                    publisher=item.publisher,
                    section_hint=hint,
                )
                decisions.append((item.id, self.classifier.classify(doc)))
        return len(decisions), self.store.update_decisions(decisions)

    def week(self, label: str | None = None) -> Week:
        if label:
            return parse_week(label, self.timezone)
        return last_complete_week(self.clock(), self.timezone)

    def draft(self, week: Week, profile: str | None = None, *, word: bool = False) -> Drafted:
        name = profile or self.config.digest.default_profile
        if name not in self.config.digest.profiles:
            known = ", ".join(self.config.digest.profiles)
            raise KeyError(f"no profile {name!r} (defined: {known})")
        from monitor.digest.build import draft

        return draft(
            self.store,
            self.config,
            week,
            name,
            self.settings.digest_dir,
            self.clock(),
            word=word,
            settings=self.settings,
        )
