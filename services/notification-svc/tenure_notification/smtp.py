"""Sending one email over SMTP (aiosmtplib) to the server in SMTP_URL."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

SMTP_TIMEOUT_SECONDS = 10
# What a refused or unreachable SMTP server raises: the email is tried again later.
SMTP_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)


def build_message(*, sender: str, to: str, subject: str, text: str, html: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    # A stable Message-ID: a resend after a crash is recognisably the same email.
    message["Message-ID"] = f"<{message_id}@tenure>"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


async def send(smtp_url: str, message: EmailMessage) -> None:
    """smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps:// (TLS from the start)."""
    parts = urlsplit(smtp_url)
    implicit_tls = parts.scheme == "smtps"
    await aiosmtplib.send(
        message,
        hostname=parts.hostname or "127.0.0.1",
        port=parts.port or (465 if implicit_tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=implicit_tls,
        timeout=SMTP_TIMEOUT_SECONDS,
    )
