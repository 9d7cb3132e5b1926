"""Cases' and visits' collections: names, topics, indexes, and the scoped list queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.welfare.cases.domain import CaseKind, CaseSource, CaseStatus
from shared.mongo import find_by_ids

CASES = "welfare_cases"  # the list view; `welfare_cases_changes` is the change log
CASE_TOPIC = "welfare.case"
CASE_NOT_FOUND = ("case.not_found", "慰问事项不存在")
VISITS = "welfare_visits"
VISIT_TOPIC = "welfare.visit"
VISIT_NOT_FOUND = ("visit.not_found", "走访记录不存在")


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[CASES].create_index([("campus", 1), ("status", 1)])
    await db[CASES].create_index("member_id")
    await db[CASES].create_index("source_ref")
    await db[VISITS].create_index("case_id")


@dataclass(frozen=True)
class CaseFilter:
    status: CaseStatus | None = None
    kind: CaseKind | None = None
    source: CaseSource | None = None
    source_ref: str | None = None
    member_id: str | None = None
    year: int | None = None

    def query(self, scope: dict[str, Any]) -> dict[str, Any]:
        query: dict[str, Any] = dict(scope)
        for name in ("status", "kind", "source"):
            value = getattr(self, name)
            if value is not None:
                query[name] = value.value
        for name in ("source_ref", "member_id", "year"):
            value = getattr(self, name)
            if value is not None:
                query[name] = value
        return query


async def names_of(db: AsyncDatabase, member_ids: list[str]) -> dict[str, str]:
    """Members' names from welfare's member directory (one query), for the cadre's desk."""
    if not member_ids:
        return {}
    found = await find_by_ids(db["member_directory"], sorted(set(member_ids)), {"name": 1})
    return {i: d.get("name") or "" for i, d in found.items()}
