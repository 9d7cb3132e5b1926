"""Events published by the welfare service (福利): `welfare.ledger` and `welfare.budget`.

Every entry of the union's books — a budget adopted or amended, an income, a payment, a
reversal — is announced once, with its sequence number and hash, so a subscriber (or an
auditor's own copy of the topic) holds the chain's head independently of the database.
No event carries personal data: a payment to a person names its cause, never the person.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from shared.events import IntegrationEvent


class LedgerEntryPosted(IntegrationEvent):
    """An entry was appended to a campus's ledger for a fiscal year (记账)."""

    type = "welfare.ledger.entry_posted.v1"
    topic = "welfare.ledger"
    summary = "经费台账记账"

    entry_id: str = Field(description="`<campus>:<year>#<seq>`: the entry's id")
    campus: str = Field(description="campus code")
    year: int = Field(description="fiscal year (calendar year)")
    seq: int = Field(ge=1, description="position in the ledger, 1, 2, 3 … without gaps")
    kind: str = Field(description="budget_adopted / budget_amended / income / payment / reversal")
    line: str | None = Field(description="line code of the chart of accounts (null: budget)")
    amount_fen: int = Field(description="amount (fen); an amendment's change may be negative")
    reverses: int | None = Field(None, description="seq of the entry a reversal puts back")
    occurred_on: date | None = Field(None, description="business date (Asia/Shanghai)")
    hash: str = Field(description="SHA-256 of the entry, linking the one before it")


class LedgerBlockSealed(IntegrationEvent):
    """A run of proven ledger entries was sealed into one block (台账封存): the block's hash
    chains every block before it, so with this event outside the database a block rewritten
    in it (its hashes computed again) no longer matches."""

    type = "welfare.ledger.block_sealed.v1"
    topic = "welfare.ledger"
    summary = "经费台账封存一段记录"

    campus: str = Field(description="campus code")
    year: int = Field(description="fiscal year (calendar year)")
    number: int = Field(ge=1, description="the block's number, 1, 2, 3 … without gaps")
    first: int = Field(ge=1, description="seq of its first entry")
    last: int = Field(ge=1, description="seq of its last entry")
    hash: str = Field(description="SHA-256 over the block before's hash and this block")


class BudgetThresholdReached(IntegrationEvent):
    """A spending line has used 90% of its budget (预算使用达到预警线): announced once per
    line, year, campus and threshold, however many payments cross it together."""

    type = "welfare.budget.threshold_reached.v1"
    topic = "welfare.budget"
    summary = "预算科目使用达到预警线"

    campus: str = Field(description="campus code")
    year: int = Field(description="fiscal year")
    line: str = Field(description="line code")
    threshold_pct: int = Field(description="the threshold passed, in percent")
    budget_fen: int = Field(description="the line's budget when it was passed")
    spent_fen: int = Field(description="spent on the line when it was passed")
    seq: int = Field(description="the ledger entry that passed it")


# -- condolences and visits (慰问), the hardship register, birthdays: welfare-care ------------
# Each carries the member's id only: no name, no diagnosis, no visit note (those stay sealed in
# welfare's database, readable by the chair and the cadres of the member's campus).


class CaseRaised(IntegrationEvent):
    """A condolence case was raised (慰问申请): by a cadre, by the member, or automatically
    from another service's event (a blood donation, a retirement, a death)."""

    type = "welfare.case.raised.v1"
    topic = "welfare.case"
    summary = "慰问事项登记"
    subject_field = "case_id"

    case_id: str = Field(description="the case (event subject)")
    member_id: str = Field(description="the member the case is for")
    campus: str = Field(description="the member's campus")
    kind: str = Field(description="illness / death_member / death_relative / marriage / …")
    amount_fen: int = Field(ge=0, description="the amount proposed (fen)")
    year: int = Field(description="the year it counts in (caps, ledger)")
    source: str = Field(description="cadre / member / blood_donation / retirement / death")


class CaseApproved(IntegrationEvent):
    """The chair approved a case (主席审批同意)."""

    type = "welfare.case.approved.v1"
    topic = "welfare.case"
    summary = "慰问事项审批通过"
    subject_field = "case_id"

    case_id: str = Field(description="the case (event subject)")
    member_id: str = Field(description="the member the case is for")
    campus: str = Field(description="the member's campus")
    kind: str = Field(description="the case's kind")
    amount_fen: int = Field(ge=0, description="the amount approved (fen)")


