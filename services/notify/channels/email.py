"""E-mail channel: real SMTP (the local catcher in development, the school's relay in production).

An SMTP server that cannot be reached is an outage, not a bad message: `send` raises
`RetryLater`, so the consumer waits and tries again instead of dead-lettering every notice.
A refusal of this one message (a 5xx for the recipient) is a real failure and raises as is.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from services.notify.settings import NotifySettings
from shared.consumer import RetryLater

# Connection refused, reset or timed out (aiosmtplib's connect and disconnect errors are
# OSErrors too).
OUTAGE = (OSError, TimeoutError, aiosmtplib.SMTPTimeoutError)


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


class SmtpMailer:
    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    async def send(self, to: str, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"] = self.settings.smtp_sender
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body, charset="utf-8")
        settings = self.settings
        try:
            await aiosmtplib.send(
                msg,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                timeout=settings.smtp_timeout_s,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                username=settings.smtp_username or None,
                password=settings.smtp_password.get_secret_value() or None,
            )
        except OUTAGE as exc:
            raise RetryLater(
                f"SMTP {settings.smtp_host}:{settings.smtp_port} unreachable: {exc!r}"
            ) from exc
