"""``monitor run``: the unattended service.

Jobs poll sources (each claims its source in the database first, so several instances sharing a
database never poll one source twice), draft and send the weekly digest, check source health and
send what the outbox holds. SIGTERM/SIGINT stop new work, let running jobs finish within
``service.shutdown_timeout``, and exit 0; every write is a committed transaction, so nothing is
left half-written.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.interval import IntervalTrigger

from monitor import incidents, scheduler
from monitor.app import App
from monitor.digest.week import Week, current_week
from monitor.health import KINDS
from monitor.metrics import Metrics
from monitor.poll import fetch_source, store_fetch, uncertain_items
from monitor.schedule import first_fire_since, parse_schedule
from monitor.store.outbox import Delivery
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
        self.scheduler = scheduler.build(app.config.http.concurrency + 3, app.timezone)
        self.http: HttpEndpoint | None = None
        self.digest_trigger = parse_schedule(app.config.digest.schedule, app.timezone)
        app.deliverer.on_sent = self._sent

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, *, paused: bool = False) -> None:
        app, service = self.app, self.app.config.service
        now = app.clock()
        due = app.store.due_times()
        for source in app.select_sources():
            interval = source.interval or service.interval
            scheduler.add_source_job(
                self.scheduler,
                source.id,
                self.poll,
                interval=interval,
                jitter=service.jitter,
                start=scheduler.first_run(due.get(source.id), now, interval, service.jitter),
                misfire_grace=service.misfire_grace,
            )
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
        self.scheduler.start(paused=paused)
        self._start_http()
        log.info(
            "service started sources=%d instance=%s digest=%r tz=%s",
            len(app.select_sources()),
            app.settings.instance,
            app.config.digest.schedule,
            app.timezone,
        )

    def _start_http(self) -> None:
        port = self.app.settings.http_port
        port = self.app.config.service.http_port if port is None else port
        if port:
            app = application(self.healthz, self.metrics.registry)
            self.http = HttpEndpoint(self.app.config.service.http_host, port, app)
            self.http.start()

    def stop(self) -> bool:
        """Stop taking work; wait for running jobs up to the shutdown timeout. True if they
        all finished."""
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.pause()
        timeout = self.app.config.service.shutdown_timeout.total_seconds()
        with self._idle:
            finished = self._idle.wait_for(lambda: self._running == 0, timeout=timeout)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.http:
            self.http.stop()
        log.info("service stopped clean=%s", finished)
        return finished

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

    # -- jobs -----------------------------------------------------------------------------------

    def poll(self, source_id: str) -> None:
        with self._job() as go:
            if go:
                self._poll(source_id)

    def _poll(self, source_id: str) -> None:
        app, service = self.app, self.app.config.service
        source = app.config.source(source_id)
        interval = source.interval or service.interval
        claimed_at = app.clock()
        early = min(timedelta(seconds=30), interval / 20)
        if not app.store.claim_source(
            source_id, claimed_at, service.poll_lease, app.settings.instance, early
        ):
            log.debug("poll skipped source=%s (not due, or polled elsewhere)", source_id)
            return
        try:
            state = app.store.source_state(source_id)
            result = fetch_source(
                source,
                app.client,
                state,
                app.clock,
                service.article_fetch_limit,
                uncertain_items(app.classifier),
            )
            record = store_fetch(app.store, app.classifier, result)
            self.metrics.observe_poll(record)
        finally:
            app.store.release_source(source_id, claimed_at + interval)

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

    def _sent(self, delivery: Delivery) -> None:
        self.metrics.last_digest_sent.labels(delivery.profile).set(self.app.clock().timestamp())

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
        now = self.app.clock()
        database = self.app.store.ping()
        last_poll = max(
            (s.last_poll_at for s in self.app.store.statuses(now) if s.last_poll_at), default=None
        )
        age = (now - last_poll).total_seconds() if last_poll else None
        limit = self._max_poll_age().total_seconds()
        fresh = (age is not None and age <= limit) or (
            (now - self._started_at).total_seconds() <= limit
        )
        alive = self.scheduler.running and not self.stopping.is_set()
        details = {
            "scheduler": "running" if alive else "stopped",
            "database": "ok" if database else "unreachable",
            "last_poll_age_seconds": round(age) if age is not None else None,
            "max_poll_age_seconds": round(limit),
        }
        return bool(alive and database and fresh), details

    def _max_poll_age(self) -> timedelta:
        service = self.app.config.service
        if service.healthz_max_poll_age:
            return service.healthz_max_poll_age
        intervals = [s.interval or service.interval for s in self.app.select_sources()]
        return 2 * min(intervals, default=service.interval) + service.jitter


def serve(app: App, *, install_signals: bool = True) -> int:
    """Run until SIGTERM or SIGINT; return the exit status."""
    service = Service(app)
    stop = threading.Event()
    if install_signals:

        def handler(signum: int, _frame: Any) -> None:
            log.info("signal %s received: stopping", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
    service.start()
    while not stop.wait(1.0):
        pass
    service.stop()
    return 0
