"""Password hashing: argon2id (RFC 9106) through argon2-cffi, off the event loop.

Parameters (settings): by default OWASP's first argon2id choice, 46 MiB of memory, one pass,
one lane (`time_cost=1`, `memory_cost=47104` KiB, `parallelism=1`). On the 2-core
development server one hash or check costs about 60–100 ms of one core (see the README).
One lane, because a sign-in should occupy one core, not both.

Bounded, so a flood cannot queue every other member's sign-in behind it: hashes run on their
own thread pool, one thread per allowed hash (`password_hash_concurrency`, by default the
number of cores; memory = that × the memory cost), so nothing else of the process (an
import's parsing, `asyncio.to_thread`) competes for those threads. At most `queue` more wait
for a thread, each at most `wait_s`; anything beyond is refused at once with 503
`auth.busy` and `Retry-After`, which costs nothing. argon2-cffi releases the GIL while it
hashes, so the event loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.members.accounts.domain import normalize_password
from services.members.accounts.throttle import RETRY_AFTER
from shared.problems import ProblemError

T = TypeVar("T")


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Busy(ProblemError):
    """503: every hasher is busy and the short queue is full (or waited too long)."""

    def __init__(self) -> None:
        super().__init__("auth.busy", 503, "登录人数较多，请稍后再试", retry_after=2)
        self.headers = {RETRY_AFTER: "2"}


class Passwords:
    def __init__(
        self,
        *,
        time_cost: int,
        memory_kib: int,
        concurrency: int | None = None,
        queue: int = 8,
        wait_s: float = 3.0,
    ) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=1, type=Type.ID
        )
        self.concurrency = concurrency or cores()
        self.queue, self.wait_s = queue, wait_s
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="argon2")
        self._stopped = False
        self._slots = asyncio.Semaphore(self.concurrency)
        self._waiting = 0
        self._nobody: str | None = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._slots.locked():
            if self._waiting >= self.queue:
                raise Busy()
            self._waiting += 1
            try:
                await asyncio.wait_for(self._slots.acquire(), self.wait_s)
            except TimeoutError:
                raise Busy() from None
            finally:
                self._waiting -= 1
        else:
            await self._slots.acquire()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._slots.release()

    # A worker of the service's runtime: its threads end when the service stops.
    def start(self) -> None:
        if self._stopped:  # started again after a stop
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="argon2")
            self._stopped = False

    async def stop(self) -> None:
        self._stopped = True
        self._pool.shutdown(wait=False, cancel_futures=True)

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
