"""Password hashing: argon2id (RFC 9106) through argon2-cffi, off the event loop.

Parameters (settings): by default OWASP's first argon2id choice, 46 MiB of memory, one pass,
one lane (`time_cost=1`, `memory_cost=47104` KiB, `parallelism=1`). On the 2-core
development server one hash or check costs about 60–100 ms of one core (see the README).
One lane, because a sign-in should occupy one core, not both; and at most
`password_hash_concurrency` hashes run at once, so fifty simultaneous sign-ins queue for the
cores instead of asking for 50 × 46 MiB of memory. argon2-cffi releases the GIL while it
hashes, so the event loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.members.accounts.domain import normalize_password

T = TypeVar("T")


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int, concurrency: int) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=1, type=Type.ID
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._nobody: str | None = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        async with self._slots:
            return await asyncio.to_thread(fn, *args)

    async def hash(self, password: str) -> str:
        return await self._run(self.hasher.hash, normalize_password(password))

    async def verify(self, password_hash: str, password: str) -> bool:
        try:
            return await self._run(self.hasher.verify, password_hash, normalize_password(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify_nobody(self, password: str) -> None:
        """Spend what a real check costs when there is no account, so the answer's timing
        does not tell whether a staff number has one."""
        if self._nobody is None:
            self._nobody = await self.hash("no account has this password 0")
        await self.verify(self._nobody, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Made with other parameters than today's: hash again at the next sign-in."""
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
