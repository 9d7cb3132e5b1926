"""Pure membership rules (会员): no I/O, records the events a change causes."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from shared.events import IntegrationEvent
from shared.events.members import MemberJoined
from shared.text import normalize

STAFF_NO = re.compile(r"^[A-Z0-9-]{2,32}$")
MOBILE = re.compile(r"^1\d{10}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class MembershipError(ValueError):
    """A membership rule was broken; `code` is the stable problem code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class MemberStatus(StrEnum):
    applied = "applied"  # 申请入会
    active = "active"  # 在会
    transferred = "transferred"  # 转会
    withdrawn = "withdrawn"  # 退会
    retired = "retired"  # 退休
    deceased = "deceased"  # 去世


@dataclass(frozen=True)
class JoinMember:
    """Command: enrol a member of staff in the union (a cadre records it)."""

    staff_no: str
    name: str
    campus: str
    department: str
    email: str | None = None
    phone: str | None = None
    enrolled_by: str = ""  # who recorded it: kept with the member for the audit trail


@dataclass
class Member:
    id: str
    staff_no: str
    name: str
    campus: str
    department: str
    email: str | None
    phone: str | None
    status: MemberStatus
    joined_on: date
    enrolled_by: str = ""
    events: list[IntegrationEvent] = field(default_factory=list, compare=False)


def _clean_optional(value: str | None) -> str | None:
    value = normalize(value) if value is not None else None
    return value or None


def join(cmd: JoinMember, today: date) -> Member:
    """A new active member; raises MembershipError on input a person must correct."""
    staff_no = normalize(cmd.staff_no).upper()
    name = normalize(cmd.name)
    department = normalize(cmd.department)
    campus = normalize(cmd.campus)
    email = _clean_optional(cmd.email)
    phone = _clean_optional(cmd.phone)
    if phone:
        phone = phone.replace(" ", "").replace("-", "")
    if not STAFF_NO.match(staff_no):
        raise MembershipError("member.invalid_staff_no", f"工号「{cmd.staff_no}」格式不正确")
    if not name:
        raise MembershipError("member.name_required", "姓名不能为空")
    if not campus:
        raise MembershipError("member.campus_required", "校区不能为空")
    if not department:
        raise MembershipError("member.department_required", "部门不能为空")
    if phone and not MOBILE.match(phone):
        raise MembershipError("member.invalid_phone", f"手机号「{cmd.phone}」应为 11 位数字")
    if email and not EMAIL.match(email):
        raise MembershipError("member.invalid_email", f"邮箱「{cmd.email}」格式不正确")
    member = Member(
        id=f"m-{uuid.uuid4().hex[:12]}",
        staff_no=staff_no,
        name=name,
        campus=campus,
        department=department,
        email=email,
        phone=phone,
        status=MemberStatus.active,
        joined_on=today,
        enrolled_by=cmd.enrolled_by,
    )
    member.events.append(
        MemberJoined(
            member_id=member.id,
            staff_no=staff_no,
            name=name,
            campus=campus,
            department=department,
            email=email,
            joined_on=today,
        )
    )
    return member
