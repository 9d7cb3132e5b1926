"""E-mail channel: real SMTP (the local catcher in development, the school's relay in production).

Plain text and HTML alternatives; STARTTLS or implicit TLS and login as configured. An SMTP
server that cannot be reached is an outage (`ChannelDown`: the delivery waits, nothing is
failed or dead-lettered); a refusal of this one message (a 5xx for the recipient) is a failed
attempt (`ChannelRefused`).
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from services.notify.channels.base import ChannelDown, ChannelRefused, Message
from services.notify.routing.domain import ChannelName
from services.notify.settings import NotifySettings

# Connection refused, reset or timed out (aiosmtplib's connect and disconnect errors are
# OSErrors too).
OUTAGE = (OSError, TimeoutError, aiosmtplib.SMTPTimeoutError)


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str, html: str | None = None) -> None: ...


class SmtpMailer:
    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self.tls_context: ssl.SSLContext | None = None
        if settings.smtp_ca_file:
            self.tls_context = ssl.create_default_context(cafile=str(settings.smtp_ca_file))

    async def send(self, to: str, subject: str, body: str, html: str | None = None) -> None:
        msg = EmailMessage()
        msg["From"] = self.settings.smtp_sender
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body, charset="utf-8")
        if html:
            msg.add_alternative(html, subtype="html", charset="utf-8")
        settings = self.settings
        try:
            await aiosmtplib.send(
                msg,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                timeout=settings.smtp_timeout_s,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                tls_context=self.tls_context,
                username=settings.smtp_username or None,
                password=settings.smtp_password.get_secret_value() or None,
            )
        except OUTAGE as exc:
            raise ChannelDown(
                f"SMTP {settings.smtp_host}:{settings.smtp_port} unreachable: {exc!r}"
            ) from exc


class EmailChannel:
    name = ChannelName.email

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer

    async def send(self, message: Message) -> None:
        try:
            await self.mailer.send(message.to, message.title, message.text, message.html)
        except ChannelDown:
            raise
        except aiosmtplib.SMTPException as exc:
            raise ChannelRefused(f"SMTP refused: {exc}") from exc
