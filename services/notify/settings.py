"""Settings of the notify service (通知)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from shared.settings import DEV_DATA_KEY, DEV_LINK_PRIVATE_KEY, ServiceSettings


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

    def _secret_files(self) -> list[Path]:
        return [self.auth_public_key_file, self.link_private_key_file, self.data_key_file]
