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
    smtp_ca_file: Path | None = Field(
        None,
        description="CA certificate (PEM) the SMTP server's TLS certificate is checked against",
    )
    wecom_base_url: str = Field(
        "", description="WeCom API base (https://qyapi.weixin.qq.com); empty: no WeCom messages"
    )
    wecom_corp_id: str = Field("", description="WeCom corp id (企业ID)")
    wecom_agent_id: int = Field(0, description="WeCom application agent id (应用AgentId)")
    wecom_secret: SecretStr = Field(SecretStr(""), description="WeCom application secret")
    sms_base_url: str = Field("", description="SMS gateway base URL; empty: no SMS")
    sms_api_key: SecretStr = Field(SecretStr(""), description="SMS gateway API key")
    sms_sign: str = Field("学校工会", description="SMS signature (短信签名)")
    channel_timeout_s: float = Field(10.0, description="WeCom / SMS request timeout")
    delivery_max_attempts: int = Field(
        5, ge=1, le=50, description="failed attempts before a delivery is failed (失败)"
    )
    delivery_backoff_s: float = Field(
        30.0, gt=0, description="wait after the first failed attempt; doubles, at most 1 hour"
    )
    delivery_poll_s: float = Field(1.0, gt=0, description="how often the delivery worker looks")
    reminder_every_s: int = Field(
        60, ge=1, description="how often due reminders (活动、选礼、体检提醒) are looked for"
    )
    announcement_batch: int = Field(
        500, ge=1, le=10_000, description="members per batch of a notice's fan-out (通知公告)"
    )
    announcement_poll_s: float = Field(
        1.0, gt=0, description="how often the fan-out looks for notices still sending"
    )
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

    @model_validator(mode="after")
    def _refuse_missing_channel_secrets(self) -> NotifySettings:
        if self.env in (Environment.development, Environment.test):
            return self
        for base, secret, name in (
            (self.wecom_base_url, self.wecom_secret, "wecom_secret"),
            (self.sms_base_url, self.sms_api_key, "sms_api_key"),
        ):
            value = secret.get_secret_value()
            if base and (not value or value.lower().startswith("dev")):
                raise ValueError(
                    f"notify 拒绝启动：GONGHUI_{name.upper()} 未配置或是开发用值 / refuses to "
                    f"start: GONGHUI_{name.upper()} is missing or a development value while "
                    "its channel's base URL is set"
                )
        return self

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
