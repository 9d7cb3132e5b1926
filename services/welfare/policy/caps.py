"""Running totals per person, category and year (福利限额台账), safe under concurrency.

Each total is a chain of claims `cap:<member>:<category>:<year>#000000001`, `…#2`, … whose
entries carry the running total (as a negative balance, `shared.claims.append_entry` with the
cap as its floor): a payment inserts the next number only after deciding on the one before,
so two payments that race for the last yuan both try one number and the database lets one
win — the loser reads on and is refused. Never a counter, never `$inc`. Each claim has a
unique key (the payment's: `ent:<entitlement>` for a festival gift), so a retried payment
claims once, and a release (a voided entitlement, a reversed payment) is appended once.

This is the API part 2 (condolences, birthdays) calls:

    standing = await caps.claim(member_id, Category.hospitalisation, 2026, 80_000, key)
    # raises Refused 422 `welfare.cap_exceeded` with cap/used/remaining (fen and words)
    await caps.release(key)  # the payment was reversed: its amount counts no more

A payment tried again after its claim was released (the ledger refused it) claims under
`key_in_force`: a released key never counts again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.welfare.policy.domain import Standing, breach, check_payment
from services.welfare.policy.profile import Category, Festival, Profile
from shared.claims import append_entry, entry_id, setup_entry_indexes
from shared.timeutil import utcnow

CAPS = "welfare_caps"
RELEASE = "#release"
ATTEMPT = "~"  # `key_in_force`: the n-th claim of a payment whose earlier ones were released


def account_of(member_id: str, category: Category, year: int) -> str:
    return f"cap:{member_id}:{category.value}:{year}"


@dataclass(frozen=True)
class CapRequest:
    member_id: str
    category: Category
    year: int
    amount_fen: int
    key: str  # the payment's idempotency key (unique in the whole book)
    cause: str = ""


@dataclass(frozen=True)
class Claimed:
    request: CapRequest
    standing: Standing  # after the claim, or as it stood when refused
    claimed: bool


class CapBook:
    def __init__(self, db: AsyncDatabase, profile: Profile) -> None:
        self.coll: AsyncCollection = db[CAPS]
        self.profile = profile

    async def setup_indexes(self) -> None:
        await setup_entry_indexes(self.coll, keyed=True)

    # -- reading ---------------------------------------------------------------------------

    async def _chain(self, account: str) -> list[dict[str, Any]]:
        """The chain's entries, walking `_id`s from 1 (a person's chain is short)."""
        found: list[dict[str, Any]] = []
        while entry := await self.coll.find_one({"_id": entry_id(account, len(found) + 1)}):
            found.append(entry)
        return found

    async def _end(self, account: str) -> dict[str, Any] | None:
        chain = await self._chain(account)
        return chain[-1] if chain else None

    async def standing(self, member_id: str, category: Category, year: int) -> Standing:
        last = await self._end(account_of(member_id, category, year))
        used = -last["balance_fen"] if last else 0
        return Standing(category, year, self.profile.cap(category).per_year_fen, used)

    async def year(self, member_id: str, year: int) -> list[Standing]:
        found = await asyncio.gather(*(self.standing(member_id, c, year) for c in Category))
        return list(found)

    async def key_in_force(self, member_id: str, category: Category, year: int, base: str) -> str:
        """The key a payment claims under now: `base`, or once that claim was released (the
        ledger refused the payment), `base~2`, then `base~3` …

        A key claims once: claimed again after its release it answers its old entry and
        counts nothing, so a payment tried again would be paid uncounted. The first key whose
        release is not in the chain is the one a retry, a payment sent twice at once and a
        cancellation all name: one claim in force at a time, each counted once. Read from the
        member's own chain (by `_id`, as every read here), where all of them are."""
        keys = {e.get("key") for e in await self._chain(account_of(member_id, category, year))}
        attempt, key = 1, base
        while key + RELEASE in keys:
            attempt += 1
            key = f"{base}{ATTEMPT}{attempt}"
        return key

    # -- claiming --------------------------------------------------------------------------

    def _entry(self, request: CapRequest) -> dict[str, Any]:
        return {
            "member_id": request.member_id,
            "category": request.category.value,
            "year": request.year,
            "cause": request.cause,
            "at": utcnow(),
        }

    async def claim(
        self,
        request: CapRequest,
        *,
        gender: str | None = None,
        festival: Festival | None = None,
    ) -> Standing:
        """Count a payment to a person against their year's cap; once per key. Raises
        Refused (422 `welfare.cap_exceeded`) with the cap, what is used and what remains."""
        outcome = await self.try_claim(request, gender=gender, festival=festival)
        if not outcome.claimed:
            raise breach(outcome.standing, request.amount_fen)
        return outcome.standing

    async def try_claim(
        self,
        request: CapRequest,
        *,
        gender: str | None = None,
        festival: Festival | None = None,
    ) -> Claimed:
        cap = self.profile.cap(request.category)
        check_payment(cap, request.amount_fen, gender, festival)
        account = account_of(request.member_id, request.category, request.year)
        entry = await append_entry(
            self.coll,
            account,
            -request.amount_fen,
            floor_fen=-cap.per_year_fen,
            doc=self._entry(request),
            key=request.key,
        )
        if entry is None:
            standing = await self.standing(request.member_id, request.category, request.year)
            return Claimed(request, standing, claimed=False)
        used = -entry["balance_fen"]
        return Claimed(
            request, Standing(request.category, request.year, cap.per_year_fen, used), True
        )

    async def claim_many(self, requests: list[CapRequest], parallel: int = 16) -> list[Claimed]:
        """`try_claim` for many people at once (a festival plan's publication): first each as
        the first entry of its chain, in one bulk insert (`ordered=False`: each still under
        its own unique key); who has entries already goes the one-by-one way."""
        if not requests:
            return []
        out: dict[int, Claimed] = {}
        docs = []
        for request in requests:
            cap = self.profile.cap(request.category)
            account = account_of(request.member_id, request.category, request.year)
            docs.append(
                {
                    "_id": entry_id(account, 1),
                    **self._entry(request),
                    "account": account,
                    "seq": 1,
                    "amount_fen": -request.amount_fen,
                    "balance_fen": -request.amount_fen,
                    "key": request.key,
                }
            )
            if request.amount_fen > cap.per_year_fen:
                docs[-1] = {}
        candidates = [(i, d) for i, d in enumerate(docs) if d]
        refused: set[int] = {i for i, d in enumerate(docs) if not d}
        if candidates:
            try:
                await self.coll.insert_many([d for _, d in candidates], ordered=False)
            except BulkWriteError as exc:
                if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                    raise
                refused |= {candidates[e["index"]][0] for e in exc.details["writeErrors"]}
        for i, request in enumerate(requests):
            if i not in refused:
                cap_fen = self.profile.cap(request.category).per_year_fen
                standing = Standing(request.category, request.year, cap_fen, request.amount_fen)
                out[i] = Claimed(request, standing, claimed=True)
        gate = asyncio.Semaphore(parallel)

        async def one(i: int) -> None:
            async with gate:
                out[i] = await self.try_claim(requests[i])

        await asyncio.gather(*(one(i) for i in sorted(refused)))
        return [out[i] for i in range(len(requests))]

    async def release(self, key: str, cause: str = "") -> bool:
        """Give back what the claim under `key` counted (its payment was voided or reversed);
        once, however often asked. False: there was no such claim."""
        claim = await self.coll.find_one({"key": key})
        if claim is None or claim["amount_fen"] >= 0:
            return False
        request = CapRequest(
            claim["member_id"], Category(claim["category"]), claim["year"], 0, key, cause
        )
        await append_entry(
            self.coll,
            claim["account"],
            -claim["amount_fen"],
            floor_fen=None,
            doc=self._entry(request),
            key=key + RELEASE,
        )
        return True
