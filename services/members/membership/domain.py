"""Pure membership rules (会籍): no I/O; each change checks its rule and records its events."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.members.membership.children import Child, clean_children
from shared.aggregate import Aggregate
from shared.errors import Conflict, Invalid, Refused
from shared.events import IntegrationEvent
from shared.events.members import (
    ContactChanged,
    ContactErased,
    EmailChangeRequested,
    MemberApplied,
    MemberDeceased,
    MemberJoined,
    MemberJoinedV2,
    MemberRejected,
    MemberRetired,
    MemberTransferred,
    MemberUpdated,
    MemberWithdrawn,
)
from shared.text import (
    OPTIONAL_EMAIL_TEXT,
    OPTIONAL_MOBILE_TEXT,
    STAFF_NO_TEXT,
    VISIBLE_TEXT,
    fold_width,
    normalize,
)
from shared.timeutil import Day
from shared.vocabulary.members import MemberChange, MemberStatus, UnionRole

STAFF_NO = re.compile(r"^[A-Z0-9-]{2,32}$")
MOBILE = re.compile(r"^1\d{10}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# 18 digits, the last may be X (GB 11643); the check digit is verified too.
ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
ID_NUMBER_TEXT = r"^[\s　]*(?:[0-9０-９]{17}[0-9０-９XxＸｘ])?[\s　]*$"

Gender = Literal["female", "male"]


# The membership lifecycle, in one table: action -> (states it may start from, end, label).
TRANSITIONS: dict[str, tuple[frozenset[MemberStatus], MemberStatus, str]] = {
    "approve": (frozenset({MemberStatus.applied}), MemberStatus.active, MemberChange.approve.label),
    "reject": (frozenset({MemberStatus.applied}), MemberStatus.rejected, MemberChange.reject.label),
    "reapply": (
        frozenset({MemberStatus.rejected, MemberStatus.withdrawn}),
        MemberStatus.applied,
        MemberChange.reapply.label,
    ),
    "transfer": (
        frozenset({MemberStatus.active}),
        MemberStatus.active,
        MemberChange.transfer.label,
    ),
    "withdraw": (
        frozenset({MemberStatus.active}),
        MemberStatus.withdrawn,
        MemberChange.withdraw.label,
    ),
    "retire": (frozenset({MemberStatus.active}), MemberStatus.retired, MemberChange.retire.label),
    "decease": (
        frozenset({MemberStatus.active, MemberStatus.retired}),
        MemberStatus.deceased,
        MemberChange.decease.label,
    ),
    "update": (
        frozenset(MemberStatus) - {MemberStatus.deceased},
        MemberStatus.active,  # not used: an update keeps the status
        MemberChange.update.label,
    ),
}


class EmploymentType(StrEnum):
    established = "在编"
    contract = "合同"
    agency = "人事代理"
    dispatched = "劳务派遣"
    rehired = "退休返聘"
    other = "其他"


class CongressTerm(BaseModel):
    """A staff-congress representative term (教代会代表任期): a start and a length, so an
    end before the start cannot even be written down."""

    term: str = Field(max_length=32, pattern=VISIBLE_TEXT, description="届次，如「第五届」")
    start_year: int = Field(ge=1949, le=2100, description="任期开始年份")
    years: int = Field(3, ge=1, le=10, description="任期年数（通常 3 或 5 年）")

    @property
    def end_year(self) -> int:
        return self.start_year + self.years - 1


# -- commands ---------------------------------------------------------------------------------


class _Details(BaseModel):
    """What a cadre may record about a person, besides the keys and the contact details.

    The patterns accept what a school really types (full-width digits, stray spaces, empty
    cells); the rules fold and check them exactly.
    """

    gender: Gender | None = Field(None, description="female 女 / male 男")
    birth_date: Day | None = Field(None, description="出生日期")
    position: str | None = Field(None, max_length=64, pattern=VISIBLE_TEXT, description="职务/岗位")
    employment_type: EmploymentType | None = Field(None, description="用工形式")
    hire_date: Day | None = Field(None, description="入职日期")
    small_group: str | None = Field(
        None, max_length=32, pattern=VISIBLE_TEXT, description="教工小家"
    )
    roles: list[UnionRole] = Field(default_factory=list, max_length=6, description="工会职务")
    congress_terms: list[CongressTerm] = Field(default_factory=list, max_length=10)
    id_number: str | None = Field(
        None, max_length=40, pattern=ID_NUMBER_TEXT, description="身份证号（加密保存）"
    )
    salary_base_fen: int | None = Field(
        None, ge=0, le=100_000_000, description="会费基数（分，加密保存）"
    )


class ContactDetails(BaseModel):
    """Contact details: a member edits their own; they travel only on `members.contact`."""

    phone: str | None = Field(
        None, max_length=32, pattern=OPTIONAL_MOBILE_TEXT, description="手机号"
    )
    email: str | None = Field(None, max_length=128, pattern=OPTIONAL_EMAIL_TEXT, description="邮箱")
    wecom_userid: str | None = Field(
        None, max_length=64, pattern=r"^[\sA-Za-z0-9_.@\-]*$", description="企业微信 userid"
    )


class JoinMember(_Details, ContactDetails):
    """Command: enrol a member of staff (a cadre), or record their application."""

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
    as_applicant: bool = Field(False, description="只登记为入会申请（待审批）；默认直接入会")


class UpdateDetails(_Details):
    """Command: a cadre corrects or completes a member's record (only the fields given)."""

    name: str | None = Field(None, max_length=64, pattern=VISIBLE_TEXT)
    department: str | None = Field(None, max_length=64, pattern=VISIBLE_TEXT)


