"""Settings of the welfare service (福利)."""

from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class WelfareSettings(ServiceSettings):
    service: ClassVar[str] = "welfare"
