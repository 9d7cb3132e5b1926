"""Condolence cases (慰问) and their visits: the rules, no I/O.

A case is raised (by a cadre, by the member for themself, or automatically from another
service's event), approved or declined by the chair, then paid — once, posted to the ledger —
or cancelled before it is paid. Every step is one row of `TRANSITIONS` and one change of the
aggregate (a unique-key insert of its next version, `AggregateStore.change`), so two chairs
approving at once, or a payment sent twice, make one step.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime

from shared.aggregate import Aggregate
from shared.errors import Conflict, Invalid
from shared.events.welfare import (
    CaseApproved,
    CaseCancelled,
    CaseDeclined,
    CasePaid,
    CaseRaised,
    VisitRecorded,
)
from shared.labels import Labelled
from shared.vocabulary.welfare import CaseKind, CaseSource, CaseStatus
from shared.vocabulary.welfare_plans import Category

MAX_CASE_FEN = 10_000_000  # 十万元: far beyond any condolence; a typo guard


# Which cap of the policy profile (services/welfare/policy, `CapBook`) a kind of case counts
# against (None: the profile sets no per-person cap for it).
CATEGORY: dict[CaseKind, Category | None] = {
    CaseKind.illness: Category.hospitalisation,
    CaseKind.death_member: Category.death_member,
    CaseKind.death_relative: Category.death_relative,
    CaseKind.marriage: Category.marriage,
    CaseKind.childbirth: Category.childbirth,
    CaseKind.retirement: Category.retirement,
    CaseKind.blood_donation: None,
    CaseKind.hardship: None,
    CaseKind.festival_visit: None,
}

# What a case raised automatically asks for (the chair may approve another amount); the
# union's own standard, not a cap: the payment is still checked against the profile's caps.
AUTO_AMOUNT_FEN: dict[CaseKind, int] = {
    CaseKind.blood_donation: 20_000,
    CaseKind.retirement: 100_000,
    CaseKind.death_member: 200_000,
}


def cap_key(case_id: str) -> str:
    """The case's claim in the cap book (unique in the whole book, so prefixed): a payment
    retried or sent twice at once counts once, a cancellation gives it back once."""
    return f"case:{case_id}"


# The ledger line a case's money is posted to (中华全国总工会 2017 收支管理办法: 会员婚丧嫁娶、
# 生病、退休离岗的慰问 are 职工活动支出; 困难帮扶 and 送温暖 are 维权支出).
LINE: dict[CaseKind, str] = {
    CaseKind.illness: "spend_activity_other",
    CaseKind.death_member: "spend_activity_other",
    CaseKind.death_relative: "spend_activity_other",
    CaseKind.marriage: "spend_activity_other",
    CaseKind.childbirth: "spend_activity_other",
    CaseKind.retirement: "spend_activity_other",
    CaseKind.blood_donation: "spend_activity_other",
    CaseKind.hardship: "spend_rights_hardship",
    CaseKind.festival_visit: "spend_rights_warmth",
}


class CaseStep(Labelled):
    approve = "approve", "批准"
    decline = "decline", "不予批准"
    pay = "pay", "发放"
    cancel = "cancel", "撤销"


# The one table of a case's steps: from which statuses, to which.
TRANSITIONS: dict[CaseStep, tuple[frozenset[CaseStatus], CaseStatus]] = {
    CaseStep.approve: (frozenset({CaseStatus.raised}), CaseStatus.approved),
    CaseStep.decline: (frozenset({CaseStatus.raised}), CaseStatus.declined),
    CaseStep.pay: (frozenset({CaseStatus.approved}), CaseStatus.paid),
    CaseStep.cancel: (frozenset({CaseStatus.raised, CaseStatus.approved}), CaseStatus.cancelled),
}


def allowed(step: CaseStep, status: CaseStatus) -> None:
    sources, _ = TRANSITIONS[step]
    if status not in sources:
        raise Conflict(
            "case.invalid_transition",
            f"慰问事项当前状态为「{status.label}」，不能{step.label}",
            current=status.value,
            step=step.value,
        )


def plausible(day: date, what: str) -> date:
    """A day of the union's life (2000–2100); a typo like 3788 is refused, not stored."""
    if not 2000 <= day.year <= 2100:
        raise Conflict(
            "case.date_out_of_range",
            f"{what}「{day.isoformat()}」不在 2000–2100 年之间",
            day=day.isoformat(),
        )
    return day


def auto_case_id(source: CaseSource, *parts: str) -> str:
    """The id of a case raised from an event: the same facts give the same id, so a replayed
    event races for the same key and creates nothing twice."""
    digest = hashlib.sha256("\x1f".join([source.value, *parts]).encode()).hexdigest()
    return f"c-{digest[:12]}"


