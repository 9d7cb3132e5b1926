"""Signed bearer tokens (Ed25519 / EdDSA), roles and campus scope as FastAPI dependencies."""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.principal import ALL_CAMPUSES, Grants, Principal, Role
from shared.problems import ProblemError
from shared.settings import DEV_PRIVATE_KEY

AUDIENCE = "gonghui"

__all__ = [  # the principal's names stay importable from here for the web edge
    "ALL_CAMPUSES",
    "AUDIENCE",
    "CurrentUser",
    "Grants",
    "Principal",
    "Role",
    "TokenVerifier",
    "bearer_scheme",
    "current_principal",
    "jwks",
    "mint_token",
    "require",
]


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw[:9]).decode().rstrip("=")


def jwks(public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The JSON Web Key Set members publishes so others can verify its tokens."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": key_id(public_key),
                "x": x,
            }
        ]
    }


def mint_token(
    subject: str,
    roles: list[str],
    campuses: list[str],
    ttl_s: int = 8 * 3600,
    *,
    private_key_file: Path = DEV_PRIVATE_KEY,
    issuer: str = "gonghui-members",
    audience: str = AUDIENCE,
    extra: dict[str, Any] | None = None,
) -> str:
    """A signed token. Another `audience` makes a token every Gonghui route refuses (members'
    password-change token uses one), `extra` adds claims such as a `jti`."""
    key = load_private_key(private_key_file)
    now = int(time.time())
    claims = {
        **(extra or {}),
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "roles": sorted({Role(r).value for r in roles}),
        "campuses": sorted(set(campuses)),
        "iat": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": key_id(key.public_key())})


class TokenVerifier:
    def __init__(self, public_key_file: Path, issuer: str) -> None:
        self.public_key = load_public_key(public_key_file)
        self.issuer = issuer

    def decode(self, token: str, audience: str = AUDIENCE) -> dict[str, Any]:
        """The verified claims of a token for `audience`; 401 problems otherwise."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.public_key,
                algorithms=["EdDSA"],
                audience=audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ProblemError("auth.token_expired", 401, "登录已过期，请重新登录") from exc
        except jwt.InvalidTokenError as exc:
            raise ProblemError("auth.invalid_token", 401, "身份令牌无效") from exc
        return claims

    def verify(self, token: str) -> Principal:
        claims = self.decode(token)
        return Principal(
            subject=str(claims["sub"]),
            roles=frozenset(claims.get("roles", [])),
            campuses=frozenset(claims.get("campuses", [])),
        )


_bearer = HTTPBearer(auto_error=False, description="Ed25519 签名的 Bearer 令牌")
bearer_scheme = _bearer  # for routes that read the token themselves (members' password change)


# Dependencies are `async def`: FastAPI runs a plain `def` dependency in a worker thread, a
# thread hop per dependency per request for work (an Ed25519 check) that takes microseconds.
async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise ProblemError("auth.missing_token", 401, "请先登录（缺少 Bearer 令牌）")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(credentials.credentials)


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through callers holding any of the roles (admin always)."""

    async def dependency(principal: CurrentUser) -> Principal:
        return principal.require(*roles)

    dependency.__name__ = f"require_{'_or_'.join(r.value for r in roles)}"
    return dependency