# -- the aggregate ----------------------------------------------------------------------------


class Member(Aggregate):
    """A person in the union.

    `email` is the address the member confirmed (login links and notices go there, and only
    it travels on `members.contact`); an address set since by anyone, the member included,
    waits in `pending_email` until the member, signed in as themself, opens the single-use
    link mailed to it (`confirm_email`). Only the link's SHA-256 is kept.
    """

    secret_fields = frozenset({"id_number", "salary_base_fen"})
    # Minors' data, and the confirmation link's hash: never in the history, nor events.
    private_fields = frozenset({"children", "email_confirmation_digest"})

    staff_no: str
    name: str
    department: str
    gender: Gender | None = None
    birth_date: date | None = None
    position: str | None = None
    employment_type: EmploymentType | None = None
    hire_date: date | None = None
    phone: str | None = None
    email: str | None = None
    pending_email: str | None = None  # set, not yet confirmed by the member
    # The address came with the enrolment (a cadre's form, an import), not from the member:
    # it is theirs until their roles give more than whoever enrolled them held, then it
    # waits for the member's confirmation (`reconfirm_email`). Addresses from before this
    # rule count as the member's.
    email_from_enrolment: bool = False
    email_confirmation_digest: str | None = None  # SHA-256 of the link's token
    email_confirmation_expires: datetime | None = None
    wecom_userid: str | None = None
    id_number: str | None = None
    salary_base_fen: int | None = None
    small_group: str | None = None
    roles: list[UnionRole] = Field(default_factory=list)
    congress_terms: list[CongressTerm] = Field(default_factory=list)
    status: MemberStatus
    applied_on: date | None = None
    joined_on: date | None = None
    left_on: date | None = None  # withdrawn, retired or deceased on
    reject_reason: str | None = None
    children: list[Child] = Field(default_factory=list)  # 入园入托统计 (services/…/childcare)

    # What subscribers learn (MemberFacts reads these by name).
    @property
    def member_id(self) -> str:
        return self.id

    @property
    def birthday(self) -> str | None:
        return self.birth_date.strftime("%m-%d") if self.birth_date else None

    @property
    def birth_year(self) -> int | None:
        return self.birth_date.year if self.birth_date else None

    def contact_event(self) -> IntegrationEvent:
        return ContactChanged.of(self)

    # -- lifecycle ----------------------------------------------------------------------------

    def approve(self, on: date) -> None:
        """批准入会."""
        self._move("approve")
        self.joined_on = on
        self._joined()

    def reject(self, reason: str) -> None:
        reason = normalize(reason)
        if not reason:
            raise Invalid("member.reason_required", "驳回入会申请须写明原因")
        self._move("reject")
        self.reject_reason = reason
        self.record(MemberRejected.of(self, reason=reason))

    def reapply(self, on: date) -> None:
        self._move("reapply")
        self.applied_on, self.reject_reason, self.left_on = on, None, None
        self.record(MemberApplied.of(self, applied_on=on))

    def transfer(self, to_campus: str, on: date) -> None:
        """转校区: the member stays active on another campus."""
        to_campus = normalize(to_campus)
        self._move("transfer")
        if to_campus == self.campus:
            raise Conflict("member.same_campus", f"会员已在校区「{to_campus}」", campus=to_campus)
        before, self.campus = self.campus, to_campus
        self.record(MemberTransferred.of(self, from_campus=before, transferred_on=on))
        if self.has_contact:
            self.record(self.contact_event())  # notify keeps the campus of each contact

    def withdraw(self, on: date) -> None:
        """退会: only an active member can."""
        self._move("withdraw")
        self.left_on = on
        self.record(MemberWithdrawn.of(self, withdrawn_on=on))
        self.record(ContactErased.of(self))
        self._drop_pending_email()

    def retire(self, on: date) -> None:
        """退休: a retired member stays in the union (退休会员)."""
        self._move("retire")
        self.left_on = on
        self.record(MemberRetired.of(self, retired_on=on))

    def decease(self, on: date) -> None:
        self._move("decease")
        self.left_on = on
        self.record(MemberDeceased.of(self, deceased_on=on))
        self.record(ContactErased.of(self))
        self._drop_pending_email()

    # -- details ------------------------------------------------------------------------------

    def update(self, cmd: UpdateDetails) -> None:
        """A cadre's correction: only the fields given; a no-op when nothing changes."""
        self._check_can_update()
        given = cmd.model_dump(exclude_unset=True)
        values = _clean_details(given)
        changed = [k for k, v in values.items() if getattr(self, k) != v]
        for key in changed:
            setattr(self, key, values[key])
        if changed:
            public = sorted(k for k in changed if k not in self.secret_fields)
            self.record(MemberUpdated.of(self, changed=public))

    def contact_changes(self, cmd: ContactDetails) -> set[str]:
        """The contact fields `cmd` would change (an e-mail already pending is no change)."""
        values = _clean_contact(cmd.model_dump(exclude_unset=True))
        changed = {k for k, v in values.items() if getattr(self, k) != v}
        if "email" in changed and values["email"] is not None:
            if values["email"] == self.pending_email:
                changed.discard("email")
        return changed

    def change_contact(self, cmd: ContactDetails) -> None:
        """The member (or a cadre) changes phone, e-mail or WeCom id: only those given. A new
        e-mail waits as `pending_email` for the member's confirmation (`ask_email_confirmation`
        records the link); setting the confirmed address again drops a pending one; an empty
        e-mail removes the address (nothing to confirm)."""
        self._check_can_update()
        values = _clean_contact(cmd.model_dump(exclude_unset=True))
        changed = sorted(self.contact_changes(cmd))
        pending = "email" in changed and values["email"] is not None
        if "email" in values and (values["email"] == self.email or values["email"] is None):
            if self.pending_email is not None:
                self._drop_pending_email()
                changed = sorted({*changed, "pending_email"})
        for key in changed:
            if key == "email" and pending:
                self.pending_email = values["email"]
                self.email_confirmation_digest = self.email_confirmation_expires = None
            elif key != "pending_email":
                setattr(self, key, values[key])
                if key == "email":  # removed: nothing left that came with the enrolment
                    self.email_from_enrolment = False
        if changed:
            # The shared topic learns only that something changed, never the values.
            self.record(MemberUpdated.of(self, changed=changed))
            if set(changed) - {"email", "pending_email"} or ("email" in changed and not pending):
                self.record(self.contact_event())

    @property
    def awaits_email_confirmation(self) -> bool:
        """An address is pending and no link has been mailed for it yet."""
        return self.pending_email is not None and self.email_confirmation_digest is None

    def ask_email_confirmation(self, digest: str, expires_at: datetime, sealed: str) -> None:
        """Record the link mailed to the pending address: only its hash is kept; notify gets
        the address and the link sealed for it alone (`sealed`), and tells the old address."""
        if self.pending_email is None:
            return
        self.email_confirmation_digest = digest
        self.email_confirmation_expires = expires_at
        self.record(
            EmailChangeRequested.of(
                self, sealed_for_notify=sealed, expires_at=expires_at, had_email=bool(self.email)
            )
        )

    def confirm_email(self, digest: str, now: datetime) -> None:
        """The member opened the link mailed to the pending address: it becomes theirs."""
        self._check_can_update()
        expected = self.email_confirmation_digest
        expires = self.email_confirmation_expires
        if (
            self.pending_email is None
            or expected is None
            or not hmac.compare_digest(expected, digest)
            or expires is None
            or expires <= now
        ):
            raise Refused(
                "member.email_confirmation_invalid",
                "邮箱确认链接无效、已使用或已过期；请重新修改邮箱以获取新的确认邮件",
            )
        self.email = self.pending_email
        self.email_from_enrolment = False
        self._drop_pending_email()
        self.record(MemberUpdated.of(self, changed=["email", "pending_email"]))
        self.record(self.contact_event())

    def reconfirm_email(self) -> None:
        """The member now signs in with more than before: an address that came with the
        enrolment (whoever enrolled them may read it) waits for the member's confirmation,
        so a login link cannot hand the new grants to that mailbox."""
        if self.email is None or not self.email_from_enrolment:
            return
        self.pending_email, self.email = self.email, None
        self.email_from_enrolment = False
        self.email_confirmation_digest = self.email_confirmation_expires = None
        self.record(MemberUpdated.of(self, changed=["email", "pending_email"]))
        self.record(self.contact_event())

    def hold_email_for_confirmation(self) -> None:
        """An address given on an application (filed by anyone who knows a staff number) is
        not the member's until they confirm it: it waits as pending."""
        if self.email is not None:
            self.pending_email, self.email = self.email, None
        self.email_from_enrolment = False

    def _drop_pending_email(self) -> None:
        self.pending_email = None
        self.email_confirmation_digest = self.email_confirmation_expires = None

    def set_children(self, children: list[Child]) -> None:
        """The member states their children (the whole list); a no-op when nothing changes.
        Subscribers learn only that `children` changed, never who they are."""
        self._check_can_update()
        cleaned = clean_children(children)
        if cleaned == self.children:
            return
        self.children = cleaned
        self.record(MemberUpdated.of(self, changed=["children"]))

    @property
    def has_contact(self) -> bool:
        return bool(self.phone or self.email or self.wecom_userid)

    def _check_can_update(self) -> None:
        allowed, _, label = TRANSITIONS["update"]
        if self.status not in allowed:
            raise Conflict(
                "member.invalid_transition",
                f"会员当前状态为「{self.status.label}」，不能{label}",
                current=self.status.value,
                action="update",
            )

    def _joined(self) -> None:
        self.record(MemberJoinedV2.of(self))
        assert self.joined_on is not None
        self.record(MemberJoined.of(self, email=None, joined_on=self.joined_on))
        if self.has_contact:
            self.record(self.contact_event())

    def _move(self, action: str) -> None:
        allowed, target, label = TRANSITIONS[action]
        if self.status not in allowed:
            raise Conflict(
                "member.invalid_transition",
                f"会员当前状态为「{self.status.label}」，不能{label}",
                current=self.status.value,
                action=action,
            )
        self.status = target


