"""Settings of the welfare service (福利)."""

from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class WelfareSettings(ServiceSettings):
    service: ClassVar[str] = "welfare"

    # funds-plans: how often the festival plans' deadlines are looked at (the default applies)
    plan_deadline_check_s: int = 60
