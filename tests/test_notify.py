"""Digest and alert emails received by a real SMTP server on loopback."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import DeliveryError
from monitor.notify.email import digest_message, digest_message_id
from monitor.notify.smtp import SmtpSender
from monitor.settings import SmtpSettings
from tests.mailserver import MailServer, password_checker

SENT_AT = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
HTML = """<!DOCTYPE html><html><head><style>h1 { color: #1a3d7c; }</style></head>
<body><h1>快报</h1><p>&lt;script&gt;alert(1)&lt;/script&gt;</p></body></html>"""


def message(to: list[str], attachment: tuple[str, str] | None = None):  # type: ignore[no-untyped-def]
    return digest_message(
        subject="先进制造与新材料动态监测快报（2026-W47，3 条）",
        text="纯文本版本",
        html=HTML,
        mail_from="monitor@bulletin.example.org",
        to=to,
        message_id=digest_message_id("2026-W47", "cas", to[0], "monitor@bulletin.example.org"),
        list_id="<cas.digest.bulletin.example.org>",
        sent_at=SENT_AT,
        attachment=attachment,
    )


def settings(server: MailServer, **changes: object) -> SmtpSettings:
    base = {
        "host": "127.0.0.1",
        "port": server.port,
        "tls": "none",
        "mail_from": "monitor@bulletin.example.org",
        "timeout": 5.0,
    }
    return SmtpSettings(**(base | changes))  # type: ignore[arg-type]


def test_multipart_structure_headers_and_recipients(mailserver: MailServer) -> None:
    to = ["editor@example.org"]
    SmtpSender(settings(mailserver)).send(message(to), to)
    (got,) = mailserver.wait_for(1)
    assert got.rcpt_tos == to and got.mail_from == "monitor@bulletin.example.org"
    msg = got.message
    assert msg.get_content_type() == "multipart/alternative"
    plain, html = msg.iter_parts()
    assert plain.get_content_type() == "text/plain" and plain.get_content().strip() == "纯文本版本"
    assert html.get_content_type() == "text/html"
    body = html.get_content()
    assert "<style" not in body and 'style="color: #1a3d7c;"' in body  # CSS inlined
    assert "&lt;script&gt;" in body and "<script>" not in body  # web text stays escaped
    assert msg["Message-ID"] == digest_message_id(
        "2026-W47", "cas", "editor@example.org", "monitor@bulletin.example.org"
    )
    assert msg["List-Id"] == "<cas.digest.bulletin.example.org>"
    assert msg["Date"] == "Mon, 23 Nov 2026 00:00:00 +0000"
    assert msg["Subject"] == "先进制造与新材料动态监测快报（2026-W47，3 条）"
    assert msg["To"] == "editor@example.org"


def test_markdown_attachment(mailserver: MailServer) -> None:
    to = ["editor@example.org"]
    SmtpSender(settings(mailserver)).send(message(to, ("2026-W47.cas.md", "# 快报\n")), to)
    (got,) = mailserver.wait_for(1)
    assert got.message.get_content_type() == "multipart/mixed"
    alternative, attached = got.message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert attached.get_filename() == "2026-W47.cas.md"
    assert attached.get_content_type() == "text/markdown"
    assert attached.get_content().replace("\r\n", "\n") == "# 快报\n"


def test_message_id_is_deterministic() -> None:
    a = digest_message_id("2026-W47", "cas", "Editor@Example.org", "m@x.org")
    assert a == digest_message_id("2026-W47", "cas", "editor@example.org", "m@x.org")
    assert a != digest_message_id("2026-W48", "cas", "editor@example.org", "m@x.org")
    assert a.endswith("@x.org>")


def test_login_with_password_from_settings() -> None:
    server = MailServer(
        auth_require_tls=False, authenticator=password_checker("monitor", "s3cret")
    ).start()
    try:
        to = ["editor@example.org"]
        SmtpSender(settings(server, user="monitor", password="s3cret")).send(message(to), to)
        assert len(server.wait_for(1)) == 1
        with pytest.raises(DeliveryError, match="SMTP"):
            SmtpSender(settings(server, user="monitor", password="wrong")).send(message(to), to)
    finally:
        server.stop()


def test_starttls(tmp_path: Path) -> None:
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = MailServer(tls_context=context, require_starttls=True).start()
    try:
        to = ["editor@example.org"]
        SmtpSender(settings(server, tls="starttls", cafile=str(cert))).send(message(to), to)
        assert len(server.wait_for(1)) == 1
        with pytest.raises(DeliveryError):  # without TLS the server refuses
            SmtpSender(settings(server, tls="none")).send(message(to), to)
    finally:
        server.stop()


def test_server_down_is_a_delivery_error() -> None:
    from tests.mailserver import free_port

    down = SmtpSettings(host="127.0.0.1", port=free_port(), tls="none", timeout=2.0)
    with pytest.raises(DeliveryError, match=r"SMTP 127\.0\.0\.1"):
        SmtpSender(down).send(message(["a@example.org"]), ["a@example.org"])
