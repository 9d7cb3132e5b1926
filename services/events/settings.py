"""Settings of the events service (活动)."""

from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class EventsSettings(ServiceSettings):
    service: ClassVar[str] = "events"
