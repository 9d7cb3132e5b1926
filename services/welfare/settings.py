"""Settings of the welfare service (福利)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from shared.settings import DEV_DATA_KEY, ServiceSettings


class WelfareSettings(ServiceSettings):
    service: ClassVar[str] = "welfare"

    data_key_file: Path = Field(
        DEV_DATA_KEY,
        description="AES-256 key (base64) that seals visit notes and the hardship register's "
        "reasons at rest (welfare's own; production refuses the development key)",
    )

    def _secret_files(self) -> list[Path]:
        return [self.auth_public_key_file, self.data_key_file]
