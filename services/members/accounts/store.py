"""Accounts' MongoDB access. Every rule here rests on a unique-key insert, none on an update.

- `Failures`: wrong passwords, slot `<account>#<window>#<n>` for n = 1…5. A wrong attempt
  inserts the lowest free slot; two concurrent attempts race for the same slot and the
  storage engine lets one win, the other takes the next. Five slots, five wrong attempts:
  never fewer, however many run at once.
- `Sessions`: refresh tokens, stored as their SHA-256 (`_id`), never in clear. Using one
  claims it (`refresh_token_uses`, unique): a second use is a reuse, which ends the whole
  session (its *family*, `session_revocations`, unique), as logging out does.
- `LoginLinks`: single-use links, stored as their SHA-256, claimed on redemption.
- `OneTime`: the `jti` of password-change tokens, claimed once.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from pymongo.asynchronous.database import AsyncDatabase

from services.members.accounts.domain import MAX_FAILURES, Account, FailureWindow
from shared.aggregate import AggregateStore
from shared.claims import claim_once
from shared.crypto import seal_for
from shared.events.members import LoginLinkRequestedV2
from shared.outbox.writer import Outbox

ACCOUNTS = "accounts"  # the list view; `accounts_changes` is the change log (the truth)
TOPIC = "members.account"
NOT_FOUND = ("account.not_found", "该会员尚未开通登录账号")

FAILURES = "sign_in_failures"
REFRESH_TOKENS = "refresh_tokens"
REFRESH_USES = "refresh_token_uses"
REVOCATIONS = "session_revocations"
LOGIN_LINKS = "login_links"
LOGIN_LINK_USES = "login_link_uses"
PASSWORD_TOKEN_USES = "password_token_uses"


async def setup_indexes(db: AsyncDatabase) -> None:
    # The unlock job looks for locks that ran out (every other read is by `_id`).
    await db[ACCOUNTS].create_index("locked_until", sparse=True)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


AccountStore = AggregateStore[Account]


class Failures:
    """Wrong passwords per account and window, as numbered slots."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[FAILURES]

    @staticmethod
    def slot_id(account_id: str, window: int, n: int) -> str:
        return f"{account_id}#{window:06d}#{n}"

    async def window(self, account_id: str, window: int) -> FailureWindow:
        docs = await asyncio.gather(
            *(
                self.coll.find_one({"_id": self.slot_id(account_id, window, n)}, {"at": 1})
                for n in range(1, MAX_FAILURES + 1)
            )
        )
        times = []
        for doc in docs:  # slots are taken in order: the first gap ends the count
            if doc is None:
                break
            times.append(doc["at"])
        return FailureWindow(window, tuple(times))

    async def take(
        self, account_id: str, window: int, at: datetime, start: int = 1, **detail: Any
    ) -> int | None:
        """Record one wrong password: the slot number taken, None when all five are."""
        for n in range(max(start, 1), MAX_FAILURES + 1):
            doc = {"account": account_id, "window": window, "n": n, "at": at, **detail}
            if await claim_once(self.coll, self.slot_id(account_id, window, n), doc):
                return n
        return None


@dataclass(frozen=True)
class RefreshToken:
    member_id: str
    family: str  # one sign-in and all the tokens rotated from it
    started_at: datetime  # when that sign-in was
    expires_at: datetime


class Sessions:
    def __init__(self, db: AsyncDatabase) -> None:
        self.tokens = db[REFRESH_TOKENS]
        self.uses = db[REFRESH_USES]
        self.revocations = db[REVOCATIONS]

    async def issue(
        self, member_id: str, family: str, started_at: datetime, now: datetime, ttl: timedelta
    ) -> tuple[str, datetime]:
        token = new_token()
        expires_at = now + ttl
        await self.tokens.insert_one(
            {
                "_id": digest(token),
                "member_id": member_id,
                "family": family,
                "started_at": started_at,
                "issued_at": now,
                "expires_at": expires_at,
            }
        )
        return token, expires_at

    async def find(self, token: str) -> RefreshToken | None:
        doc = await self.tokens.find_one({"_id": digest(token)})
        if doc is None:
            return None
        return RefreshToken(doc["member_id"], doc["family"], doc["started_at"], doc["expires_at"])

    async def claim_use(self, token: str, now: datetime) -> bool:
        """True for the one use of a refresh token; False when it was used before."""
        return await claim_once(self.uses, digest(token), {"at": now})

    async def revoked(self, family: str) -> bool:
        return await self.revocations.find_one({"_id": family}, {"_id": 1}) is not None

    async def revoke(self, family: str, reason: str, now: datetime) -> None:
        await claim_once(self.revocations, family, {"reason": reason, "at": now})


class LoginLinks:
    """Links as their hashes. The link itself leaves only sealed for notify (`seal`), so the
    outbox copy in the link's document and the event on `members.account` open nowhere else
    (members keeps no key that opens them either)."""

    def __init__(self, db: AsyncDatabase, outbox: Outbox, notify_key: X25519PublicKey) -> None:
        self.db = db
        self.notify_key = notify_key
        self.links = db[LOGIN_LINKS]
        self.uses = db[LOGIN_LINK_USES]
        self.outbox = outbox

    def seal(self, member_id: str, link_path: str) -> str:
        """The link sealed for notify, bound to the event type and the member."""
        return seal_for(self.notify_key, link_path, LoginLinkRequestedV2.type, member_id)

    async def create(self, event: LoginLinkRequestedV2, token: str, now: datetime) -> None:
        """Store the link as its hash; the event (for notify) rides in the same insert."""
        doc = {
            "_id": digest(token),
            "member_id": event.member_id,
            "campus": event.campus,
            "requested_at": now,
            "expires_at": event.expires_at,
        }
        await self.outbox.insert(
            LOGIN_LINKS, doc, [event], subject=event.member_id, campus=event.campus
        )

    async def find(self, token: str) -> dict[str, Any] | None:
        return await self.links.find_one({"_id": digest(token)}, {"outbox": 0})

    async def claim_use(self, token: str, now: datetime) -> bool:
        return await claim_once(self.uses, digest(token), {"at": now})


class OneTime:
    """Single-use token ids (the `jti` of password-change tokens)."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[PASSWORD_TOKEN_USES]

    async def claim(self, jti: str, now: datetime) -> bool:
        return await claim_once(self.coll, jti, {"at": now})
