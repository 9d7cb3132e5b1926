"""Settings of the members service (会员)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from shared.settings import DEV_DATA_KEY, DEV_PRIVATE_KEY, ServiceSettings


class MembersSettings(ServiceSettings):
    service: ClassVar[str] = "members"

    auth_private_key_file: Path = Field(
        DEV_PRIVATE_KEY, description="PEM private key (Ed25519) members signs tokens with"
    )
    data_key_file: Path = Field(
        DEV_DATA_KEY,
        description="AES-256 key (base64) that seals ID-card numbers and salaries at rest",
    )

    dues_rate_bp: int = Field(
        50,
        ge=0,
        le=10_000,
        description="monthly dues in basis points of the salary base (50 = 0.5%)",
    )
    dues_rounding: Literal["half_up", "half_even", "down", "up"] = Field(
        "half_up", description="how monthly dues are rounded to the fen"
    )

    def _secret_files(self) -> list[Path]:
        return [self.auth_public_key_file, self.auth_private_key_file, self.data_key_file]
