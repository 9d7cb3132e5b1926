"""Mutual-aid insurance (互助保障): schemes, enrolments and claims — the rules, no I/O.

A scheme is one per campus, year and code (`main:2026:major`): major illness for every
member (大病互助) or a women-only one (女职工特疾互助, eligibility by gender), with its
insurer, the premium the union pays per enrolled member, the enrolment deadline and whether
retirees take part (退休会员可参加, off by default; active members always do). An enrolment
is one per scheme and member; its premium is posted to the ledger once (the key is the
enrolment). A claim moves through `TRANSITIONS` only.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, JsonValue

from services.welfare.funds.chart import LineKind, current_chart
from shared.aggregate import Aggregate
from shared.errors import Conflict, Invalid, Refused
from shared.events.welfare_exams import (
    MutualAidClaimChanged,
    MutualAidEnrolled,
    MutualAidSchemeSaved,
)
from shared.labels import Labelled
from shared.text import VISIBLE_TEXT, fold_width


def _day_text(value: Any) -> Any:
    """A day comes as `YYYY-MM-DD` text: a number (an epoch count) is not a day a person chose."""
    if not isinstance(value, str | date):
        raise ValueError("日期应写作 YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_day_text)]


def whole(value: Any) -> Any:
    """A whole number as JSON writes it (3 or 3.0); never a bool or a text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("应为整数")
    return value


Whole = Annotated[int, BeforeValidator(whole)]
SPENDING_LINES: list[JsonValue] = [*sorted(current_chart().leaves_codes(LineKind.spending))]


class SchemeKind(Labelled):
    major_illness = "major_illness", "大病互助保障"
    women = "women", "女职工特殊疾病互助保障"


class ClaimStatus(Labelled):
    submitted = "submitted", "已提交"
    with_insurer = "with_insurer", "保险公司审核中"
    paid = "paid", "已赔付"
    refused = "refused", "不予赔付"


class SchemeSettings(BaseModel):
    name: str = Field(pattern=VISIBLE_TEXT, min_length=1, max_length=60, description="险种名称")
    kind: SchemeKind = Field(description="major_illness 大病 / women 女职工（仅限女职工）")
    insurer: str = Field(pattern=VISIBLE_TEXT, min_length=1, max_length=60, description="承保机构")
    premium_fen: Whole = Field(ge=1, le=1_000_000, description="每人保费（分），由工会支付")
    line: str = Field(
        "spend_rights_other",
        json_schema_extra={"enum": SPENDING_LINES},
        description="保费记入的支出科目（明细科目代码）",
    )
    enrol_until: Day = Field(description="参保截止日（北京时间，含当天）")
    retirees: bool = Field(False, strict=True, description="退休会员可参加（默认否：仅在会会员）")


def scheme_id_of(campus: str, year: int, code: str) -> str:
    return f"{campus}:{year}:{code}"


class Scheme(Aggregate):
    year: int
    code: str
    name: str
    kind: SchemeKind
    insurer: str
    premium_fen: int
    line: str
    enrol_until: date
    retirees: bool = False  # 退休会员可参加 (schemes saved before the setting: no)

    @classmethod
    def new(cls, campus: str, year: int, code: str, settings: SchemeSettings) -> Scheme:
        scheme = cls(
            id=scheme_id_of(campus, year, code),
            campus=campus,
            year=year,
            code=code,
            **settings.model_dump(),
        )
        scheme.record(scheme.saved())
        return scheme

    def revise(self, settings: SchemeSettings, enrolled: bool) -> None:
        if enrolled and (settings.premium_fen, settings.kind) != (self.premium_fen, self.kind):
            raise Conflict("mutual_aid.scheme_in_use", "已有会员参保，不能再改保费或险种类别")
        for name, value in settings.model_dump().items():
            setattr(self, name, value)
        self.record(self.saved())

    def saved(self) -> MutualAidSchemeSaved:
        return MutualAidSchemeSaved(
            scheme_id=self.id,
            campus=self.campus,
            year=self.year,
            kind=self.kind.value,
            enrol_until=self.enrol_until,
        )


def eligible(scheme: Scheme, person: dict[str, Any]) -> None:
    """Active members; retirees when the scheme says so (422 otherwise)."""
    status = person.get("status")
    if status == "active" or (status == "retired" and scheme.retirees):
        return
    if status == "retired":
        raise Refused(
            "mutual_aid.retirees_excluded",
            f"「{scheme.name}」未开放退休会员参加",
            scheme=scheme.id,
        )
    raise Refused("mutual_aid.not_eligible", "仅在会会员可参加互助保障", member_status=status)


