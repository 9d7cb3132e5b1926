"""Browser sessions, kept server-side in web's own database.

The browser holds only an opaque random id (an httpOnly, SameSite=Lax cookie); the session
document — keyed by the id's SHA-256, so a database dump names no live cookie — holds the
member's access and refresh tokens and the CSRF secret. The tokens are sealed with web's own
key (`TOKENS`, AES-GCM bound to the document and the field): a dump of web's database yields
nothing members accepts, and a sealed token copied into another session does not open. A session is one insert at sign-in
and one delete at sign-out or expiry. Refreshing the access token replaces the document's
tokens: that is not an invariant but a cache, and the request holding the session's lock is
its only writer in this process (members refuses a refresh token used twice, which ends the
session, so two requests of one browser must not both refresh: `Sessions.lock`).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.crypto import Sealer, SealError, is_sealed
from shared.timeutil import utcnow

SESSIONS = "sessions"
TOKENS = ("access_token", "refresh_token", "password_token")  # sealed at rest


def key_of(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass
class Session:
    """What web knows about a signed-in browser (or one half-way through a password change)."""

    member_id: str
    roles: list[str]
    campuses: list[str]
    csrf: str
    expires_at: datetime
    stage: str = "ok"  # ok | password (a password-change token only: first sign-in, link)
    access_token: str | None = None
    access_expires_at: datetime | None = None
    refresh_token: str | None = None
    password_token: str | None = None
    provider: str = "password"
    created_at: datetime = field(default_factory=utcnow)

    def has(self, *roles: str) -> bool:
        return "admin" in self.roles or any(r in self.roles for r in roles)

    @property
    def staff(self) -> bool:
        """May open /admin: a cadre, finance, auditor or admin."""
        return self.has("cadre", "finance", "auditor")


class Sessions:
    def __init__(self, db: AsyncDatabase, ttl_s: int, sealer: Sealer) -> None:
        self.coll = db[SESSIONS]
        self.ttl = timedelta(seconds=ttl_s)
        self.sealer = sealer
        self._locks: dict[str, asyncio.Lock] = {}

    def _stored(self, key: str, session: Session) -> dict[str, Any]:
        doc = asdict(session)
        for name in TOKENS:
            if doc[name] is not None:
                doc[name] = self.sealer.seal(doc[name], SESSIONS, key, name)
        return doc

    def _opened(self, key: str, doc: dict[str, Any]) -> Session:
        for name in TOKENS:
            if doc.get(name) is not None:
                doc[name] = self.sealer.open(doc[name], SESSIONS, key, name)
        return Session(**doc)

    async def seal_clear_tokens(self) -> int:
        """Seal the tokens of sessions stored before they were sealed (once, at start)."""
        count = 0
        async for doc in self.coll.find({}, {name: 1 for name in TOKENS}):
            clear = {
                name: self.sealer.seal(value, SESSIONS, doc["_id"], name)
                for name in TOKENS
                if isinstance(value := doc.get(name), str) and not is_sealed(value)
            }
            if clear:
                guard = {name: doc[name] for name in clear}
                await self.coll.update_one({"_id": doc["_id"], **guard}, {"$set": clear})
                count += 1
        return count

    async def ping(self) -> None:
        await asyncio.wait_for(self.coll.database.command("ping"), 2)

    def new(self, **fields: Any) -> Session:
        return Session(csrf=secrets.token_urlsafe(32), expires_at=utcnow() + self.ttl, **fields)

    async def create(self, session: Session) -> str:
        """Store a new session; the answer is the cookie value (never stored in clear)."""
        session_id = secrets.token_urlsafe(32)
        key = key_of(session_id)
        await self.coll.insert_one({"_id": key, **self._stored(key, session)})
        return session_id

    async def get(self, session_id: str) -> Session | None:
        key = key_of(session_id)
        doc = await self.coll.find_one({"_id": key})
        if doc is None:
            return None
        doc.pop("_id")
        try:
            session = self._opened(key, doc)
        except SealError:
            # Sealed for another session or with another key (moved, or a key rotated without
            # its sessions): not a session of this browser. Signing in again starts a new one.
            await self.delete(session_id)
            return None
        if _aware(session.expires_at) <= utcnow():
            await self.delete(session_id)
            return None
        session.expires_at = _aware(session.expires_at)
        if session.access_expires_at is not None:
            session.access_expires_at = _aware(session.access_expires_at)
        return session

    async def replace(self, session_id: str, session: Session) -> None:
        key = key_of(session_id)
        await self.coll.replace_one({"_id": key}, self._stored(key, session))

    async def delete(self, session_id: str) -> None:
        await self.coll.delete_one({"_id": key_of(session_id)})
        self._locks.pop(key_of(session_id), None)

    async def sweep(self) -> int:
        """Delete expired sessions (a browser that never came back)."""
        done = await self.coll.delete_many({"expires_at": {"$lt": utcnow()}})
        return done.deleted_count

    def lock(self, session_id: str) -> asyncio.Lock:
        return self._locks.setdefault(key_of(session_id), asyncio.Lock())


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
