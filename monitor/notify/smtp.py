"""Send messages over SMTP (standard library): STARTTLS, implicit TLS or none; login when a user
is set, with the password from the environment only."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from monitor.errors import DeliveryError
from monitor.settings import SmtpSettings


class SmtpSender:
    def __init__(self, settings: SmtpSettings) -> None:
        if not settings.host:
            raise DeliveryError("no SMTP server configured (set MONITOR_SMTP_HOST)")
        self.settings = settings

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.cafile or None)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        assert s.host
        if s.tls == "ssl":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._context())
        client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        if s.tls == "starttls":
            client.ehlo()
            client.starttls(context=self._context())
            client.ehlo()
        return client

    def send(self, message: EmailMessage, recipients: list[str]) -> None:
        """Hand ``message`` to the server for ``recipients``; DeliveryError when it is refused."""
        try:
            with self._connect() as client:
                if self.settings.user:
                    client.login(self.settings.user, self.settings.password or "")
                refused = client.send_message(
                    message, from_addr=self.settings.mail_from, to_addrs=recipients
                )
        except (smtplib.SMTPException, OSError) as e:
            raise DeliveryError(f"SMTP {self.settings.host}:{self.settings.port}: {e}") from e
        if refused:
            raise DeliveryError(f"recipients refused: {', '.join(sorted(refused))}")
