"""Prometheus metrics of one ``monitor run`` process (its own registry, not the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from monitor.store.sources import PollRecord


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.polls = Counter(
            "monitor_polls",
            "Polls by source and outcome",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.failures = Counter(
            "monitor_poll_failures", "Failed polls by source", ["source"], registry=self.registry
        )
        self.new_items = Counter(
            "monitor_new_items", "New items by source", ["source"], registry=self.registry
        )
        self.last_poll = Gauge(
            "monitor_last_poll_timestamp_seconds",
            "When the last poll finished",
            registry=self.registry,
        )
        self.last_digest_sent = Gauge(
            "monitor_last_digest_sent_timestamp_seconds",
            "When a digest was last sent",
            ["profile"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "monitor_deliveries",
            "Digest deliveries by resulting status",
            ["status"],
            registry=self.registry,
        )
        self.flashes = Counter(
            "monitor_news_alerts",
            "News alerts (快讯) by resulting status",
            ["status"],
            registry=self.registry,
        )
        self.open_incidents = Gauge(
            "monitor_open_incidents",
            "Open source health incidents by kind",
            ["kind"],
            registry=self.registry,
        )

        self.config_reloads = Counter(
            "monitor_config_reloads",
            "Configuration reloads by outcome (ok, invalid)",
            ["outcome"],
            registry=self.registry,
        )

    def observe_poll(self, record: PollRecord) -> None:
        self.polls.labels(record.source_id, record.outcome).inc()
        if record.outcome == "error":
            self.failures.labels(record.source_id).inc()
        if record.new:
            self.new_items.labels(record.source_id).inc(record.new)
        self.last_poll.set(record.finished_at.timestamp())
