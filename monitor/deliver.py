"""Send what the outbox holds: digest emails to editors, alerts to maintainers, exactly once.

``Deliverer`` drafts the digests, records the deliveries, and sends every delivery and alert that
is due, claiming each first (see ``monitor.store.outbox``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING

from monitor.digest.build import Drafted
from monitor.digest.week import Week, parse_week
from monitor.errors import DeliveryError
from monitor.notify.email import alert_message, digest_message, digest_message_id, domain_of
from monitor.notify.smtp import SmtpSender
from monitor.store.outbox import Alert, Delivery, Outbox

if TYPE_CHECKING:
    from monitor.app import App

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigestOutcome:
    profile: str
    drafted: Drafted
    recipients: tuple[str, ...]
    note: str  # what happened to the email


class Deliverer:
    def __init__(self, app: App, sender: Callable[[], SmtpSender] | None = None) -> None:
        self.app = app
        self._sender_factory = sender or (lambda: SmtpSender(app.settings.smtp))
        self.lease = app.config.service.delivery_lease
        self.outbox: Outbox = app.outbox
        self.on_sent: Callable[[Delivery], None] | None = None

    @property
    def smtp_ready(self) -> bool:
        return bool(self.app.settings.smtp.host)

    def recipients(self, profile: str) -> tuple[str, ...]:
        """The profile's own recipients; ``MONITOR_DIGEST_TO`` replaces those of the default
        profile only (one editor, one bulletin)."""
        digest = self.app.config.digest
        own = tuple(digest.profiles[profile].recipients)
        if profile == digest.default_profile:
            return self.app.settings.digest_to or own
        return own

    def profiles(self, wanted: Sequence[str] | None = None) -> list[str]:
        """``wanted``, else the default profile and every profile that has recipients."""
        digest = self.app.config.digest
        if wanted:
            return list(wanted)
        return [
            name
            for name in digest.profiles
            if name == digest.default_profile or self.recipients(name)
        ]

    def digest(
        self,
        week: Week,
        *,
        send: bool,
        resend: bool = False,
        profiles: Sequence[str] | None = None,
        word: bool = False,
    ) -> list[DigestOutcome]:
        """Draft ``week`` for ``profiles`` (see ``profiles``); with ``send``, record and send
        their deliveries, and only theirs."""
        outcomes = []
        now = self.app.clock()
        for name in self.profiles(profiles):
            drafted = self.app.draft(week, name, word=word)
            recipients = self.recipients(name)
            note = self._plan(week, name, drafted, recipients, send=send, resend=resend, now=now)
            outcomes.append(DigestOutcome(name, drafted, recipients, note))
        if send:
            drafts = {(week.label, o.profile): o.drafted for o in outcomes}
            self.send_due(week.label, [o.profile for o in outcomes], drafts)
        return outcomes

    def _plan(
        self,
        week: Week,
        name: str,
        drafted: Drafted,
        recipients: tuple[str, ...],
        *,
        send: bool,
        resend: bool,
        now: datetime,
    ) -> str:
        if not send:
            return "files only"
        if not recipients:
            return "no recipients configured"
        if drafted.selection.count == 0 and not self.app.config.digest.profiles[name].send_empty:
            return "no items; empty digests are not sent (send_empty: false)"
        if not self.smtp_ready:
            return "no SMTP server configured (MONITOR_SMTP_HOST)"
        if resend:
            self.outbox.requeue_deliveries(
                now, week=week.label, profile=name, statuses=("sent", "failed")
            )
        mail_from = self.app.settings.smtp.mail_from
        before = {d.recipient: d.status for d in self.outbox.deliveries(week.label, name)}
        self.outbox.ensure_deliveries(
            week.label,
            name,
            list(recipients),
            lambda r: digest_message_id(week.label, name, r, mail_from),
            now,
        )
        already = [r for r in recipients if before.get(r) == "sent" and not resend]
        if already and len(already) == len(recipients):
            return "already sent (use --resend to send again)"
        return "queued"

    # -- sending --------------------------------------------------------------------------------

    def send_due(
        self,
        week: str | None = None,
        profiles: Sequence[str] | None = None,
        drafts: dict[tuple[str, str], Drafted] | None = None,
    ) -> list[tuple[Delivery, str]]:
        """Send every due delivery this instance can claim (of ``week`` and ``profiles`` only,
        when given; ``drafts`` already made by (week, profile)); return (delivery, status)."""
        if not self.smtp_ready:
            return []
        results = []
        drafts = dict(drafts or {})
        for delivery in self.outbox.due_deliveries(self.app.clock()):
            if week is not None and delivery.week != week:
                continue
            if profiles is not None and delivery.profile not in profiles:
                continue
            if not self.outbox.claim_delivery(delivery.id, self.app.clock(), self.lease):
                continue  # another instance has it
            status = self._send_delivery(delivery, drafts)
            results.append((delivery, status))
        return results

    def _send_delivery(self, delivery: Delivery, drafts: dict[tuple[str, str], Drafted]) -> str:
        key = (delivery.week, delivery.profile)
        error = None
        try:
            if key not in drafts:
                week = parse_week(delivery.week, self.app.timezone)
                drafts[key] = self.app.draft(week, delivery.profile)
            message = self._digest_email(drafts[key], delivery)
            self._sender_factory().send(message, [delivery.recipient])
        except DeliveryError as e:
            error = str(e)
        except Exception as e:  # never let one delivery stop the others
            log.exception("delivery failed id=%s", delivery.id)
            error = f"unexpected error: {e!r}"
        status = self.outbox.finish_delivery(delivery.id, self.app.clock(), error)
        level = logging.INFO if error is None else logging.WARNING
        log.log(
            level,
            "delivery week=%s profile=%s to=%s status=%s error=%s",
            delivery.week,
            delivery.profile,
            delivery.recipient,
            status,
            error,
        )
        if status == "sent" and self.on_sent:
            self.on_sent(delivery)
        return status

    def _digest_email(self, drafted: Drafted, delivery: Delivery) -> EmailMessage:
        profile = self.app.config.digest.profiles[delivery.profile]
        mail_from = self.app.settings.smtp.mail_from
        count = drafted.selection.count
        detail = f"{count} 条" if count else "本周无符合条件的条目"
        subject = f"{profile.title}（{delivery.week}，{detail}）"
        attachment = None
        if profile.attach_markdown:
            attachment = (f"{delivery.week}.{delivery.profile}.md", drafted.rendered["md"])
        return digest_message(
            subject=subject,
            text=drafted.rendered["txt"],
            html=drafted.rendered["html"],
            mail_from=mail_from,
            to=[delivery.recipient],
            message_id=delivery.message_id,
            list_id=f"<{delivery.profile}.digest.{domain_of(mail_from)}>",
            sent_at=self.app.clock(),
            attachment=attachment,
            word=(
                (f"{delivery.week}.{delivery.profile}.docx", drafted.word) if drafted.word else None
            ),
        )

    def preview(self, week: Week, profile: str) -> tuple[Drafted, EmailMessage]:
        """The draft of ``week`` for ``profile`` and its email as a delivery to the profile's
        first recipient would carry it now (the review desk's preview); nothing is sent."""
        drafted = self.app.draft(week, profile)
        recipients = self.recipients(profile)
        recipient = recipients[0] if recipients else "editor@localhost"
        mail_from, now = self.app.settings.smtp.mail_from, self.app.clock()
        message_id = digest_message_id(week.label, profile, recipient, mail_from)
        delivery = Delivery(
            0,
            week.label,
            profile,
            recipient,
            "smtp",
            "preview",
            message_id,
            0,
            None,
            now,
            None,
            None,
        )
        return drafted, self._digest_email(drafted, delivery)

    def send_alerts(self) -> list[tuple[Alert, str]]:
        """Send due alerts to the maintainers; without maintainers or SMTP, log them."""
        recipients = list(self.app.settings.alert_to or self.app.config.service.maintainers)
        results = []
        for alert in self.outbox.due_alerts(self.app.clock()):
            if not self.outbox.claim_alert(alert.id, self.app.clock(), self.lease):
                continue
            error = None
            if recipients and self.smtp_ready:
                try:
                    self._sender_factory().send(
                        alert_message(
                            subject=alert.subject,
                            body=alert.body,
                            mail_from=self.app.settings.smtp.mail_from,
                            to=recipients,
                            message_id=alert.message_id,
                            sent_at=self.app.clock(),
                        ),
                        recipients,
                    )
                except DeliveryError as e:
                    error = str(e)
            else:
                log.warning("alert not mailed (no maintainers or SMTP): %s", alert.subject)
            results.append((alert, self.outbox.finish_alert(alert.id, self.app.clock(), error)))
        return results