# -- creating one -----------------------------------------------------------------------------


def member_id_for(staff_no: str) -> str:
    """One member per staff number, by construction: the id is derived from it, so two
    enrolments of one person race for the same change-log key and only one can win."""
    return "m-" + hashlib.sha256(staff_no.encode()).hexdigest()[:12]


def clean_staff_no(value: str) -> str:
    staff_no = fold_width(value).upper()
    if not STAFF_NO.match(staff_no):
        raise Invalid("member.invalid_staff_no", f"工号「{value}」格式不正确", field="staff_no")
    return staff_no


def join(cmd: JoinMember, today: date) -> Member:
    """A new member (active, or an applicant); raises Invalid on input a person must correct."""
    staff_no = clean_staff_no(cmd.staff_no)
    name = _required(cmd.name, "name", "姓名")
    campus = _required(cmd.campus, "campus", "校区")
    department = _required(cmd.department, "department", "部门")
    details = _clean_details(cmd.model_dump(include=set(_Details.model_fields)))
    contact = _clean_contact(cmd.model_dump(include=set(ContactDetails.model_fields)))
    member = Member(
        id=member_id_for(staff_no),
        staff_no=staff_no,
        name=name,
        campus=campus,
        department=department,
        status=MemberStatus.applied if cmd.as_applicant else MemberStatus.active,
        email_from_enrolment=contact.get("email") is not None,
        applied_on=today,
        joined_on=None if cmd.as_applicant else today,
        **details,
        **contact,
    )
    if cmd.as_applicant:
        member.record(MemberApplied.of(member, applied_on=today))
    else:
        member._joined()
    return member


