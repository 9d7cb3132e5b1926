"""Events of festival distribution plans (福利发放方案) and their entitlements, published by
the welfare service on `welfare.plan` and `welfare.entitlement`.

A plan is created, approved by the chair, published (one entitlement per eligible member) and
closed at its choice deadline (the default option then applies). Each entitlement is created,
chosen (by the member, or by default after the deadline), issued by a cadre (and posted once to
the ledger), received (the member confirms) or voided (the member left the union first).
No event carries personal data beyond the member id: no name, no department.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from shared.events import IntegrationEvent


class PlanEvent(IntegrationEvent):
    topic = "welfare.plan"
    subject_field = "plan_id"

    plan_id: str = Field(description="plan id")
    campus: str = Field(description="campus code of the plan's owner")
    campuses: list[str] = Field(description="campuses in scope")
    festival: str = Field(description="festival code (dragon_boat, mid_autumn, …)")
    year: int = Field(description="year the gifts count in")
    standard_fen: int = Field(description="standard amount per member (fen)")


class PlanCreated(PlanEvent):
    """A festival distribution plan was drafted (福利方案拟定)."""

    type = "welfare.plan.created.v1"
    summary = "福利发放方案拟定"


class PlanApproved(PlanEvent):
    """The chair approved the plan (主席批准)."""

    type = "welfare.plan.approved.v1"
    summary = "福利发放方案批准"


class PlanPublished(PlanEvent):
    """The plan was published: entitlements are created for the eligible members."""

    type = "welfare.plan.published.v1"
    summary = "福利发放方案发布"

    deadline: datetime = Field(description="choice deadline (UTC)")
    reference_date: date = Field(description="members active on this date are eligible")
    options: list[str] = Field(description="gift option codes")
    default_option: str = Field(description="the option given to who has not chosen")


class PlanClosed(PlanEvent):
    """The choice deadline passed: the default applies to who has not chosen."""

    type = "welfare.plan.closed.v1"
    summary = "福利方案选择截止"


class EntitlementEvent(IntegrationEvent):
    topic = "welfare.entitlement"
    subject_field = "entitlement_id"

    entitlement_id: str = Field(description="`<plan>:<member>`")
    plan_id: str = Field(description="plan id")
    member_id: str = Field(description="member id")
    campus: str = Field(description="campus code of the member")
    year: int = Field(description="year")


class EntitlementCreated(EntitlementEvent):
    """A member is entitled to the plan's gift (福利资格生成)."""

    type = "welfare.entitlement.created.v1"
    summary = "福利资格生成"

    standard_fen: int = Field(description="standard amount (fen), counted against the cap")
    late: bool = Field(description="created after publication (joined before the deadline)")


class EntitlementChosen(EntitlementEvent):
    """An option was chosen: by the member, or the default after the deadline."""

    type = "welfare.entitlement.chosen.v1"
    summary = "福利礼品已选择"

    option: str = Field(description="gift option code")
    amount_fen: int = Field(description="price of the option (fen)")
    defaulted: bool = Field(description="the default, applied after the deadline")


class EntitlementIssued(EntitlementEvent):
    """A cadre handed out the gift (发放) and the ledger was posted once."""

    type = "welfare.entitlement.issued.v1"
    summary = "福利已发放"

    option: str = Field(description="gift option code")
    amount_fen: int = Field(description="amount posted (fen)")
    ledger_entry: str = Field(description="the ledger entry's id")


class EntitlementReceived(EntitlementEvent):
    """The member confirmed receipt (签收)."""

    type = "welfare.entitlement.received.v1"
    summary = "福利已签收"


class EntitlementVoided(EntitlementEvent):
    """The entitlement was voided before issue (the member left the union)."""

    type = "welfare.entitlement.voided.v1"
    summary = "福利资格作废"

    reason: str = Field(description="why, e.g. `withdrawn`")
