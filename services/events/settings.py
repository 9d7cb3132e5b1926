"""Settings of the events service (活动)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from shared.settings import Environment, ServiceSettings

# The calendar secret `make run` and the tests use: public, so production refuses it.
DEV_CALENDAR_SECRET = "gonghui-development-calendar-secret"


class EventsSettings(ServiceSettings):
    service: ClassVar[str] = "events"

    calendar_secret: str = Field(
        DEV_CALENDAR_SECRET,
        min_length=16,
        description=(
            "secret the per-campus calendar feed tokens are derived from (HMAC-SHA256); "
            "changing it changes every feed URL"
        ),
    )
    calendar_base_url: str = Field(
        "",
        description="public base URL of the events service for feed links (empty: the request's)",
    )

    @model_validator(mode="after")
    def _refuse_dev_calendar_secret(self) -> EventsSettings:
        if self.env is Environment.production and self.calendar_secret == DEV_CALENDAR_SECRET:
            raise ValueError(
                "GONGHUI_CALENDAR_SECRET is the development secret; set your own in production "
                "(e.g. `openssl rand -hex 32`)"
            )
        return self