def _required(value: str, field: str, label: str) -> str:
    cleaned = normalize(value)
    if not cleaned:
        raise Invalid(f"member.{field}_required", f"{label}不能为空", field=field)
    return cleaned


def _optional(value: str | None) -> str | None:
    value = normalize(value) if value is not None else None
    return value or None


def _clean_details(given: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key in ("name", "department"):
            if value is not None:
                out[key] = _required(value, key, "姓名" if key == "name" else "部门")
        elif key in ("position", "small_group"):
            out[key] = _optional(value)
        elif key == "id_number":
            out[key] = clean_id_number(value)
        elif key == "roles":
            out[key] = sorted(set(value or []))
        elif key == "congress_terms":
            out[key] = [CongressTerm.model_validate(t) for t in value or []]
        else:
            out[key] = value
    return out


def _clean_contact(given: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in given.items():
        value = fold_width(value) if value is not None else None
        value = value or None
        if key == "phone" and value:
            value = re.sub(r"[\s\-]", "", value)
            if not MOBILE.match(value):
                raise Invalid(
                    "member.invalid_phone", f"手机号「{value}」应为 11 位数字", field="phone"
                )
        if key == "email" and value and not EMAIL.match(value):
            raise Invalid("member.invalid_email", f"邮箱「{value}」格式不正确", field="email")
        out[key] = value
    return out


def clean_wecom_userid(given: str | None) -> str | None:
    """A WeCom user id as a contact change stores it."""
    return _clean_contact({"wecom_userid": given})["wecom_userid"]


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def clean_id_number(value: str | None) -> str | None:
    """A mainland resident ID number (18 characters), or None."""
    if value is None:
        return None
    number = fold_width(value).upper()
    if not number:
        return None
    if not ID_NUMBER.match(number):
        raise Invalid("member.invalid_id_number", "身份证号应为 18 位", field="id_number")
    return number


def id_number_checks_out(number: str) -> bool:
    """The GB 11643 check digit matches. A mismatch is a warning for the person entering it
    (a typo is likely), not a refusal: the schema cannot state a checksum, and a record with
    a number to correct is worth more than no record."""
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return number[17] == _ID_CHECK[total % 11]
