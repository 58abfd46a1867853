"""Run the health rules over every source; open and close incidents; queue the alerts."""

from __future__ import annotations

import logging
from datetime import datetime

from monitor.config import Config
from monitor.health import evaluate
from monitor.notify.email import alert_message_id
from monitor.store.health import HealthStore

log = logging.getLogger(__name__)

TITLES = {
    "failing": "is failing",
    "empty": "matches nothing (redesign?)",
    "silent": "has gone quiet",
}


def check(health: HealthStore, config: Config, now: datetime, mail_from: str) -> list[str]:
    """Return one line per incident opened or closed by this check."""
    configured = {s.id: s for s in config.sources if s.enabled}
    open_now = {(i.source_id, i.kind) for i in health.incidents()}
    changes = []
    for stats in health.stats(now.date()):
        if stats.id not in configured:
            continue
        for verdict in evaluate(
            stats,
            now,
            threshold=config.service.failure_threshold,
            silence_factor=config.service.silence_factor,
        ):
            if verdict.open == ((stats.id, verdict.kind) in open_now):
                continue
            event = "opened" if verdict.open else "recovered"
            subject = (
                f"[monitor] source {stats.id} {TITLES[verdict.kind]}"
                if verdict.open
                else f"[monitor] source {stats.id} recovered ({verdict.kind})"
            )
            body = (
                f"Source: {stats.id} ({stats.name}, {stats.kind})\n"
                f"URL: {configured[stats.id].url}\n"
                f"Incident: {verdict.kind} {event} at {now.isoformat(timespec='seconds')}\n"
                f"Detail: {verdict.detail}\n\n"
                "Check it with: monitor sources try " + stats.id + "\n"
            )
            message_id = alert_message_id(stats.id, verdict.kind, event, now, mail_from)
            if health.transition(
                stats.id,
                verdict.kind,
                verdict.open,
                verdict.detail,
                now,
                (subject, body, message_id),
            ):
                level = logging.ERROR if verdict.open else logging.INFO
                log.log(
                    level,
                    "health source=%s incident=%s event=%s detail=%s",
                    stats.id,
                    verdict.kind,
                    event,
                    verdict.detail,
                )
                changes.append(f"{stats.id} {verdict.kind} {event}")
    return changes
