"""Settings of the members service (会员)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from shared.settings import DEV_DATA_KEY, DEV_LINK_PUBLIC_KEY, DEV_PRIVATE_KEY, ServiceSettings


class MembersSettings(ServiceSettings):
    service: ClassVar[str] = "members"

    auth_private_key_file: Path = Field(
        DEV_PRIVATE_KEY, description="PEM private key (Ed25519) members signs tokens with"
    )
    data_key_file: Path = Field(
        DEV_DATA_KEY,
        description="AES-256 key (base64) that seals ID-card numbers and salaries at rest",
    )
    link_public_key_file: Path = Field(
        DEV_LINK_PUBLIC_KEY,
        description="notify's X25519 public key (PEM): login links are sealed for it",
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
    school_campus: str = Field(
        "main",
        description="campus whose union is the school's: its chair (主席) signs in as admin of all",
    )
    access_token_ttl_s: int = Field(
        900, ge=60, le=86_400, description="lifetime of an access token issued at sign-in"
    )
    refresh_token_ttl_s: int = Field(
        14 * 86_400, ge=3600, description="lifetime of a refresh token (rotated on each use)"
    )
    password_token_ttl_s: int = Field(
        600, ge=60, le=3600, description="lifetime of the token that only changes a password"
    )
    password_hash_time_cost: int = Field(1, ge=1, le=10, description="argon2id passes")
    password_hash_memory_kib: int = Field(
        47_104, ge=8_192, le=1_048_576, description="argon2id memory per hash, KiB (46 MiB)"
    )
    password_hash_concurrency: int = Field(
        2, ge=1, le=64, description="argon2id hashes at once (memory = this × the memory cost)"
    )

    def _secret_files(self) -> list[Path]:
        return [
            self.auth_public_key_file,
            self.auth_private_key_file,
            self.data_key_file,
            self.link_public_key_file,
        ]
