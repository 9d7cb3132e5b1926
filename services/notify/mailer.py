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
        settings = self.settings
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
