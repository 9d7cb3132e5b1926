"""Settings of the web front end (网页): where the other services are, sessions, cookies."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import Environment, ServiceSettings


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

    @model_validator(mode="after")
    def _secure_in_production(self) -> WebSettings:
        if self.cookie_secure is None:
            self.cookie_secure = self.env is Environment.production
        return self
