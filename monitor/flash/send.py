"""Send the news alerts the database holds, exactly once (see ``monitor.store.flashes``).

Each due alert is claimed (so two instances never both send it), drafted from the item as it
is stored now (the profile's layout; a language model's draft when one is configured, else the
offline skeleton), sent to the profile's alert recipients in one message, and finished: sent,
or retried with back-off (``service.delivery_backoff``, doubling), or failed after
``service.delivery_attempts``. An alert of a profile without recipients (or without its rule
any more) is skipped and logged; without an SMTP server alerts wait, like digests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from monitor.config import AlertConfig
from monitor.digest.select import item_day
from monitor.digest.week import week_of
from monitor.drafting.zh import EntryInput, zh_entries
from monitor.errors import DeliveryError
from monitor.flash.message import FlashView, flash_message, flash_view
from monitor.notify.smtp import SmtpSender
from monitor.store.flash_outbox import FlashOutbox
from monitor.store.flashes import Flash

if TYPE_CHECKING:
    from email.message import EmailMessage

    from monitor.app import App

log = logging.getLogger(__name__)


class Flasher:
    def __init__(self, app: App, sender: Callable[[], SmtpSender] | None = None) -> None:
        self.app = app
        service = app.config.service
        self.outbox = FlashOutbox(
            app.store, max_attempts=service.delivery_attempts, backoff=service.delivery_backoff
        )
        self._sender_factory = sender or (lambda: SmtpSender(app.settings.smtp))

    @property
    def smtp_ready(self) -> bool:
        return bool(self.app.settings.smtp.host)

    def rule(self, profile: str) -> AlertConfig | None:
        found = self.app.config.digest.profiles.get(profile)
        return found.alert if found is not None else None

    def recipients(self, profile: str) -> list[str]:
        rule = self.rule(profile)
        return list(rule.recipients) if rule is not None and rule.enabled else []

    def send_due(self) -> list[tuple[Flash, str]]:
        """Send every due alert this instance can claim; return (alert, new status)."""
        results = []
        for flash in self.outbox.due_flashes(self.app.clock()):
            recipients = self.recipients(flash.profile)
            if recipients and not self.smtp_ready:
                continue  # waits for an SMTP server, like a digest
            if not self.outbox.claim_flash(flash.id, self.app.clock(), self._lease):
                continue  # another instance has it
            if not recipients:
                results.append((flash, self._skip(flash)))
                continue
            results.append((flash, self._send(flash, recipients)))
        return results

    @property
    def _lease(self) -> timedelta:
        return self.app.config.service.delivery_lease

    def _skip(self, flash: Flash) -> str:
        where = f"digest.profiles.{flash.profile}.alert"
        reason = f"no recipients ({where}.recipients)" if self.rule(flash.profile) else "no rule"
        log.warning(
            "news alert not mailed profile=%s story=%s item=%s: %s",
            flash.profile,
            flash.story_id,
            flash.item_id,
            reason,
        )
        return self.outbox.skip_flash(flash.id, self.app.clock(), reason)

    def _send(self, flash: Flash, recipients: list[str]) -> str:
        error = None
        try:
            message = self.message(flash, recipients)
            self._sender_factory().send(message, recipients)
        except DeliveryError as e:
            error = str(e)
        except Exception as e:  # never let one alert stop the others
            log.exception("news alert failed id=%s", flash.id)
            error = f"unexpected error: {e!r}"
        status = self.outbox.finish_flash(flash.id, self.app.clock(), error)
        log.log(
            logging.INFO if error is None else logging.WARNING,
            "news alert profile=%s story=%s item=%s to=%d status=%s error=%s",
            flash.profile,
            flash.story_id,
            flash.item_id,
            len(recipients),
            status,
            error,
        )
        return status

    def view(self, flash: Flash) -> FlashView:
        """The alert's entry, drafted from the item as stored now."""
        app = self.app
        item = app.store.item(flash.item_id)
        if item is None:
            raise DeliveryError(f"item #{flash.item_id} is no longer stored")
        day, by_first_seen = item_day(item, app.timezone)
        layout = app.config.digest.profiles[flash.profile].layout
        entry = EntryInput(
            item_id=item.id,
            title=item.title,
            summary=item.summary,
            text=item.text or "",
            publisher=item.publisher,
            day=day,
            dated=not by_first_seen,
        )
        week = week_of(day, app.timezone).label
        drafts = zh_entries(app.store, app.settings, app.config, [entry], week, layout, app.clock())
        return flash_view(item, drafts[item.id], app.config, flash.profile, day, not by_first_seen)

    def message(self, flash: Flash, recipients: list[str]) -> EmailMessage:
        return flash_message(
            self.view(flash),
            profile=flash.profile,
            mail_from=self.app.settings.smtp.mail_from,
            to=recipients,
            message_id=flash.message_id,
            sent_at=self.app.clock(),
        )
