"""Accounts and sign-in (登录): the public keys that verify Gonghui's tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request

from shared.auth import jwks
from shared.problems import PROBLEM_RESPONSES

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["认证 auth"])


@router.get("/.well-known/jwks.json")
async def signing_keys(request: Request) -> dict:
    """The public keys that verify Gonghui tokens; public."""
    return jwks(request.app.state.token_verifier.public_key)
