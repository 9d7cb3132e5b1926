"""Festival distribution plans (福利发放方案) and entitlements, as pure rules.

A plan names a festival and year, the campuses in scope, the standard amount per member, the
gift options (each priced at most the standard, none in a refused form), who is eligible
(members active on a reference date; retirees if the plan says so), the choice deadline, the
default option and the budget line it spends from. The chair approves it; publishing creates
one entitlement per eligible member (id `<plan>:<member>`, so twice is once).

An entitlement is open until its member chooses; after the deadline the default applies. A
cadre issues it (the ledger is posted once, keyed by the entitlement), the member confirms
receipt. One that is not yet issued is voided when its member leaves the union.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from services.welfare.funds.chart import Chart, LineKind
from services.welfare.policy.domain import check_festival, check_form, yuan
from services.welfare.policy.profile import Category, Festival, GiftForm, Profile
from shared.aggregate import Aggregate
from shared.errors import Conflict, Invalid
from shared.events.welfare_plans import (
    EntitlementChosen,
    EntitlementCreated,
    EntitlementIssued,
    EntitlementReceived,
    EntitlementVoided,
    PlanApproved,
    PlanClosed,
    PlanCreated,
    PlanPublished,
)
from shared.vocabulary.welfare_plans import EntitlementStatus, PlanStatus

NOT_ISSUED = (EntitlementStatus.open.value, EntitlementStatus.chosen.value)


class GiftOption(BaseModel):
    code: str
    name: str
    price_fen: int
    form: GiftForm
    picture: str = "🎁"  # an emoji the member's page shows as the option's picture


class PlanTerms(BaseModel):
    """What a cadre drafts (checked by `check_terms`)."""

    title: str
    festival: Festival
    year: int
    campuses: list[str]
    standard_fen: int
    options: list[GiftOption]
    reference_date: date
    include_retirees: bool = False
    late_eligible: bool = True
    deadline: datetime
    default_option: str
    budget_line: str = "spend_activity_festival"


def check_terms(terms: PlanTerms, profile: Profile, chart: Chart) -> None:
    """The terms must make sense together and fit the profile in force (409: the request is
    well formed, the plan is not; a refused form or festival is 422, outside the schema), and
    the plan must spend from a spending line of the chart that takes postings (422
    `funds.unknown_line` / `funds.wrong_kind` / `funds.heading_line`): otherwise it would
    publish and then every issue be refused by the ledger."""
    check_festival(profile, terms.festival)
    chart.postable(terms.budget_line, LineKind.spending)
    cap = profile.cap(Category.festival)
    single = cap.per_festival_fen if cap.per_festival_fen is not None else cap.per_year_fen
    if terms.standard_fen > single:
        raise Conflict(
            "plan.standard_over_cap",
            f"发放标准 {yuan(terms.standard_fen)} 元超过每人上限 {yuan(single)} 元",
            standard_fen=terms.standard_fen,
            cap_fen=single,
        )
    codes = [o.code for o in terms.options]
    if len(set(codes)) != len(codes):
        raise Conflict("plan.option_duplicate", "礼品选项代码重复", options=codes)
    for option in terms.options:
        check_form(profile, option.form)
        if option.price_fen > terms.standard_fen:
            raise Conflict(
                "plan.option_over_standard",
                f"礼品「{option.name}」{yuan(option.price_fen)} 元，超过发放标准 "
                f"{yuan(terms.standard_fen)} 元",
                option=option.code,
                price_fen=option.price_fen,
                standard_fen=terms.standard_fen,
            )
    if terms.default_option not in codes:
        raise Conflict(
            "plan.default_unknown", "默认礼品须是方案中的一个选项", option=terms.default_option
        )
    if terms.reference_date.year != terms.year or terms.deadline.year not in (
        terms.year,
        terms.year + 1,
    ):
        raise Conflict(
            "plan.dates_outside_year",
            f"参考日期须在 {terms.year} 年内",
            reference_date=terms.reference_date.isoformat(),
        )


class Plan(Aggregate):
    title: str
    festival: Festival
    year: int
    campuses: list[str]
    standard_fen: int
    options: list[GiftOption]
    reference_date: date
    include_retirees: bool
    late_eligible: bool
    deadline: datetime
    default_option: str
    budget_line: str
    status: PlanStatus = PlanStatus.draft
    created_by: str = ""
    approved_by: str | None = None
    published_at: datetime | None = None
    copied_from: str | None = None

    @classmethod
    def draft(cls, plan_id: str, terms: PlanTerms, by: str, copied_from: str | None = None) -> Plan:
        plan = cls(
            id=plan_id,
            campus=terms.campuses[0],
            created_by=by,
            copied_from=copied_from,
            **terms.model_dump(),
        )
        plan.record(PlanCreated.of(plan))
        return plan

    def option(self, code: str) -> GiftOption:
        for option in self.options:
            if option.code == code:
                return option
        raise Invalid(
            "plan.option_unknown", f"礼品「{code}」不在本方案中", option=code, plan_id=self.id
        )

    def approve(self, by: str) -> None:
        if self.status is not PlanStatus.draft:
            return  # approved already: twice is once
        self.status = PlanStatus.approved
        self.approved_by = by
        self.record(PlanApproved.of(self))

    def publish(self, now: datetime) -> None:
        if self.status in (PlanStatus.published, PlanStatus.closed):
            return  # published already: the distribution may be resumed, nothing recorded
        if self.status is not PlanStatus.approved:
            raise Conflict(
                "plan.not_approved", "方案须经主席批准后才能发布", current=self.status.value
            )
        if now >= self.deadline:
            raise Conflict(
                "plan.deadline_passed",
                "选择截止时间已过，请修改方案后再发布",
                deadline=self.deadline.isoformat(),
            )
        self.status = PlanStatus.published
        self.published_at = now
        self.record(
            PlanPublished.of(
                self, options=[o.code for o in self.options], reference_date=self.reference_date
            )
        )

    def close(self, now: datetime) -> None:
        if self.status is PlanStatus.published and now >= self.deadline:
            self.status = PlanStatus.closed
            self.record(PlanClosed.of(self))

    def choosing(self, now: datetime) -> bool:
        return self.status is PlanStatus.published and now < self.deadline

    def eligible(self, member: dict[str, Any]) -> bool:
        """Whether a member (the directory's facts) is in scope on the reference date."""
        if member.get("campus") not in self.campuses:
            return False
        status = member.get("status")
        if status == "retired":
            return self.include_retirees
        if status != "active":
            return False
        joined = member.get("joined_on")
        return joined is None or date.fromisoformat(joined) <= self.reference_date

    def late_eligible_now(self, member: dict[str, Any], now: datetime) -> bool:
        """A member who arrived after the publication (joined the union, or transferred to a
        campus in scope), before the deadline."""
        if not (self.late_eligible and self.choosing(now)):
            return False
        if member.get("campus") not in self.campuses or member.get("status") != "active":
            return False
        return True


class Entitlement(Aggregate):
    plan_id: str
    member_id: str
    department: str
    festival: Festival
    year: int
    standard_fen: int
    deadline: datetime
    status: EntitlementStatus = EntitlementStatus.open
    option: str | None = None
    amount_fen: int | None = None
    defaulted: bool = False
    late: bool = False
    chosen_at: datetime | None = None
    issued_at: datetime | None = None
    issued_by: str | None = None
    ledger_entry: str | None = None
    received_at: datetime | None = None
    voided_reason: str | None = None

    @staticmethod
    def id_of(plan_id: str, member_id: str) -> str:
        return f"{plan_id}:{member_id}"

    @classmethod
    def new(cls, plan: Plan, member: dict[str, Any], late: bool = False) -> Entitlement:
        ent = cls(
            id=cls.id_of(plan.id, member["_id"]),
            campus=member["campus"],
            plan_id=plan.id,
            member_id=member["_id"],
            department=member.get("department") or "",
            festival=plan.festival,
            year=plan.year,
            standard_fen=plan.standard_fen,
            deadline=plan.deadline,
            late=late,
        )
        ent.record(EntitlementCreated.of(ent))
        return ent

    @property
    def cap_key(self) -> str:
        return f"ent:{self.id}"

    def _set(self, option: GiftOption, now: datetime, defaulted: bool) -> None:
        self.option = option.code
        self.amount_fen = option.price_fen
        self.defaulted = defaulted
        self.chosen_at = now
        self.status = EntitlementStatus.chosen
        self.record(EntitlementChosen.of(self))

    def choose(self, option: GiftOption, now: datetime) -> None:
        if self.status not in (EntitlementStatus.open, EntitlementStatus.chosen):
            raise Conflict(
                "entitlement.closed",
                f"本次福利{self.status.label}，不能再选择",
                current=self.status.value,
            )
        if now >= self.deadline:
            raise Conflict(
                "entitlement.deadline_passed",
                "选择已截止，将按默认礼品发放",
                deadline=self.deadline.isoformat(),
            )
        if self.status is EntitlementStatus.chosen and self.option == option.code:
            return
        self._set(option, now, defaulted=False)

    def apply_default(self, option: GiftOption, now: datetime) -> None:
        """After the deadline an open entitlement gets the default; anything else: nothing."""
        if self.status is EntitlementStatus.open and now >= self.deadline:
            self._set(option, now, defaulted=True)

    def issue(self, default: GiftOption, now: datetime, by: str, ledger_entry: str) -> None:
        if self.status is EntitlementStatus.issued and self.ledger_entry == ledger_entry:
            return
        if self.status is EntitlementStatus.open:
            self.apply_default(default, now)
        if self.status is not EntitlementStatus.chosen:
            raise Conflict(
                "entitlement.not_issuable",
                f"本次福利{self.status.label}，不能发放",
                current=self.status.value,
            )
        self.status = EntitlementStatus.issued
        self.issued_at = now
        self.issued_by = by
        self.ledger_entry = ledger_entry
        self.record(EntitlementIssued.of(self))

    def issuable(self, now: datetime) -> bool:
        return self.status is EntitlementStatus.chosen or (
            self.status is EntitlementStatus.open and now >= self.deadline
        )

    def receive(self, now: datetime) -> None:
        if self.status is EntitlementStatus.received:
            return
        if self.status is not EntitlementStatus.issued:
            raise Conflict(
                "entitlement.not_issued",
                f"本次福利{self.status.label}，尚未发放，不能签收",
                current=self.status.value,
            )
        self.status = EntitlementStatus.received
        self.received_at = now
        self.record(EntitlementReceived.of(self))

    def void(self, reason: str) -> None:
        if self.status is EntitlementStatus.voided:
            return
        if self.status not in (EntitlementStatus.open, EntitlementStatus.chosen):
            return  # handed out already: it stays as it is (the ledger has its payment)
        self.status = EntitlementStatus.voided
        self.voided_reason = reason
        self.record(EntitlementVoided.of(self, reason=reason))
