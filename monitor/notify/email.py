"""Build the emails: the weekly digest and maintainers' alerts. Pure; no I/O.

A digest is multipart/alternative (plain text, and HTML with its CSS inlined so that common mail
clients render it), inside multipart/mixed when the Markdown file is attached. Message-IDs are
deterministic, so a message sent again after a crash is recognisably the same message.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import css_inline


def domain_of(address: str) -> str:
    match = re.search(r"@([\w.-]+)", address)
    return match.group(1) if match else "localhost"


def digest_message_id(week: str, profile: str, recipient: str, mail_from: str) -> str:
    tag = hashlib.sha1(recipient.strip().lower().encode()).hexdigest()[:12]
    return f"<digest.{week}.{profile}.{tag}@{domain_of(mail_from)}>"


def alert_message_id(source_id: str, kind: str, event: str, at: datetime, mail_from: str) -> str:
    stamp = at.strftime("%Y%m%dT%H%M%S")
    return f"<alert.{source_id}.{kind}.{event}.{stamp}@{domain_of(mail_from)}>"


def digest_message(
    *,
    subject: str,
    text: str,
    html: str,
    mail_from: str,
    to: list[str],
    message_id: str,
    list_id: str,
    sent_at: datetime,
    attachment: tuple[str, str] | None = None,
    word: tuple[str, bytes] | None = None,
) -> EmailMessage:
    """``attachment``: (file name, Markdown text) or None; ``word``: (file name, .docx)."""
    message = _headers(subject, mail_from, to, message_id, sent_at)
    message["List-Id"] = list_id
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(css_inline.inline(html), subtype="html", charset="utf-8")
    if attachment:
        name, content = attachment
        message.add_attachment(content, subtype="markdown", charset="utf-8", filename=name)
    if word:
        name, data = word
        message.add_attachment(
            data,
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
            filename=name,
        )
    return message


def alert_message(
    *, subject: str, body: str, mail_from: str, to: list[str], message_id: str, sent_at: datetime
) -> EmailMessage:
    message = _headers(subject, mail_from, to, message_id, sent_at)
    message.set_content(body, subtype="plain", charset="utf-8")
    return message


def _headers(
    subject: str, mail_from: str, to: list[str], message_id: str, sent_at: datetime
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = mail_from
    message["To"] = ", ".join(str(Address(addr_spec=a)) for a in to)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    return message
