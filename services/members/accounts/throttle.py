"""Throttles of the public sign-in endpoints (登录限流): per client address and per account.

- **What is counted.** Per client address: wrong passwords and unknown staff numbers (sign-in
  and password change), login-link requests, links that do not redeem, and WeCom codes that
  name no member who may sign in. Per account (the
  staff number as typed, so an unknown one is counted exactly like a known one and a 429
  tells no stranger that it exists): sign-in attempts and login-link requests. Per member,
  silently (the answer is "sent if it exists" either way): login-link mails per minute and
  per day. Past a limit the answer is 429 `auth.throttled` with `Retry-After`.
- **Why an address counts failures, not sign-ins.** A school's teachers often share one NAT
  address; a morning of correct sign-ins must not shut the school out, but a run of wrong
  passwords for many staff numbers is the attack that locks many members out. With the
  default 20 failures per 15 minutes, one address locks at most four accounts (five wrong
  passwords each) per quarter of an hour before every further try of it is a 429.
- **Counting across replicas.** FerretDB updates are not atomic, so no counter is
  incremented: each counted event inserts a numbered slot `<rule>#<key>#<bucket>#<n>`, n =
  1…limit, in the time bucket of the rule's window (a unique-key insert: two replicas racing
  for slot n get one each of n and n+1, never both n). All slots taken is the limit. Keys are
  hashed (no staff number or address is stored), and a scheduled job deletes slots whose
  bucket has ended. What this process learned (the next free n, buckets it saw full) saves
  inserts; slots are never freed within a bucket, so that knowledge never becomes wrong.
- **A flood.** One address has at most `in_flight` sign-ins in progress in this process;
  more at once are refused at once (429), before any database or argon2 work, so a burst
  from one place cannot fill the password hashers' queue ahead of everybody else.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from shared.claims import claim_once
from shared.client import Network, networks
from shared.problems import ProblemError

THROTTLE = "sign_in_throttle"
RETRY_AFTER = "Retry-After"
# Answers that count against the client address (a guess that did not work).
WRONG = frozenset(
    {
        "auth.invalid_credentials",
        "account.wrong_password",
        "auth.link_invalid",
        "auth.link_used",
        "auth.wecom_refused",  # a WeCom code that names no member who may sign in
    }
)


class Throttled(ProblemError):
    """429 with `Retry-After`: the same shape for every client and every staff number."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "auth.throttled",
            429,
            "尝试过于频繁，请稍后再试",
            f"请 {retry_after} 秒后再试",
            retry_after=retry_after,
        )
        self.headers = {RETRY_AFTER: str(retry_after)}


@dataclass(frozen=True)
class Limit:
    """At most `count` events per `window_s` seconds (fixed buckets, shifted by `offset_s`)."""

    name: str
    count: int
    window_s: int
    offset_s: int = 0

    @classmethod
    def parse(cls, name: str, spec: str, offset_s: int = 0) -> Limit:
        """`"20/900"`: 20 per 900 seconds (a setting's form)."""
        count, _, window = spec.partition("/")
        limit = cls(name, int(count), int(window), offset_s)
        if limit.count < 1 or limit.window_s < 1:
            raise ValueError(f"{name}: a limit is COUNT/SECONDS, both at least 1, not {spec!r}")
        return limit

    def bucket(self, now: datetime) -> int:
        return (int(now.timestamp()) + self.offset_s) // self.window_s

    def ends(self, now: datetime) -> datetime:
        start = self.bucket(now) * self.window_s - self.offset_s
        return datetime.fromtimestamp(start + self.window_s, UTC)

    def retry_after(self, now: datetime) -> int:
        return max(1, int((self.ends(now) - now).total_seconds() + 0.999))


def hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class Slots:
    """Numbered slots per rule, key and bucket; the taken slots are the count."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[THROTTLE]
        self._next: dict[str, tuple[datetime, int]] = {}  # bucket → (its end, next n to try)

    @staticmethod
    def base(limit: Limit, key: str, now: datetime) -> str:
        return f"{limit.name}#{hashed(key)}#{limit.bucket(now)}"

    def _remember(self, base: str, ends: datetime, n: int, now: datetime) -> None:
        if len(self._next) > 50_000:  # a long-running process: forget buckets that ended
            self._next = {b: v for b, v in self._next.items() if v[0] > now}
        self._next[base] = (ends, n)

    async def take(self, limit: Limit, key: str, now: datetime) -> bool:
        """Count one event; False when the bucket's `limit.count` slots are all taken."""
        base, ends = self.base(limit, key, now), limit.ends(now)
        n = self._next.get(base, (ends, 1))[1]
        while n <= limit.count:
            doc = {"rule": limit.name, "expires_at": ends}
            if await claim_once(self.coll, f"{base}#{n}", doc):
                self._remember(base, ends, n + 1, now)
                return True
            n += 1  # taken by another request or replica: the next one
        self._remember(base, ends, n, now)
        return False

    async def full(self, limit: Limit, key: str, now: datetime) -> bool:
        """All slots of the bucket taken (reads the last slot, or knows it already)."""
        base = self.base(limit, key, now)
        known = self._next.get(base)
        if known is not None and known[1] > limit.count:
            return True
        found = await self.coll.find_one({"_id": f"{base}#{limit.count}"}, {"_id": 1})
        if found is not None:
            self._remember(base, limit.ends(now), limit.count + 1, now)
        return found is not None

    async def sweep(self, now: datetime) -> int:
        """Delete the slots of ended buckets (the scheduled job)."""
        result = await self.coll.delete_many({"expires_at": {"$lte": now}})
        return result.deleted_count


