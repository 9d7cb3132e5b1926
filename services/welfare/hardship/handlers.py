"""Hardship register use cases. Who may: the chair and the cadres of the member's campus, and
no one else (not finance, not the member): `require(Role.cadre, campus=…)` on every one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.welfare.hardship.domain import (
    HardshipFile,
    HardshipLevel,
    HardshipStatus,
    Help,
    Review,
    ReviewOutcome,
    file_id_of,
)
from shared.aggregate import Actor, AggregateStore
from shared.auth import Principal, Role
from shared.errors import Conflict, Invalid
from shared.readmodels.member_directory import MemberDirectory
from shared.timeutil import local_today, utcnow_ms

HARDSHIP = "welfare_hardship"
TOPIC = "welfare.hardship"
NOT_FOUND = ("hardship.not_found", "困难职工档案不存在")


@dataclass(frozen=True)
class Register:
    store: AggregateStore[HardshipFile]
    directory: MemberDirectory


async def open_file(
    register: Register, user: Principal, member_id: str, level: HardshipLevel, reason: str
) -> HardshipFile:
    """建档 (or re-open a closed file): a cadre of the member's campus."""
    member = await register.directory.get(member_id)
    if member is None:
        raise Invalid("member.not_found", "会员不存在", member_id=member_id)
    campus = str(member["campus"])
    user.require(Role.cadre, campus=campus)
    today, actor = local_today(), Actor.of(user)
    added = await register.store.add_if_absent(
        HardshipFile.open_new(member_id, campus, level, reason, today), actor, "open"
    )
    if added.created:
        return added.aggregate
    return await register.store.change(
        file_id_of(member_id), lambda f: f.reopen(level, reason, today), actor, "reopen"
    )


async def visible(register: Register, user: Principal, file_id: str) -> HardshipFile:
    found = await register.store.require(file_id)
    user.require(Role.cadre, campus=found.campus)
    return found


async def add_help(
    register: Register,
    user: Principal,
    file_id: str,
    given_on: date,
    what: str,
    amount_fen: int,
    case_id: str | None,
) -> HardshipFile:
    await visible(register, user, file_id)
    if not 2000 <= given_on.year <= 2100:
        raise Conflict("hardship.date_out_of_range", "帮扶日期不在 2000–2100 年之间")
    help_ = Help(
        year=given_on.year,
        given_on=given_on,
        what=what,
        amount_fen=amount_fen,
        case_id=case_id,
        by=user.subject,
    )
    return await register.store.change(file_id, lambda f: f.add_help(help_), Actor.of(user), "help")


async def review(
    register: Register, user: Principal, file_id: str, year: int, outcome: ReviewOutcome, note: str
) -> HardshipFile:
    """年度复核, once a year per file."""
    await visible(register, user, file_id)
    done = Review(year=year, outcome=outcome, note=note, by=user.subject, at=utcnow_ms())
    return await register.store.change(file_id, lambda f: f.review(done), Actor.of(user), "review")


async def list_files(
    register: Register, user: Principal, status: HardshipStatus | None, due_year: int | None
) -> list[HardshipFile]:
    user.require(Role.cadre)
    query: dict[str, Any] = dict(user.campus_filter())
    if status is not None:
        query["status"] = status.value
    found = await register.store.find(query, sort=[("opened_on", -1), ("_id", 1)], limit=1000)
    if due_year is not None:
        found = [f for f in found if f.due_review(due_year)]
    return found