def new_case_id() -> str:
    return f"c-{uuid.uuid4().hex[:12]}"


class Case(Aggregate):
    member_id: str
    kind: CaseKind
    status: CaseStatus = CaseStatus.raised
    amount_fen: int
    year: int
    summary: str  # 事由, short and not sensitive (the sensitive part goes in a sealed visit note)
    source: CaseSource
    source_ref: str | None = None  # the activity of a blood drive, …
    occurred_on: date  # the day of what happened (admission, wedding, donation, death)
    raised_by: str
    raised_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    paid_by: str | None = None
    paid_at: datetime | None = None
    ledger_entry_id: str | None = None
    cancelled_reason: str | None = None

    @property
    def category(self) -> Category | None:
        return CATEGORY[self.kind]

    @property
    def line(self) -> str:
        return LINE[self.kind]

    @classmethod
    def raise_new(
        cls,
        case_id: str,
        *,
        member_id: str,
        campus: str,
        kind: CaseKind,
        amount_fen: int,
        summary: str,
        source: CaseSource,
        occurred_on: date,
        by: str,
        now: datetime,
        source_ref: str | None = None,
    ) -> Case:
        if not 0 <= amount_fen <= MAX_CASE_FEN:
            raise Invalid(
                "case.amount_invalid", "慰问金额须在 0 至 100000 元之间", amount_fen=amount_fen
            )
        plausible(occurred_on, "事由发生日")
        case = cls(
            id=case_id,
            campus=campus,
            member_id=member_id,
            kind=kind,
            amount_fen=amount_fen,
            year=occurred_on.year,
            summary=summary,
            source=source,
            source_ref=source_ref,
            occurred_on=occurred_on,
            raised_by=by,
            raised_at=now,
        )
        case.record(
            CaseRaised(
                case_id=case.id,
                member_id=member_id,
                campus=campus,
                kind=kind.value,
                amount_fen=amount_fen,
                year=case.year,
                source=source.value,
            )
        )
        return case

    def _move(self, step: CaseStep) -> None:
        allowed(step, self.status)
        self.status = TRANSITIONS[step][1]

    def approve(self, by: str, now: datetime, note: str | None, amount_fen: int | None) -> None:
        self._move(CaseStep.approve)
        if amount_fen is not None:
            if not 0 <= amount_fen <= MAX_CASE_FEN:
                raise Invalid("case.amount_invalid", "慰问金额须在 0 至 100000 元之间")
            self.amount_fen = amount_fen
        self.decided_by, self.decided_at, self.decision_note = by, now, note
        self.record(CaseApproved.of(self, kind=self.kind.value))

    def decline(self, by: str, now: datetime, note: str) -> None:
        self._move(CaseStep.decline)
        self.decided_by, self.decided_at, self.decision_note = by, now, note
        self.record(CaseDeclined.of(self, kind=self.kind.value))

    def pay(self, by: str, now: datetime, ledger_entry_id: str | None) -> None:
        self._move(CaseStep.pay)
        self.paid_by, self.paid_at, self.ledger_entry_id = by, now, ledger_entry_id
        self.record(CasePaid.of(self, kind=self.kind.value))

    def cancel(self, reason: str) -> None:
        self._move(CaseStep.cancel)
        self.cancelled_reason = reason
        self.record(CaseCancelled.of(self, kind=self.kind.value))


class Visit(Aggregate):
    """A visit for a case (走访): who went, when, what was brought; the notes sealed."""

    secret_fields = frozenset({"notes"})

    case_id: str
    member_id: str
    visitors: list[str]  # who visited (names as the cadre wrote them)
    visited_on: date
    brought: str  # 慰问品
    notes: str | None = None  # sealed at rest; the chair and the campus's cadres read them
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def record_new(
        cls,
        case: Case,
        *,
        visitors: list[str],
        visited_on: date,
        brought: str,
        notes: str | None,
        by: str,
        now: datetime,
    ) -> Visit:
        plausible(visited_on, "走访日期")
        if case.status in (CaseStatus.declined, CaseStatus.cancelled):
            raise Conflict(
                "case.closed",
                f"慰问事项已「{case.status.label}」，不能再记录走访",
                current=case.status.value,
            )
        visit = cls(
            id=f"v-{uuid.uuid4().hex[:12]}",
            campus=case.campus,
            case_id=case.id,
            member_id=case.member_id,
            visitors=visitors,
            visited_on=visited_on,
            brought=brought,
            notes=notes or None,
            recorded_by=by,
            recorded_at=now,
        )
        visit.record(VisitRecorded.of(visit))
        return visit