@dataclass(frozen=True)
class Limits:
    """The throttles' settings, parsed (see `MembersSettings`)."""

    address_failures: Limit
    account_attempts: Limit
    link_address: Limit
    link_account: Limit
    link_mail_minute: Limit
    link_mail_day: Limit
    redeem_address_failures: Limit
    in_flight: int
    wecom_address_failures: Limit = Limit("wecom", 20, 900)

    @classmethod
    def of(
        cls,
        *,
        address_failures: str,
        account_attempts: str,
        link_address: str,
        link_account: str,
        link_mails_per_minute: int,
        link_mails_per_day: int,
        redeem_address_failures: str,
        in_flight: int,
        wecom_address_failures: str = "20/900",
    ) -> Limits:
        beijing = 8 * 3600  # a day of mails is a calendar day in Asia/Shanghai
        return cls(
            address_failures=Limit.parse("fail", address_failures),
            account_attempts=Limit.parse("try", account_attempts),
            link_address=Limit.parse("link", link_address),
            link_account=Limit.parse("link-acct", link_account),
            link_mail_minute=Limit("mail-min", link_mails_per_minute, 60),
            link_mail_day=Limit("mail-day", link_mails_per_day, 86_400, beijing),
            redeem_address_failures=Limit.parse("redeem", redeem_address_failures),
            in_flight=in_flight,
            wecom_address_failures=Limit.parse("wecom", wecom_address_failures),
        )


def account_key(staff_no: str) -> str:
    """The per-account key of a staff number as typed: case and spaces do not make another."""
    return "staff:" + "".join(staff_no.split()).upper()


class Throttles:
    """The throttles' checks, used by the sign-in use cases around their work."""

    def __init__(self, slots: Slots, limits: Limits, trusted: str | Iterable[str] = "") -> None:
        self.slots = slots
        self.limits = limits
        self.trusted: tuple[Network, ...] = networks(trusted)
        self._in_flight: dict[str, int] = {}

    async def _refuse_when_full(self, limit: Limit, key: str, now: datetime) -> None:
        if await self.slots.full(limit, key, now):
            raise Throttled(limit.retry_after(now))

    async def _count_or_refuse(self, limit: Limit, key: str, now: datetime) -> None:
        if not await self.slots.take(limit, key, now):
            raise Throttled(limit.retry_after(now))

    @asynccontextmanager
    async def _one_of_few(self, client: str) -> AsyncIterator[None]:
        """At most `in_flight` requests of one client at once in this process."""
        if self._in_flight.get(client, 0) >= self.limits.in_flight:
            raise Throttled(1)
        self._in_flight[client] = self._in_flight.get(client, 0) + 1
        try:
            yield
        finally:
            left = self._in_flight[client] - 1
            if left:
                self._in_flight[client] = left
            else:
                del self._in_flight[client]

    @asynccontextmanager
    async def _guessing(self, failures: Limit, client: str, now: datetime) -> AsyncIterator[None]:
        """Refuse a client out of guesses; count the guess when the body answers 'wrong'."""
        await self._refuse_when_full(failures, client, now)
        try:
            yield
        except ProblemError as exc:
            if exc.code in WRONG:
                await self.slots.take(failures, client, now)
            raise

    @asynccontextmanager
    async def password_attempt(
        self, client: str, account: str, now: datetime
    ) -> AsyncIterator[None]:
        """Around a password check (sign-in, password change): in-flight, the address's
        wrong guesses, the account's attempts; a wrong answer counts for the address."""
        async with self._one_of_few(client):
            async with self._guessing(self.limits.address_failures, client, now):
                await self._count_or_refuse(self.limits.account_attempts, account, now)
                yield

    async def link_request(self, client: str, account: str, now: datetime) -> None:
        """A login-link request: per address and per staff number, 429 past either."""
        await self._count_or_refuse(self.limits.link_address, client, now)
        await self._count_or_refuse(self.limits.link_account, account, now)

    @asynccontextmanager
    async def redemption(self, client: str, now: datetime) -> AsyncIterator[None]:
        async with self._guessing(self.limits.redeem_address_failures, client, now):
            yield

    @asynccontextmanager
    async def wecom_attempt(self, client: str, now: datetime) -> AsyncIterator[None]:
        """A WeCom code exchange: in-flight, and the address's codes that named nobody
        (each costs a call to WeCom: an address cannot spend the corp's API quota)."""
        async with self._one_of_few(client):
            async with self._guessing(self.limits.wecom_address_failures, client, now):
                yield

    async def may_mail(self, member_id: str, now: datetime) -> bool:
        """One more login-link mail for this member, within the minute's and the day's cap
        (silent: the requester is answered the same either way)."""
        if await self.slots.full(self.limits.link_mail_day, member_id, now):
            return False
        if not await self.slots.take(self.limits.link_mail_minute, member_id, now):
            return False
        return await self.slots.take(self.limits.link_mail_day, member_id, now)


async def sweep_job(slots: Slots, clock: Callable[[], datetime]) -> int:
    """Delete ended buckets, with a minute's grace for clocks a little apart."""
    return await slots.sweep(clock() - timedelta(minutes=1))
