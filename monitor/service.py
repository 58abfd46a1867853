"""``monitor run``: the unattended service.

Due times live in the database. A dispatcher thread looks for due sources every
``service.tick``, and at once whenever a poll ends; it claims each source (a compare-and-set
with a lease, so several instances sharing a database never poll one source twice, and a poll
whose process died is taken up again as soon as its lease expires) and hands it to a pool of
poll workers, never more than there are free workers. When a poll ends, its source's next due
time is set: the interval after a success; sooner after a failure (``service.failure_retry``,
doubling); after the server's ``Retry-After`` when it gave one. Writes that fail (a locked
database) are kept and retried on the next tick; nothing waits on them.

APScheduler runs the other jobs: draft and send the weekly digest, check source health, send
what the outbox holds. SIGHUP (or a change of the file) reloads ``sources.yaml``: an invalid file
is refused, the old configuration kept and the maintainers alerted. SIGTERM/SIGINT stop new
work, let running jobs finish for half of ``service.shutdown_timeout``, then cancel every request
under way; a job still stuck at the timeout does not hold the process: it exits anyway, and
since every write is a committed transaction and claims expire, nothing is lost.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.triggers.interval import IntervalTrigger

from monitor import incidents, scheduler
from monitor.app import App
from monitor.config import SourceConfig
from monitor.digest.week import Week, current_week
from monitor.errors import StoreError
from monitor.health import KINDS
from monitor.metrics import Metrics
from monitor.parsing import InlineParser
from monitor.poll import Fetch, fetch_source, log_poll, save_fetch
from monitor.reload import ConfigWatcher, reload_config
from monitor.schedule import first_fire_since, parse_schedule
from monitor.store.outbox import Delivery
from monitor.store.sources import PollRecord
from monitor.web import HttpEndpoint, application

log = logging.getLogger(__name__)


class Service:
    def __init__(self, app: App) -> None:
        self.app = app
        self.metrics = Metrics()
        self.stopping = threading.Event()
        self._running = 0
        self._idle = threading.Condition()
        self._started_at = app.clock()
        self.scheduler = scheduler.build(4, app.timezone)
        self.workers = app.config.http.concurrency
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="poll")
        self._inflight: set[str] = set()
        self._retries: deque[tuple[str, Callable[[], Any]]] = deque()
        self._wakeup = threading.Event()  # a poll ended: a worker is free
        self._dispatcher: threading.Thread | None = None
        self._lock = threading.Lock()
        self.http: HttpEndpoint | None = None
        self.digest_trigger = parse_schedule(app.config.digest.schedule, app.timezone)
        self.config_error: str | None = None
        app.deliverer.on_sent = self._sent

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, *, paused: bool = False) -> None:
        app, service = self.app, self.app.config.service
        now = app.clock()
        stale = app.store.release_claims(app.settings.instance)
        if stale:
            log.info("claims left by this instance released sources=%s", ",".join(stale))
        scheduler.add_periodic(
            self.scheduler,
            "digest",
            self.digest,
            self.digest_trigger,
            misfire_grace=timedelta(days=1),
            next_run_time=now + timedelta(seconds=2) if self._digest_overdue(now) else None,
        )
        scheduler.add_periodic(
            self.scheduler,
            "health",
            self.check_health,
            IntervalTrigger(seconds=service.health_interval.total_seconds()),
            misfire_grace=service.health_interval,
            next_run_time=now + timedelta(seconds=5),
        )
        scheduler.add_periodic(
            self.scheduler,
            "outbox",
            self.send_outbox,
            IntervalTrigger(seconds=service.outbox_interval.total_seconds()),
            misfire_grace=service.outbox_interval,
            next_run_time=now + timedelta(seconds=1),
        )
        scheduler.add_periodic(  # news alerts: also at once after a poll stored new items
            self.scheduler,
            "flash",
            self.send_flashes,
            IntervalTrigger(seconds=service.outbox_interval.total_seconds()),
            misfire_grace=service.outbox_interval,
            next_run_time=datetime.now(UTC) + timedelta(seconds=1),
            max_instances=2,
        )
        self.scheduler.start(paused=paused)
        if not paused:
            self._dispatcher = threading.Thread(
                target=self._dispatch_loop, name="monitor-dispatch", daemon=True
            )
            self._dispatcher.start()
        self._start_http()
        log.info(
            "service started sources=%d instance=%s digest=%r tz=%s",
            len(app.select_sources()),
            app.settings.instance,
            app.config.digest.schedule,
            app.timezone,
        )

    def _start_http(self) -> None:
        settings, service = self.app.settings, self.app.config.service
        port = service.http_port if settings.http_port is None else settings.http_port
        if port:
            from monitor.desk import make_desk

            app = application(self.healthz, self.metrics.registry, make_desk(self.app))
            host = settings.http_host or service.http_host
            self.http = HttpEndpoint(host, port, app, service)
            self.http.start()

    def stop(self) -> bool:
        """Stop taking work; let running jobs finish for half the shutdown timeout, then cancel
        the requests under way and wait for the rest of it. True if every job finished."""
        timeout = self.app.config.service.shutdown_timeout.total_seconds()
        begun = time.monotonic()
        self.stopping.set()
        self._wakeup.set()
        if self.scheduler.running:
            self.scheduler.pause()
        finished = self._wait_idle(timeout / 2)
        if not finished and "client" in self.app.__dict__:
            cancelled = self.app.client.cancel_all()
            log.info("stopping: cancelled requests=%d", cancelled)
            finished = self._wait_idle(max(timeout - (time.monotonic() - begun) - 1, 0.5))
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.pool.shutdown(wait=False, cancel_futures=True)
        if finished:
            self._flush_retries()
            self._guard("release claims", lambda: self.app.store.release_claims(self.instance))
        if self.http:
            self.http.stop()
        log.info("service stopped clean=%s", finished)
        return finished

    def _wait_idle(self, seconds: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout=seconds)

    @contextmanager
    def _job(self) -> Iterator[bool]:
        """Count a running job; yields False when the service is stopping (skip the work)."""
        with self._idle:
            if self.stopping.is_set():
                yield False
                return
            self._running += 1
        try:
            yield True
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    @property
    def instance(self) -> str:
        return self.app.settings.instance

    # -- polling --------------------------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        """Start due polls every tick, and at once whenever a poll ends (a worker is free)."""
        while not self.stopping.is_set():
            try:
                self.dispatch_due()
            except Exception:  # a bug: log it and keep dispatching
                log.exception("dispatch failed")
            self._wakeup.wait(self.app.config.service.tick.total_seconds())
            self._wakeup.clear()

    def dispatch_due(self) -> list[str]:
        """Claim due sources, as many as there are free workers, and start their polls;
        return their ids."""
        with self._job() as go:
            if not go:
                return []
            self._flush_retries()
            app, service = self.app, self.app.config.service
            with self._lock:
                free = self.workers - len(self._inflight)
                candidates = [s.id for s in app.select_sources() if s.id not in self._inflight]
            now = app.clock()
            try:
                due = app.store.due_sources(candidates, now, free)
                started = []
                for source_id in due:
                    if app.store.claim_source(source_id, now, service.poll_lease, self.instance):
                        self._submit(app.config.source(source_id), now)
                        started.append(source_id)
            except StoreError as e:
                log.error("dispatch failed (database): %s", e)
                return []
            return started

    def _submit(self, source: SourceConfig, claimed_at: datetime) -> None:
        with self._lock:
            self._inflight.add(source.id)
        self.pool.submit(self._poll, source, claimed_at)

    def _poll(self, source: SourceConfig, claimed_at: datetime) -> None:
        next_due = claimed_at  # unless the poll ran: due again at once
        try:
            with self._job() as go:
                if go:
                    next_due = self._poll_claimed(source, claimed_at)
        except Exception:  # a bug: log it, keep the worker, retry the source later
            log.exception("poll crashed source=%s", source.id)
            next_due = self.app.clock() + self.app.config.service.failure_retry
        finally:
            self._release(source.id, next_due)
            with self._lock:
                self._inflight.discard(source.id)
            self._wakeup.set()

    def _poll_claimed(self, source: SourceConfig, claimed_at: datetime) -> datetime:
        app, service = self.app, self.app.config.service
        state = app.store.source_state(source.id)
        result = fetch_source(
            source,
            app.client,
            state,
            app.clock,
            service.article_fetch_limit,
            InlineParser(app.classifier),
            deadline=time.monotonic() + service.poll_deadline.total_seconds(),
            known=partial(app.store.known_urls, source.id),
        )
        if result.cancelled:
            log.info("poll cancelled source=%s (stopping)", source.id)
            return claimed_at
        record = self._store(result)
        self.metrics.observe_poll(record)
        if record.new and app.store.flash_matcher is not None:
            self._flash_soon()
        return self._next_due(source, result, record, claimed_at)

    def _store(self, result: Fetch) -> PollRecord:
        """Save the items and record the poll; a poll that cannot be recorded (a locked
        database) is kept and recorded on a later tick."""
        app = self.app
        record = save_fetch(app.store, result)
        try:
            record = replace(record, consecutive_failures=app.store.record_poll(record))
        except StoreError as e:
            log.error("recording the poll failed source=%s error=%s", record.source_id, e)
            kept = record
            self._later(f"record poll {record.source_id}", lambda: app.store.record_poll(kept))
            record = replace(record, consecutive_failures=int(record.outcome == "error"))
        log_poll(record)
        return record

    def _next_due(
        self, source: SourceConfig, result: Fetch, record: PollRecord, claimed_at: datetime
    ) -> datetime:
        service, now = self.app.config.service, self.app.clock()
        interval = source.interval or service.interval
        if record.outcome != "error":
            jitter = random.uniform(0, service.jitter.total_seconds())
            return max(claimed_at + interval, now) + timedelta(seconds=jitter)
        if result.retry_after is not None:
            wait = min(result.retry_after, self.app.config.http.retry_after_max)
            log.info("source=%s asked to wait %.0f s (Retry-After)", source.id, wait)
            return now + max(timedelta(seconds=wait), service.tick)
        failures = max(record.consecutive_failures, 1)
        return now + min(interval, service.failure_retry * 2 ** min(failures - 1, 20))

    def _release(self, source_id: str, next_due: datetime) -> None:
        store, owner = self.app.store, self.instance
        self._guard(
            f"release {source_id}",
            lambda: store.release_source(source_id, next_due, owner),
            retry=True,
        )

    # -- writes that failed, retried on the next tick --------------------------------------------

    def _guard(self, what: str, write: Callable[[], Any], *, retry: bool = False) -> bool:
        try:
            write()
        except StoreError as e:
            log.error("database write failed (%s): %s", what, e)
            if retry:
                self._later(what, write)
            return False
        return True

    def _later(self, what: str, write: Callable[[], Any]) -> None:
        with self._lock:
            self._retries.append((what, write))

    def _flush_retries(self) -> None:
        with self._lock:
            pending = list(self._retries)
            self._retries.clear()
        for index, (what, write) in enumerate(pending):
            try:
                write()
                log.info("database write retried and done (%s)", what)
            except StoreError as e:
                log.warning("database write still failing (%s): %s", what, e)
                with self._lock:
                    self._retries.extendleft(reversed(pending[index:]))
                return

    # -- other jobs -----------------------------------------------------------------------------

    def digest(self) -> None:
        with self._job() as go:
            if go:
                week = current_week(self.app.clock(), self.app.timezone).previous()
                for outcome in self.app.deliverer.digest(week, send=True):
                    log.info(
                        "digest week=%s profile=%s items=%d email=%s",
                        week.label,
                        outcome.profile,
                        outcome.drafted.selection.count,
                        outcome.note,
                    )

    def check_health(self) -> None:
        with self._job() as go:
            if go:
                app = self.app
                incidents.check(app.health, app.config, app.clock(), app.settings.smtp.mail_from)
                for kind in KINDS:
                    count = sum(i.kind == kind for i in app.health.incidents())
                    self.metrics.open_incidents.labels(kind).set(count)
                app.deliverer.send_alerts()

    def send_outbox(self) -> None:
        with self._job() as go:
            if go:
                for _, status in self.app.deliverer.send_due():
                    self.metrics.deliveries.labels(status).inc()
                self.app.deliverer.send_alerts()

    def send_flashes(self) -> None:
        """Send the news alerts that are due (queued by the polls that stored their items)."""
        with self._job() as go:
            if go:
                for _, status in self.app.flasher.send_due():
                    self.metrics.flashes.labels(status).inc()

    def _flash_soon(self) -> None:
        """A poll stored new items: run the news alert job now rather than at its next round
        (in wall-clock time, which the scheduler runs on). Two runs at once are safe: each
        alert is claimed before it is sent."""
        with suppress(JobLookupError):  # stopping: the next start sends what is pending
            self.scheduler.modify_job("flash", next_run_time=datetime.now(UTC))

    def _sent(self, delivery: Delivery) -> None:
        self.metrics.last_digest_sent.labels(delivery.profile).set(self.app.clock().timestamp())

    # -- configuration --------------------------------------------------------------------------

    def reload(self) -> bool:
        """Load sources.yaml again; apply it when valid, else keep the old one and alert."""
        with self._job() as go:
            if not go:
                return False
            outcome = reload_config(self.app, self.app.config.path)
            self.metrics.config_reloads.labels("ok" if outcome.ok else "invalid").inc()
            self.config_error = outcome.error
            if outcome.ok and outcome.digest_schedule_changed:
                self.digest_trigger = parse_schedule(
                    self.app.config.digest.schedule, self.app.timezone
                )
                self.scheduler.reschedule_job("digest", trigger=self.digest_trigger)
            return outcome.ok

    # -- state ----------------------------------------------------------------------------------

    def _digest_overdue(self, now: datetime) -> bool:
        """Whether this week's digest time has passed and last week's digest is incomplete
        (the service was down at the time): then it runs at once."""
        tz = ZoneInfo(self.app.timezone)
        week = current_week(now, self.app.timezone)
        monday = datetime.combine(week.first, datetime.min.time(), tzinfo=tz)
        fire = first_fire_since(self.digest_trigger, monday)
        if fire is None or fire > now:
            return False
        return not self._complete(week.previous())

    def _complete(self, week: Week) -> bool:
        deliverer = self.app.deliverer
        for name in self.app.config.digest.profiles:
            recipients = deliverer.recipients(name)
            if not recipients or not deliverer.smtp_ready:
                continue
            sent = {
                d.recipient
                for d in self.app.outbox.deliveries(week.label, name)
                if d.status == "sent"
            }
            if set(recipients) - sent:
                return False
        return True

    def healthz(self) -> tuple[bool, dict[str, Any]]:
        """Healthy means nothing an operator must act on: the scheduler runs, the database
        answers, and some source was read successfully lately (all sources failing at once
        means the network, DNS or a proxy is broken, not the sources)."""
        now = self.app.clock()
        alive = self.scheduler.running and not self.stopping.is_set()
        limit = self._max_poll_age().total_seconds()
        details: dict[str, Any] = {
            "scheduler": "running" if alive else "stopped",
            "database": "ok",
            "max_poll_age_seconds": round(limit),
        }
        if self.config_error:
            details["config"] = f"invalid, the previous one is in use: {self.config_error}"
        try:
            statuses = self.app.store.statuses(now)
        except StoreError:
            details["database"] = "unreachable"
            return False, details
        enabled = {s.id for s in self.app.select_sources()}
        statuses = [s for s in statuses if s.id in enabled]
        last_poll = max((s.last_poll_at for s in statuses if s.last_poll_at), default=None)
        last_ok = max((s.last_success_at for s in statuses if s.last_success_at), default=None)
        failing = sum(s.consecutive_failures > 0 for s in statuses)
        details |= {
            "last_poll_age_seconds": _age(now, last_poll),
            "last_success_age_seconds": _age(now, last_ok),
            "sources": len(statuses),
            "sources_failing": failing,
        }
        young = (now - self._started_at).total_seconds() <= limit
        recent_ok = last_ok is not None and (now - last_ok).total_seconds() <= limit
        if not (recent_ok or young or not statuses):
            details["problem"] = "no source was read successfully lately"
        return bool(alive and (recent_ok or young or not statuses)), details

    def _max_poll_age(self) -> timedelta:
        service = self.app.config.service
        if service.healthz_max_poll_age:
            return service.healthz_max_poll_age
        intervals = [s.interval or service.interval for s in self.app.select_sources()]
        return 2 * min(intervals, default=service.interval) + service.jitter


def _age(now: datetime, then: datetime | None) -> int | None:
    return round((now - then).total_seconds()) if then else None


def serve(app: App, *, install_signals: bool = True) -> int:
    """Run until SIGTERM or SIGINT; reload the configuration on SIGHUP or when it changes.
    Return the exit status."""
    service = Service(app)
    stop, reload = threading.Event(), threading.Event()
    if install_signals:

        def on_stop(signum: int, _frame: Any) -> None:
            log.info("signal %s received: stopping", signal.Signals(signum).name)
            stop.set()

        def on_hup(_signum: int, _frame: Any) -> None:
            log.info("signal SIGHUP received: reloading the configuration")
            reload.set()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, on_hup)
    service.start()
    watcher = ConfigWatcher(app.config.path)
    while not stop.wait(1.0):
        changed = app.config.service.reload_on_change and watcher.changed()
        if reload.is_set() or changed:
            reload.clear()
            service.reload()
    if not service.stop():
        log.error("jobs still running at the shutdown timeout: exiting anyway (claims expire)")
        logging.shutdown()
        os._exit(0)
    return 0
