"""What every demo seeder needs: tokens minted with the dev key (or
GONGHUI_AUTH_PRIVATE_KEY_FILE) as a cadre or a member would hold, and one rule for answers."""

from __future__ import annotations

import os
from pathlib import Path

import httpx


class SeedError(RuntimeError):
    pass


def admin_token() -> str:
    from shared.auth import mint_token
    from shared.settings import DEV_PRIVATE_KEY

    key = Path(os.environ.get("GONGHUI_AUTH_PRIVATE_KEY_FILE") or DEV_PRIVATE_KEY)
    return mint_token("demo-seeder", ["admin"], ["*"], private_key_file=key)


def member_token(member_id: str, campus: str) -> str:
    from shared.auth import mint_token
    from shared.settings import DEV_PRIVATE_KEY

    key = Path(os.environ.get("GONGHUI_AUTH_PRIVATE_KEY_FILE") or DEV_PRIVATE_KEY)
    return mint_token(member_id, ["member"], [campus], private_key_file=key)


def check(response: httpx.Response, what: str) -> None:
    """2xx, or 409: the data is already so, or people have moved on (a round closed, a bill
    paid by hand) — the demo never overrides what was done."""
    if response.status_code not in (200, 201, 409):
        raise SeedError(f"{what} → {response.status_code}: {response.text[:300]}")
