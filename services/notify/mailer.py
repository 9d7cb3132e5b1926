"""E-mail adapter: real SMTP (the local catcher in development, the school's relay in production)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from services.notify.settings import NotifySettings


class SmtpMailer:
    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    async def send(self, to: str, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"] = self.settings.smtp_sender
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body, charset="utf-8")
        await aiosmtplib.send(
            msg,
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            timeout=self.settings.smtp_timeout_s,
            start_tls=False,
        )
