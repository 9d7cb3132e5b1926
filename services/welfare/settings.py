"""Settings of the welfare service (福利)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from shared.settings import DEV_DATA_KEY, ServiceSettings


class WelfareSettings(ServiceSettings):
    service: ClassVar[str] = "welfare"

    # funds-plans: how often the festival plans' deadlines are looked at (the default applies)
    plan_deadline_check_s: int = 60
    # welfare-exams: the ID numbers on the insurer's enrolment list (互助保障) are sealed;
    # welfare-care: so are visit notes and the hardship register's reasons
    data_key_file: Path = Field(
        DEV_DATA_KEY,
        description="AES-256 key (base64) sealing personal data at rest (ID numbers of "
        "enrolments, visit notes, the hardship register's reasons)",
    )

    def _secret_files(self) -> list[Path]:
        return [*super()._secret_files(), self.data_key_file]