def refusal(scheme: Scheme, person: dict[str, Any], today: date, by_cadre: bool) -> None:
    """Why this person may not enrol now (raises), nothing when they may."""
    if person.get("campus") != scheme.campus:
        raise Refused("mutual_aid.other_campus", "该会员不属于本校区")
    eligible(scheme, person)
    if scheme.kind is SchemeKind.women and person.get("gender") != "female":
        raise Refused(
            "mutual_aid.women_only",
            f"「{scheme.name}」仅限女职工参加",
            scheme=scheme.id,
        )
    if today > scheme.enrol_until and not by_cadre:
        raise Conflict(
            "mutual_aid.closed",
            f"参保已于 {scheme.enrol_until.isoformat()} 截止",
            enrol_until=scheme.enrol_until.isoformat(),
        )


ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def clean_id_number(value: str) -> str:
    """A mainland resident ID number (18 characters, GB 11643 check digit), or 422: the
    insurer refuses a list with a wrong one, so it is checked here, not there."""
    number = fold_width(value).strip().upper()
    if not ID_NUMBER.match(number):
        raise Invalid("mutual_aid.invalid_id_number", "身份证号应为 18 位", field="id_number")
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    if number[17] != _CHECK[total % 11]:
        raise Invalid(
            "mutual_aid.invalid_id_number", "身份证号校验位不符，请核对", field="id_number"
        )
    return number


def mask_id_number(number: str | None) -> str | None:
    return f"{number[:4]}{'*' * 10}{number[-4:]}" if number else None


class Enrolment(Aggregate):
    secret_fields = frozenset({"id_number"})

    scheme_id: str
    year: int
    member_id: str
    department: str | None = None
    id_number: str
    premium_fen: int
    premium_seq: int  # the ledger entry that paid it
    enrolled_on: date

    @classmethod
    def new(
        cls,
        scheme: Scheme,
        person: dict[str, Any],
        id_number: str,
        premium_seq: int,
        on: date,
    ) -> Enrolment:
        enrolment = cls(
            id=f"{scheme.id}:{person['_id']}",
            campus=scheme.campus,
            scheme_id=scheme.id,
            year=scheme.year,
            member_id=person["_id"],
            department=person.get("department"),
            id_number=id_number,
            premium_fen=scheme.premium_fen,
            premium_seq=premium_seq,
            enrolled_on=on,
        )
        enrolment.record(
            MutualAidEnrolled(
                enrolment_id=enrolment.id,
                scheme_id=scheme.id,
                member_id=enrolment.member_id,
                campus=scheme.campus,
            )
        )
        return enrolment


# Every move a claim can make: (from, to). Paid and refused are final.
TRANSITIONS: dict[tuple[ClaimStatus, ClaimStatus], str] = {
    (ClaimStatus.submitted, ClaimStatus.with_insurer): "send_to_insurer",
    (ClaimStatus.submitted, ClaimStatus.refused): "refuse",
    (ClaimStatus.with_insurer, ClaimStatus.paid): "pay",
    (ClaimStatus.with_insurer, ClaimStatus.refused): "refuse",
}


class Claim(Aggregate):
    scheme_id: str
    member_id: str
    status: ClaimStatus
    claimed_fen: int
    paid_fen: int | None = None
    occurred_on: date
    reason: str | None = None  # why refused

    @classmethod
    def new(cls, claim_id: str, enrolment: Enrolment, claimed_fen: int, on: date) -> Claim:
        claim = cls(
            id=claim_id,
            campus=enrolment.campus,
            scheme_id=enrolment.scheme_id,
            member_id=enrolment.member_id,
            status=ClaimStatus.submitted,
            claimed_fen=claimed_fen,
            occurred_on=on,
        )
        claim.record(claim.changed())
        return claim

    def move(self, to: ClaimStatus, paid_fen: int | None, reason: str | None) -> None:
        if (self.status, to) not in TRANSITIONS:
            raise Conflict(
                "mutual_aid.claim_state",
                f"理赔当前为「{self.status.label}」，不能改为「{to.label}」",
                current=self.status.value,
            )
        if to is ClaimStatus.paid:
            if paid_fen is None:
                raise Invalid("mutual_aid.paid_amount_required", "赔付须填写赔付金额")
            if paid_fen > self.claimed_fen:
                raise Invalid(
                    "mutual_aid.paid_over_claimed",
                    "赔付金额不能超过申请金额",
                    claimed_fen=self.claimed_fen,
                )
            self.paid_fen = paid_fen
        if to is ClaimStatus.refused:
            if not reason:
                raise Invalid("mutual_aid.reason_required", "不予赔付须写明原因")
            self.reason = reason
        self.status = to
        self.record(self.changed())

    def changed(self) -> MutualAidClaimChanged:
        return MutualAidClaimChanged(
            claim_id=self.id,
            scheme_id=self.scheme_id,
            member_id=self.member_id,
            campus=self.campus,
            status=self.status.value,
        )
