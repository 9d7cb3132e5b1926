"""The per-person yearly cap a case's payment is checked against: ONE call, in one place
(`handlers.pay_case`), through the `CapPolicy` protocol (`check_cap`).

`InterimCaps` is an interim implementation: its table is `data/interim-caps.json` of this
area, and it will be replaced at merge by the policy profile of funds-plans (issue 14), whose
`CapBook.claim` keeps the same kind of running total and answers the same 422. The running
total per member, category and year is a chain of unique-key claims (`shared.claims.
append_entry`, the cap as the floor of a negative balance), never a counter: two payments that
race for the last yuan try the same entry number and the database lets one win. Each claim
carries the case's key, so a payment retried (or sent twice at once) counts once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.welfare.cases.domain import CapCategory, CaseKind
from shared.claims import append_entry, entry_id, setup_entry_indexes
from shared.errors import Refused
from shared.timeutil import utcnow

TABLE = Path(__file__).parent / "data" / "interim-caps.json"
CAPS = "welfare_care_caps"  # interim: funds-plans' `welfare_caps` takes over at merge


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass(frozen=True)
class Table:
    version: str
    caps: dict[CapCategory, int]
    auto_amount: dict[CaseKind, int]
    birthday_fen: int


@cache
def interim_table() -> Table:
    raw: dict[str, Any] = json.loads(TABLE.read_text(encoding="utf-8"))
    return Table(
        version=raw["version"],
        caps={CapCategory(k): int(v) for k, v in raw["caps_per_year_fen"].items()},
        auto_amount={CaseKind(k): int(v) for k, v in raw["auto_amount_fen"].items()},
        birthday_fen=int(raw["birthday_fen"]),
    )


class CapPolicy(Protocol):
    async def check_cap(
        self, member_id: str, category: CapCategory, year: int, amount_fen: int, *, key: str
    ) -> int:
        """Count `amount_fen` against the member's cap for the year, once per `key`; returns
        what is used after it. Raises Refused 422 `welfare.cap_exceeded` (cap, used,
        remaining) when it does not fit."""
        ...

    async def release(self, key: str) -> None:
        """What `key` counted counts no more (a case cancelled after its cap was checked)."""
        ...


def account_of(member_id: str, category: CapCategory, year: int) -> str:
    return f"cap:{member_id}:{category.value}:{year}"


class InterimCaps:
    """`CapPolicy` on the interim table (see the module docstring)."""

    def __init__(self, db: AsyncDatabase, table: Table | None = None) -> None:
        self.coll: AsyncCollection = db[CAPS]
        self.table = table or interim_table()

    async def setup_indexes(self) -> None:
        await setup_entry_indexes(self.coll, keyed=True)

    async def used(self, member_id: str, category: CapCategory, year: int) -> int:
        account, seq, balance = account_of(member_id, category, year), 1, 0
        while (found := await self.coll.find_one({"_id": entry_id(account, seq)})) is not None:
            seq, balance = seq + 1, found["balance_fen"]
        return -balance

    async def check_cap(
        self, member_id: str, category: CapCategory, year: int, amount_fen: int, *, key: str
    ) -> int:
        cap = self.table.caps[category]
        entry = await append_entry(
            self.coll,
            account_of(member_id, category, year),
            -amount_fen,
            floor_fen=-cap,
            doc={"member_id": member_id, "category": category.value, "year": year, "at": utcnow()},
            key=f"cap:{key}",
        )
        if entry is None:
            used = await self.used(member_id, category, year)
            raise exceeded(category, year, cap, used, amount_fen)
        return -int(entry["balance_fen"])

    async def release(self, key: str) -> None:
        held = await self.coll.find_one({"key": f"cap:{key}"})
        if held is None:
            return
        await append_entry(
            self.coll,
            held["account"],
            -int(held["amount_fen"]),
            floor_fen=None,
            doc={**{k: held[k] for k in ("member_id", "category", "year")}, "at": utcnow()},
            key=f"release:{key}",
        )


def exceeded(category: CapCategory, year: int, cap: int, used: int, amount: int) -> Refused:
    remaining = max(cap - used, 0)
    return Refused(
        "welfare.cap_exceeded",
        f"{year} 年「{category.label}」每人上限 {yuan(cap)} 元，已用 {yuan(used)} 元，"
        f"尚余 {yuan(remaining)} 元，不足本次 {yuan(amount)} 元",
        category=category.value,
        year=year,
        cap_fen=cap,
        used_fen=used,
        remaining_fen=remaining,
        amount_fen=amount,
    )
