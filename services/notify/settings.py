"""Settings of the notify service (通知)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator

from shared.settings import (
    DEV_DATA_KEY,
    DEV_LINK_PRIVATE_KEY,
    DEV_WEBHOOK_KEY,
    Environment,
    ServiceSettings,
)


class NotifySettings(ServiceSettings):
    service: ClassVar[str] = "notify"

    smtp_host: str = Field("127.0.0.1", description="SMTP server for e-mail notices")
    smtp_port: int = Field(1025, description="SMTP port")
    smtp_sender: str = Field("工会 <union@gonghui.local>", description="From: of e-mail notices")
    smtp_timeout_s: float = Field(10.0, description="SMTP connect/send timeout")
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        "none", description="none (local catcher), starttls (port 587) or tls (port 465)"
    )
    smtp_username: str = Field("", description="SMTP login; empty means no login")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password")
    web_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="address of the web front end: login links in e-mails point there",
    )
    link_private_key_file: Path = Field(
        DEV_LINK_PRIVATE_KEY,
        description="X25519 private key (PEM) that opens the login links members seals for notify",
    )

    data_key_file: Path = Field(
        DEV_DATA_KEY,
        description=(
            "AES-256 key (base64) that opens what members seals for notify to mail "
            "(the address and link of an e-mail confirmation); members' data key"
        ),
    )

    # -- webhooks (services/notify/webhooks) --
    webhook_key_file: Path = Field(
        DEV_WEBHOOK_KEY,
        description="AES-256 key (base64) that seals webhook subscriptions' signing secrets",
    )
    webhook_allow_local: bool = Field(
        False,
        description=(
            "local testing only: allow http:// and loopback / private / link-local webhook "
            "URLs; refused unless GONGHUI_ENV is development or test"
        ),
    )
    webhook_timeout_s: float = Field(10.0, gt=0, le=60, description="one webhook request")
    webhook_max_attempts: int = Field(8, ge=1, description="tries per delivery before it fails")
    webhook_backoff_s: float = Field(10.0, gt=0, description="wait after the first failed try")
    webhook_backoff_max_s: float = Field(3600.0, gt=0, description="longest wait between tries")
    webhook_pause_after: int = Field(
        5, ge=1, description="failed tries in a row that pause a subscription (its owner told)"
    )
    webhook_poll_s: float = Field(1.0, gt=0, description="how often due deliveries are looked for")

    @model_validator(mode="after")
    def _no_local_webhooks_in_production(self) -> NotifySettings:
        if self.webhook_allow_local and self.env == Environment.production:
            raise ValueError(
                "GONGHUI_WEBHOOK_ALLOW_LOCAL is for local testing: production refuses it"
            )
        return self

    def _secret_files(self) -> list[Path]:
        return [
            self.auth_public_key_file,
            self.link_private_key_file,
            self.data_key_file,
            self.webhook_key_file,
        ]