class CaseDeclined(IntegrationEvent):
    """The chair declined a case (不予批准)."""

    type = "welfare.case.declined.v1"
    topic = "welfare.case"
    summary = "慰问事项未获批准"
    subject_field = "case_id"

    case_id: str = Field(description="the case (event subject)")
    member_id: str = Field(description="the member the case is for")
    campus: str = Field(description="the member's campus")
    kind: str = Field(description="the case's kind")


class CasePaid(IntegrationEvent):
    """A case's money was paid and posted to the ledger, once (慰问金发放并记账)."""

    type = "welfare.case.paid.v1"
    topic = "welfare.case"
    summary = "慰问金发放"
    subject_field = "case_id"

    case_id: str = Field(description="the case (event subject)")
    member_id: str = Field(description="the member the case is for")
    campus: str = Field(description="the member's campus")
    kind: str = Field(description="the case's kind")
    amount_fen: int = Field(ge=0, description="the amount paid (fen)")
    ledger_entry_id: str | None = Field(
        None, description="`<campus>:<year>#<seq>` of the ledger entry (null: nothing to pay)"
    )


class CaseCancelled(IntegrationEvent):
    """A case was withdrawn before it was paid (撤销)."""

    type = "welfare.case.cancelled.v1"
    topic = "welfare.case"
    summary = "慰问事项撤销"
    subject_field = "case_id"

    case_id: str = Field(description="the case (event subject)")
    member_id: str = Field(description="the member the case is for")
    campus: str = Field(description="the member's campus")
    kind: str = Field(description="the case's kind")


class VisitRecorded(IntegrationEvent):
    """A visit was recorded for a case (走访记录); its notes never travel."""

    type = "welfare.visit.recorded.v1"
    topic = "welfare.visit"
    summary = "慰问走访记录"
    subject_field = "visit_id"

    visit_id: str = Field(description="the visit (event subject)")
    case_id: str = Field(description="the case visited for")
    member_id: str = Field(description="the member visited")
    campus: str = Field(description="the member's campus")
    visited_on: date = Field(description="the day of the visit (Asia/Shanghai)")


class HardshipFileChanged(IntegrationEvent):
    """The hardship register (困难职工档案) changed for a member: opened, help recorded,
    reviewed for a year, or closed. The reason and the help stay in welfare."""

    type = "welfare.hardship.changed.v1"
    topic = "welfare.hardship"
    summary = "困难职工档案变更"
    subject_field = "file_id"

    file_id: str = Field(description="the member's file (event subject)")
    member_id: str = Field(description="the member")
    campus: str = Field(description="the member's campus")
    change: str = Field(description="opened / help_added / reviewed / closed / reopened")
    year: int = Field(description="the year the change counts in")


class BirthdayBenefitOffered(IntegrationEvent):
    """A birthday benefit was made for a member (生日慰问): notify tells the member to choose."""

    type = "welfare.birthday.offered.v1"
    topic = "welfare.birthday"
    summary = "生日福利待选择"
    subject_field = "benefit_id"

    benefit_id: str = Field(description="the benefit (event subject)")
    member_id: str = Field(description="the member")
    campus: str = Field(description="the member's campus")
    month: str = Field(description="YYYY-MM of the birthday")
    amount_fen: int = Field(ge=0, description="the benefit's value (fen)")
    choose_by: date = Field(description="last day to choose; then the default is given")


class BirthdayBenefitChosen(IntegrationEvent):
    """A member chose their birthday benefit, or received the default (生日福利已选择)."""

    type = "welfare.birthday.chosen.v1"
    topic = "welfare.birthday"
    summary = "生日福利已选择"
    subject_field = "benefit_id"

    benefit_id: str = Field(description="the benefit (event subject)")
    member_id: str = Field(description="the member")
    campus: str = Field(description="the member's campus")
    option: str = Field(description="the option's code")
    by_default: bool = Field(description="given the default, not chosen by the member")


class BirthdayBenefitPosted(IntegrationEvent):
    """A birthday benefit the budget had refused is now on its campus's ledger (生日福利补记入账).

    Only the late posting is announced here: a benefit posted as it was made has its offer,
    and `welfare.ledger` carries every entry either way."""

    type = "welfare.birthday.posted.v1"
    topic = "welfare.birthday"
    summary = "生日福利补记入账"
    subject_field = "benefit_id"

    benefit_id: str = Field(description="the benefit (event subject)")
    member_id: str = Field(description="the member")
    campus: str = Field(description="the member's campus")
    amount_fen: int = Field(ge=0, description="the benefit's value (fen), as posted")
    ledger_seq: int = Field(ge=1, description="the payment's number in the campus's ledger")
