"""Events of the annual physical exam (体检) and mutual-aid insurance (互助保障) of the welfare
service: `welfare.exam_plan`, `welfare.exam`,
`welfare.mutual_aid_scheme`, `welfare.mutual_aid` and `welfare.mutual_aid_claim`.

They carry member ids and codes only: never a name, a gender, an ID number or an amount paid
to a person (the premium is announced by the ledger's own entry).
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from shared.events import IntegrationEvent

# -- the annual physical exam -----------------------------------------------------------------


class ExamPlanSaved(IntegrationEvent):
    """An exam plan was set up or changed (providers, packages, slots, settings)."""

    type = "welfare.exam_plan.saved.v1"
    topic = "welfare.exam_plan"
    summary = "体检方案保存"
    subject_field = "plan_id"

    plan_id: str = Field(description="`<campus>:<year>`: one plan per campus and year")
    campus: str = Field(description="campus code")
    year: int = Field(description="the plan's year")
    slots: int = Field(ge=0, description="how many dated slots the plan has")
    places: int = Field(ge=0, description="the slots' capacity in all")


class ExamBookingReminderRequested(IntegrationEvent):
    """A cadre asked that the members who have not booked their exam be reminded (提醒未预约者):
    at most once per plan and Beijing day, whoever presses the button how often; notify tells
    each member listed."""

    type = "welfare.exam_plan.booking_reminder_requested.v1"
    topic = "welfare.exam_plan"
    summary = "体检预约提醒"
    subject_field = "plan_id"

    plan_id: str = Field(description="`<campus>:<year>`: the exam plan")
    campus: str = Field(description="campus code")
    year: int = Field(description="the plan's year")
    title: str = Field(description="the plan's title, as members see it (年度教职工体检)")
    requested_on: date = Field(description="the day of the request (Asia/Shanghai): one a day")
    last_day: date = Field(description="the plan's last slot day: booking is possible until then")
    member_ids: list[str] = Field(
        min_length=1, description="the members of the campus who may book and have not booked"
    )


class ExamBooked(IntegrationEvent):
    """A member booked an exam slot, or moved to another (体检预约)."""

    type = "welfare.exam.booked.v1"
    topic = "welfare.exam"
    summary = "体检预约"
    subject_field = "booking_id"

    booking_id: str = Field(description="`<plan>:<member>`")
    plan_id: str = Field(description="the exam plan")
    member_id: str = Field(description="the member")
    campus: str = Field(description="campus code")
    slot: str = Field(description="the slot's code within the plan")
    day: date = Field(description="the slot's day (Asia/Shanghai)")
    package: str = Field(description="the package's code within the plan")
    moved_from: str | None = Field(None, description="the slot left by this move (null: new)")


class ExamCancelled(IntegrationEvent):
    """A member's exam booking was cancelled; its place is free again."""

    type = "welfare.exam.cancelled.v1"
    topic = "welfare.exam"
    summary = "体检预约取消"
    subject_field = "booking_id"

    booking_id: str = Field(description="`<plan>:<member>`")
    plan_id: str = Field(description="the exam plan")
    member_id: str = Field(description="the member")
    campus: str = Field(description="campus code")
    slot: str = Field(description="the slot given back")


class ExamCompleted(IntegrationEvent):
    """A member's exam was done (recorded by a cadre or from the provider's list)."""

    type = "welfare.exam.completed.v1"
    topic = "welfare.exam"
    summary = "体检完成"
    subject_field = "booking_id"

    booking_id: str = Field(description="`<plan>:<member>`")
    plan_id: str = Field(description="the exam plan")
    member_id: str = Field(description="the member")
    campus: str = Field(description="campus code")
    completed_on: date = Field(description="the day of the exam (Asia/Shanghai)")
    union_paid: bool = Field(description="the union paid it (posted to the ledger)")


# -- mutual-aid insurance ---------------------------------------------------------------------


class MutualAidSchemeSaved(IntegrationEvent):
    """A mutual-aid scheme was set up or changed (互助保障险种)."""

    type = "welfare.mutual_aid_scheme.saved.v1"
    topic = "welfare.mutual_aid_scheme"
    summary = "互助保障险种保存"
    subject_field = "scheme_id"

    scheme_id: str = Field(description="`<campus>:<year>:<code>`")
    campus: str = Field(description="campus code")
    year: int = Field(description="the scheme's year")
    kind: str = Field(description="major_illness / women")
    enrol_until: date = Field(description="last day of the enrolment campaign")


class MutualAidEnrolled(IntegrationEvent):
    """A member was enrolled in a scheme; the union pays the premium (posted once)."""

    type = "welfare.mutual_aid.enrolled.v1"
    topic = "welfare.mutual_aid"
    summary = "互助保障参保"
    subject_field = "enrolment_id"

    enrolment_id: str = Field(description="`<scheme>:<member>`")
    scheme_id: str = Field(description="the scheme")
    member_id: str = Field(description="the member")
    campus: str = Field(description="campus code")


class MutualAidClaimChanged(IntegrationEvent):
    """A claim was submitted or moved on (submitted, with the insurer, paid, refused)."""

    type = "welfare.mutual_aid_claim.changed.v1"
    topic = "welfare.mutual_aid_claim"
    summary = "互助保障理赔状态变更"
    subject_field = "claim_id"

    claim_id: str = Field(description="the claim")
    scheme_id: str = Field(description="the scheme")
    member_id: str = Field(description="the member")
    campus: str = Field(description="campus code")
    status: str = Field(description="submitted / with_insurer / paid / refused")
