"""Settings of the web front end (网页): where the other services are, sessions, cookies."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from shared.client import networks
from shared.settings import DEV_WEB_KEY, Environment, ServiceSettings


class WebSettings(ServiceSettings):
    # GONGHUI_WEB_MEMBERS_URL …: the service URLs are read under web's own names (a bare
    # GONGHUI_MEMBERS_URL would read as members' own setting); code passes the field names.
    model_config = SettingsConfigDict(env_prefix="GONGHUI_", extra="ignore", populate_by_name=True)

    service: ClassVar[str] = "web"

    members_url: str = Field(
        validation_alias="GONGHUI_WEB_MEMBERS_URL",
        default="http://127.0.0.1:8001",
        description="members service base URL",
    )
    events_url: str = Field(
        validation_alias="GONGHUI_WEB_EVENTS_URL",
        default="http://127.0.0.1:8002",
        description="events service base URL",
    )
    welfare_url: str = Field(
        validation_alias="GONGHUI_WEB_WELFARE_URL",
        default="http://127.0.0.1:8003",
        description="welfare service base URL",
    )
    notify_url: str = Field(
        validation_alias="GONGHUI_WEB_NOTIFY_URL",
        default="http://127.0.0.1:8004",
        description="notify service base URL",
    )
    api_timeout_s: float = Field(
        10.0, gt=0, description="timeout of one call to another service (a GET is tried twice)"
    )
    session_ttl_s: int = Field(
        43_200, ge=300, description="a browser session ends this long after sign-in (12 h)"
    )
    # Unset: Secure in production (served over https), not in development and test (plain
    # http on a developer's machine, where a Secure cookie would never come back).
    cookie_secure: bool | None = Field(
        None,
        description="mark cookies Secure (and __Host-) and send HSTS; default: on in production",
    )
    web_key_file: Path = Field(
        DEV_WEB_KEY,
        description="AES-256 key (base64) that seals sessions' tokens and kept uploads at rest",
    )
    upload_max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        description="largest member list web accepts (refused before it is sent on)",
    )
    upload_keep_s: int = Field(
        3 * 3600,
        ge=60,
        description="a checked upload waiting for its commit is deleted after this long",
    )

    # WeCom (企业微信) sign-in: the same switch as members' (GONGHUI_WECOM_SIGNIN); web needs
    # only what the authorize URL names. The secret stays with members.
    wecom_signin: bool = Field(
        False, description="show 「企业微信登录」 and take WeCom's OAuth callback (members' switch)"
    )
    wecom_corp_id: str = Field("", max_length=64, description="WeCom corp id (企业ID): appid")
    wecom_agent_id: int = Field(0, ge=0, description="WeCom application agent id (应用AgentId)")
    wecom_authorize_url: str = Field(
        "https://open.weixin.qq.com/connect/oauth2/authorize",
        description="WeCom's OAuth authorize page (a local page in tests)",
    )
    public_url: str = Field(
        validation_alias="GONGHUI_WEB_BASE_URL",
        default="http://127.0.0.1:8000",
        description="web's own address as browsers reach it: WeCom sends them back to "
        "<this>/login/wecom/callback (a domain the WeCom application trusts)",
    )

    trusted_proxies: str = Field(
        "",
        description="addresses/networks (comma-separated) of the reverse proxies in front of "
        "web, whose X-Forwarded-For names the browser; empty: the browser is the socket peer",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        networks(value)  # a typo fails at start, not as every browser being the proxy
        return value

    def _secret_files(self) -> list[Path]:
        return [self.auth_public_key_file, self.web_key_file]

    @model_validator(mode="after")
    def _secure_in_production(self) -> WebSettings:
        if self.cookie_secure is None:
            self.cookie_secure = self.env is Environment.production
        return self

    @model_validator(mode="after")
    def _wecom_complete(self) -> WebSettings:
        if self.wecom_signin and not (self.wecom_corp_id and self.wecom_agent_id):
            raise ValueError(
                "web 拒绝启动：已开启企业微信登录但缺少 / refuses to start: WeCom sign-in is on "
                "(GONGHUI_WECOM_SIGNIN) without GONGHUI_WECOM_CORP_ID and GONGHUI_WECOM_AGENT_ID"
            )
        return self
