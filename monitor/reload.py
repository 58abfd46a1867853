"""Reloading ``sources.yaml`` in a running service: validate first, apply only a valid file.

An invalid file keeps the configuration in use and opens a ``config`` incident (one alert to
the maintainers, like a failing source); the next valid load closes it (one recovery notice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.config import load_config
from monitor.errors import ConfigError, StoreError
from monitor.notify.email import alert_message_id

if TYPE_CHECKING:
    from monitor.app import App

log = logging.getLogger(__name__)

CONFIG_INCIDENT = ("config", "invalid")  # (source id, kind) of the incident
MAX_PROBLEMS_SHOWN = 10


@dataclass(frozen=True)
class ReloadOutcome:
    ok: bool
    changed: bool = False
    error: str | None = None
    digest_schedule_changed: bool = False


class ConfigWatcher:
    """Tells when a file has changed since it was last asked (modification time and size)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._stamp = self._read()

    def _read(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def changed(self) -> bool:
        stamp = self._read()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return True


def reload_config(app: App, path: str | Path) -> ReloadOutcome:
    """Load ``path``; apply it to ``app`` when valid; otherwise keep the old configuration,
    log the problems and open the config incident."""
    try:
        config = load_config(Path(path))
    except ConfigError as e:
        shown = [str(p) for p in e.problems[:MAX_PROBLEMS_SHOWN]]
        more = len(e.problems) - len(shown)
        detail = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
        log.error("configuration reload refused, the previous one stays in use: %s", detail)
        _incident(app, True, detail)
        return ReloadOutcome(False, error=detail)
    changed = config != app.config
    schedule_changed = config.digest.schedule != app.config.digest.schedule
    if changed:
        app.reconfigure(config)
        log.info("configuration reloaded sources=%d", len(config.sources))
    _incident(app, False, "the configuration is valid again")
    return ReloadOutcome(True, changed=changed, digest_schedule_changed=schedule_changed)


def _incident(app: App, open_: bool, detail: str) -> None:
    """Open or close the config incident; the alert goes out with the next outbox run."""
    source_id, kind = CONFIG_INCIDENT
    now = app.clock()
    event = "opened" if open_ else "recovered"
    path = app.config.path
    subject = (
        f"[monitor] {path} is invalid: the previous configuration stays in use"
        if open_
        else f"[monitor] {path} is valid again"
    )
    body = (
        f"File: {path}\nIncident: invalid configuration {event} at "
        f"{now.isoformat(timespec='seconds')}\nDetail: {detail}\n\n"
        "Check it with: monitor sources check\n"
    )
    message_id = alert_message_id(source_id, kind, event, now, app.settings.smtp.mail_from)
    try:
        app.health.transition(source_id, kind, open_, detail, now, (subject, body, message_id))
    except StoreError:  # the database is down: the log line above is the alert
        log.exception("could not record the configuration incident")
