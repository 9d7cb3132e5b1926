"""Pure membership rules (会籍): no I/O; each change checks its rule and records its event."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.aggregate import Aggregate
from shared.errors import Conflict, Invalid
from shared.events.members import MemberJoined, MemberWithdrawn
from shared.text import (
    OPTIONAL_EMAIL_TEXT,
    OPTIONAL_MOBILE_TEXT,
    STAFF_NO_TEXT,
    VISIBLE_TEXT,
    fold_width,
    normalize,
)

STAFF_NO = re.compile(r"^[A-Z0-9-]{2,32}$")
MOBILE = re.compile(r"^1\d{10}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class MemberStatus(StrEnum):
    applied = "applied"  # 申请入会
    active = "active"  # 在会
    transferred = "transferred"  # 转会
    withdrawn = "withdrawn"  # 退会
    retired = "retired"  # 退休
    deceased = "deceased"  # 去世


STATUS_ZH = {
    MemberStatus.applied: "申请中",
    MemberStatus.active: "在会",
    MemberStatus.transferred: "已转会",
    MemberStatus.withdrawn: "已退会",
    MemberStatus.retired: "已退休",
    MemberStatus.deceased: "已去世",
}

# The membership lifecycle, in one table: action -> (the states it may start from, its end).
TRANSITIONS: dict[str, tuple[frozenset[MemberStatus], MemberStatus, str]] = {
    "withdraw": (frozenset({MemberStatus.active}), MemberStatus.withdrawn, "退会"),
}


class JoinMember(BaseModel):
    """Command: enrol a member of staff in the union (a cadre records it).

    The patterns accept what a school really types (full-width digits, stray spaces); `join`
    folds and checks them exactly.
    """

    staff_no: str = Field(
        max_length=40, pattern=STAFF_NO_TEXT, description="工号", examples=["T2023001"]
    )
    name: str = Field(max_length=64, pattern=VISIBLE_TEXT, description="姓名", examples=["王芳"])
    campus: str = Field(
        max_length=32, pattern=VISIBLE_TEXT, description="校区代码", examples=["main"]
    )
    department: str = Field(
        max_length=64, pattern=VISIBLE_TEXT, description="部门/系部", examples=["学前教育系"]
    )
    email: str | None = Field(
        None, max_length=128, pattern=OPTIONAL_EMAIL_TEXT, description="邮箱（接收通知）"
    )
    phone: str | None = Field(
        None, max_length=32, pattern=OPTIONAL_MOBILE_TEXT, description="手机号（11 位）"
    )


class Member(Aggregate):
    """A person in the union."""

    staff_no: str
    name: str
    department: str
    email: str | None = None
    phone: str | None = None
    status: MemberStatus
    joined_on: date
    withdrawn_on: date | None = None

    def withdraw(self, on: date) -> None:
        """Leave the union (退会): only an active member can."""
        self._move("withdraw")
        self.withdrawn_on = on
        self.record(MemberWithdrawn.of(self))

    def _move(self, action: str) -> None:
        allowed, target, label = TRANSITIONS[action]
        if self.status not in allowed:
            raise Conflict(
                "member.invalid_transition",
                f"会员当前状态为「{STATUS_ZH[self.status]}」，不能{label}",
                current=self.status.value,
                action=action,
            )
        self.status = target


def member_id_for(staff_no: str) -> str:
    """One member per staff number, by construction: the id is derived from it, so two
    enrolments of one person race for the same change-log key and only one can win."""
    return "m-" + hashlib.sha256(staff_no.encode()).hexdigest()[:12]


def _clean_optional(value: str | None) -> str | None:
    value = fold_width(value) if value is not None else None
    return value or None


def join(cmd: JoinMember, today: date) -> Member:
    """A new active member; raises Invalid on input a person must correct."""
    staff_no = fold_width(cmd.staff_no).upper()
    name = normalize(cmd.name)
    department = normalize(cmd.department)
    campus = normalize(cmd.campus)
    email = _clean_optional(cmd.email)
    phone = _clean_optional(cmd.phone)
    if phone:
        phone = re.sub(r"[\s\-]", "", phone)
    if not STAFF_NO.match(staff_no):
        raise Invalid("member.invalid_staff_no", f"工号「{cmd.staff_no}」格式不正确")
    if not name:
        raise Invalid("member.name_required", "姓名不能为空")
    if not campus:
        raise Invalid("member.campus_required", "校区不能为空")
    if not department:
        raise Invalid("member.department_required", "部门不能为空")
    if phone and not MOBILE.match(phone):
        raise Invalid("member.invalid_phone", f"手机号「{cmd.phone}」应为 11 位数字")
    if email and not EMAIL.match(email):
        raise Invalid("member.invalid_email", f"邮箱「{cmd.email}」格式不正确")
    member = Member(
        id=member_id_for(staff_no),
        staff_no=staff_no,
        name=name,
        campus=campus,
        department=department,
        email=email,
        phone=phone,
        status=MemberStatus.active,
        joined_on=today,
    )
    member.record(MemberJoined.of(member))
    return member
