"""Settings of the events service (活动)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, model_validator

from shared.settings import Environment, ServiceSettings, no_keys_of_its_own

# The calendar secret `make run` and the tests use: public, so production refuses it.
DEV_CALENDAR_SECRET = "gonghui-development-calendar-secret"
# The same for the one-way tokens of anonymous survey answers and suggestions.
DEV_VOICE_SECRET = "gonghui-development-voice-secret"


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
    calendar_secret_file: Path | None = Field(
        None,
        description="file holding the calendar secret (`gonghui keygen` makes one); "
        "overrides GONGHUI_CALENDAR_SECRET",
    )
    calendar_base_url: str = Field(
        "",
        description="public base URL of the events service for feed links (empty: the request's)",
    )

    voice_secret: str = Field(
        DEV_VOICE_SECRET,
        min_length=16,
        description=(
            "secret of the one-way tokens (HMAC-SHA256) that prove an anonymous survey was "
            "answered and let an anonymous writer read the reply to their suggestion, and "
            "the key (derived from it) that seals anonymous answers until their survey closes; "
            "changing it lets everyone answer running anonymous surveys again and leaves "
            "their waiting answers unopened"
        ),
    )
    voice_secret_file: Path | None = Field(
        None,
        description="file holding the voice secret (`gonghui keygen` makes one); "
        "overrides GONGHUI_VOICE_SECRET",
    )

    @model_validator(mode="after")
    def _refuse_dev_voice_secret(self) -> EventsSettings:
        if self.voice_secret_file is not None:
            self.voice_secret = self.voice_secret_file.read_text().strip()
        strict = self.env not in (Environment.development, Environment.test)
        if strict and self.voice_secret == DEV_VOICE_SECRET:
            raise ValueError(
                no_keys_of_its_own(
                    self.service, "GONGHUI_VOICE_SECRET(_FILE) is the development secret"
                )
            )
        return self

    @model_validator(mode="after")
    def _refuse_dev_calendar_secret(self) -> EventsSettings:
        if self.calendar_secret_file is not None:
            self.calendar_secret = self.calendar_secret_file.read_text().strip()
        strict = self.env not in (Environment.development, Environment.test)
        if strict and self.calendar_secret == DEV_CALENDAR_SECRET:
            raise ValueError(
                no_keys_of_its_own(
                    self.service, "GONGHUI_CALENDAR_SECRET(_FILE) is the development secret"
                )
            )
        return self
