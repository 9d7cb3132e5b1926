"""Settings of the notify service (通知)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    service: ClassVar[str] = "notify"

    smtp_host: str = Field("127.0.0.1", description="SMTP server for e-mail notices")
    smtp_port: int = Field(1025, description="SMTP port")
    smtp_sender: str = Field("工会 <union@gonghui.local>", description="From: of e-mail notices")
    smtp_timeout_s: float = Field(10.0, description="SMTP connect/send timeout")
