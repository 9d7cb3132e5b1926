"""Festival plan use cases: draft, copy, approve, publish (one entitlement per eligible member),
choose, apply defaults after the deadline, issue by department (the ledger posted once per
entitlement), confirm receipt, entitle late arrivals (joined, or transferred in), void on
leaving, and the report.

Who may: a cadre of every campus in scope drafts, publishes and issues; the chair (admin)
approves; a member chooses and confirms their own; finance and the auditor read reports.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from services.welfare.funds.benefits import pay_benefit
from services.welfare.funds.handlers import Funds, reverse_for
from services.welfare.plans.domain import (
    NOT_ISSUED,
    Entitlement,
    EntitlementStatus,
    Plan,
    PlanStatus,
    PlanTerms,
    check_terms,
)
from services.welfare.plans.store import members_of
from services.welfare.policy.caps import CapBook, CapRequest
from services.welfare.policy.domain import in_words
from services.welfare.policy.profile import Category, Profile
from shared.aggregate import Actor, AggregateStore
from shared.auth import Principal, Role
from shared.claims import claim_once
from shared.envelope import CloudEvent
from shared.errors import Conflict, DomainError, NotFound
from shared.events.members import (
    MemberDeceased,
    MemberJoinedV2,
    MemberTransferred,
    MemberWithdrawn,
)
from shared.readmodels.member_directory import MemberDirectory
from shared.scheduler import JobRun
from shared.timeutil import local_today, utcnow

BATCH = 1000
PARALLEL_BATCHES = 4  # batches of a publication written at once
ALL = 1_000_000  # a plan's entitlements, read whole for a report or a job


@dataclass(frozen=True)
class Plans:
    plans: AggregateStore[Plan]
    entitlements: AggregateStore[Entitlement]
    caps: CapBook
    directory: MemberDirectory
    funds: Funds
    capped: AsyncCollection
    distributed: AsyncCollection
    profile: Profile
    clock: Callable[[], datetime] = field(default=utcnow)


# -- plans --------------------------------------------------------------------------------------


def require_reader(user: Principal) -> None:
    user.require(Role.cadre, Role.finance, Role.auditor)


def require_cadre(user: Principal, campuses: list[str]) -> None:
    for campus in campuses:
        user.require(Role.cadre, campus=campus)


async def draft(
    plans: Plans, user: Principal, terms: PlanTerms, copied_from: str | None = None
) -> Plan:
    """拟定方案: a cadre of every campus in scope."""
    require_cadre(user, terms.campuses)
    check_terms(terms, plans.profile, plans.funds.chart)
    plan_id = f"{terms.festival.value}-{terms.year}-{terms.campuses[0]}-{uuid.uuid4().hex[:6]}"
    plan = Plan.draft(plan_id, terms, user.subject, copied_from)
    return await plans.plans.add(plan, Actor.of(user))


def _shift(moment: Any, years: int) -> Any:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


async def copy(plans: Plans, user: Principal, plan_id: str, year: int) -> Plan:
    """从往年方案复制: the same terms in another year, as a new draft."""
    source = await require_plan(plans, user, plan_id)
    years = year - source.year
    terms = PlanTerms.model_validate(
        {
            **source.model_dump(include=set(PlanTerms.model_fields)),
            "year": year,
            "reference_date": _shift(source.reference_date, years),
            "deadline": _shift(source.deadline, years),
        }
    )
    return await draft(plans, user, terms, copied_from=source.id)


async def require_plan(plans: Plans, user: Principal, plan_id: str) -> Plan:
    plan = await plans.plans.require(plan_id)
    if not any(user.can_access(c) for c in plan.campuses):
        user.require_campus(plan.campus)
    user.require(Role.cadre, Role.finance, Role.auditor)
    return plan


async def approve(plans: Plans, user: Principal, plan_id: str) -> Plan:
    """主席批准: admin of every campus in scope."""
    plan = await plans.plans.require(plan_id)
    for campus in plan.campuses:
        user.require(Role.admin, campus=campus)
    return await plans.plans.change(
        plan_id, lambda p: p.approve(user.subject), Actor.of(user), "approve"
    )


@dataclass
class Distribution:
    created: int = 0
    existing: int = 0
    capped: int = 0
    resumed: bool = False


async def publish(plans: Plans, user: Principal, plan_id: str) -> Distribution:
    """发布: one entitlement per eligible member, once (publishing again creates nothing)."""
    plan = await plans.plans.require(plan_id)
    require_cadre(user, plan.campuses)
    now = plans.clock()
    actor = Actor.of(user)
    plan = await plans.plans.change(plan_id, lambda p: p.publish(now), actor, "publish")
    if await plans.distributed.find_one({"_id": plan.id}):
        return Distribution(resumed=True)
    done = await distribute(plans, plan, actor)
    await claim_once(plans.distributed, plan.id, {"created": done.created, "capped": done.capped})
    return done


async def distribute(plans: Plans, plan: Plan, actor: Actor) -> Distribution:
    """Entitlements for every eligible member, in batches: the cap claimed first (keyed by the
    entitlement, so a resumed run claims nothing twice), then the entitlements in one insert
    (each under its own unique id: existing ones are refused alone)."""
    done = Distribution()
    gate = asyncio.Semaphore(PARALLEL_BATCHES)
    running: list[asyncio.Task[None]] = []

    async def batch(members: list[dict[str, Any]]) -> None:
        try:
            await _entitle_batch(plans, plan, members, actor, done)
        finally:
            gate.release()

    for campus in plan.campuses:
        async for chunk in members_of(plans.directory, campus, BATCH):
            now = plans.clock()
            eligible = [m for m in chunk if plan.eligible(m) or plan.late_eligible_now(m, now)]
            if eligible:
                await gate.acquire()  # a few batches in flight: the database works on each
                running.append(asyncio.create_task(batch(eligible)))
    await asyncio.gather(*running)
    return done


async def _entitle_batch(
    plans: Plans, plan: Plan, members: list[dict[str, Any]], actor: Actor, done: Distribution
) -> None:
    entitlements = [Entitlement.new(plan, m) for m in members]
    requests = [
        CapRequest(e.member_id, Category.festival, plan.year, plan.standard_fen, e.cap_key, plan.id)
        for e in entitlements
    ]
    outcomes = await plans.caps.claim_many(requests)
    fits = [e for e, o in zip(entitlements, outcomes, strict=True) if o.claimed]
    for outcome in outcomes:
        if not outcome.claimed:
            done.capped += 1
            await _list_capped(plans, plan, outcome.request.member_id, outcome.standing)
    added = await plans.entitlements.add_many(fits, actor, "publish")
    done.created += sum(added)
    done.existing += len(added) - sum(added)


async def _list_capped(plans: Plans, plan: Plan, member_id: str, standing: Any) -> None:
    await claim_once(
        plans.capped,
        f"{plan.id}:{member_id}",
        {
            "plan_id": plan.id,
            "member_id": member_id,
            "cap_fen": standing.cap_fen,
            "used_fen": standing.used_fen,
            "remaining_fen": standing.remaining_fen,
            "standard_fen": plan.standard_fen,
        },
    )


async def entitle(plans: Plans, plan: Plan, member: dict[str, Any], actor: Actor) -> str:
    """One member's entitlement (a late joiner): `created`, `exists` or `capped`."""
    entitlement = Entitlement.new(plan, member, late=True)
    request = CapRequest(
        entitlement.member_id,
        Category.festival,
        plan.year,
        plan.standard_fen,
        entitlement.cap_key,
        plan.id,
    )
    outcome = await plans.caps.try_claim(request)
    if not outcome.claimed:
        await _list_capped(plans, plan, entitlement.member_id, outcome.standing)
        return "capped"
    added = await plans.entitlements.add_if_absent(entitlement, actor, "late")
    return "created" if added.created else "exists"


async def capped_out(plans: Plans, user: Principal, plan_id: str) -> list[dict[str, Any]]:
    """Members left out because their year total would pass the cap (for the cadre)."""
    plan = await plans.plans.require(plan_id)
    require_cadre(user, [c for c in plan.campuses if user.can_access(c)] or plan.campuses[:1])
    found = [d async for d in plans.capped.find({"plan_id": plan_id})]
    out = []
    for doc in found:
        member = await plans.directory.get(doc["member_id"]) or {}
        if member.get("campus") and not user.can_access(member["campus"]):
            continue
        out.append({**doc, "member": member, "remaining_words": in_words(doc["remaining_fen"])})
    return out


# -- the member's side ----------------------------------------------------------------------------


async def mine(plans: Plans, user: Principal, year: int) -> list[tuple[Entitlement, Plan]]:
    found = await plans.entitlements.find({"member_id": user.subject}, limit=500)
    out = []
    for entitlement in found:
        if entitlement.year != year:
            continue
        current = await plans.entitlements.require(entitlement.id)
        out.append((current, await plans.plans.require(current.plan_id)))
    return sorted(out, key=lambda pair: pair[1].deadline, reverse=True)


async def _own(plans: Plans, user: Principal, entitlement_id: str) -> Entitlement:
    entitlement = await plans.entitlements.require(entitlement_id)
    user.require_self(entitlement.member_id, "只能操作本人的福利")
    return entitlement


async def choose(plans: Plans, user: Principal, entitlement_id: str, code: str) -> Entitlement:
    """选择礼品: the member, before the deadline."""
    entitlement = await _own(plans, user, entitlement_id)
    plan = await plans.plans.require(entitlement.plan_id)
    option = plan.option(code)
    now = plans.clock()
    return await plans.entitlements.change(
        entitlement_id, lambda e: e.choose(option, now), Actor.of(user), "choose"
    )


async def receive(plans: Plans, user: Principal, entitlement_id: str) -> Entitlement:
    """确认签收: the member, once it is issued."""
    await _own(plans, user, entitlement_id)
    now = plans.clock()
    return await plans.entitlements.change(
        entitlement_id, lambda e: e.receive(now), Actor.of(user), "receive"
    )


# -- after the deadline: the default ----------------------------------------------------------


async def close_due_plans(plans: Plans, run: JobRun) -> None:
    """Every published plan whose deadline passed: the default for who has not chosen, then
    the plan closes. Safe on two replicas: each change is a unique version insert, and one
    already chosen is left as it is."""
    for plan in await plans.plans.find({"status": PlanStatus.published.value}, limit=500):
        if run.now < plan.deadline:
            continue
        await apply_defaults(plans, plan, run.now)
        await plans.plans.change(plan.id, lambda p: p.close(run.now), Actor("system"), "close")


async def apply_defaults(plans: Plans, plan: Plan, now: datetime, parallel: int = 8) -> int:
    default = plan.option(plan.default_option)
    found = await plans.entitlements.find(
        {"plan_id": plan.id, "status": EntitlementStatus.open.value}, limit=ALL
    )
    gate = asyncio.Semaphore(parallel)

    async def one(entitlement: Entitlement) -> None:
        async with gate:
            await plans.entitlements.change(
                entitlement.id, lambda e: e.apply_default(default, now), Actor("system"), "default"
            )

    await asyncio.gather(*(one(e) for e in found))
    return len(found)


# -- issuing ------------------------------------------------------------------------------------


@dataclass
class Issued:
    issued: list[str] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


async def issue_department(
    plans: Plans, user: Principal, plan_id: str, campus: str, department: str
) -> Issued:
    """按部门发放: every entitlement of the department that is chosen (or open after the
    deadline: the default) is issued, and the ledger posted once per entitlement."""
    user.require(Role.cadre, campus=campus)
    plan = await plans.plans.require(plan_id)
    if campus not in plan.campuses:
        raise NotFound("plan.campus_not_in_scope", "该校区不在本方案范围内", campus=campus)
    if plan.status not in (PlanStatus.published, PlanStatus.closed):
        raise Conflict("plan.not_published", "方案尚未发布", current=plan.status.value)
    found = await plans.entitlements.find(
        {"plan_id": plan_id, "campus": campus, "department": department}, limit=ALL
    )
    result = Issued()
    actor = Actor.of(user)
    for entitlement in sorted(found, key=lambda e: e.member_id):
        try:
            if await issue_one(plans, plan, entitlement.id, actor):
                result.issued.append(entitlement.id)
        except DomainError as refused:
            result.skipped.append(
                {"id": entitlement.id, "code": refused.code, "detail": refused.message}
            )
            if refused.code.startswith("funds."):
                break  # the budget or the ledger refuses: the rest would be refused too
    return result


async def issue_one(plans: Plans, plan: Plan, entitlement_id: str, actor: Actor) -> bool:
    now = plans.clock()
    entitlement = await plans.entitlements.require(entitlement_id)
    if entitlement.status is EntitlementStatus.issued:
        return False
    if not entitlement.issuable(now):
        raise Conflict(
            "entitlement.not_issuable",
            f"本次福利{entitlement.status.label}，不能发放",
            current=entitlement.status.value,
        )
    member = await plans.directory.get(entitlement.member_id)
    if member is not None and member.get("status") not in ("active", "retired"):
        await void(plans, entitlement.id, member.get("status") or "left", actor)
        raise Conflict("entitlement.member_left", "该会员已不在会，福利已作废")
    option = plan.option(entitlement.option or plan.default_option)
    cause_ref = f"welfare.entitlement:{entitlement.id}"
    today = local_today()  # handed out after the plan's year: booked on its last day
    handed_out = today if today.year == plan.year else date(plan.year, 12, 31)
    posted = await pay_benefit(
        plans.funds,
        actor,
        campus=entitlement.campus,
        year=plan.year,
        line=plan.budget_line,
        amount_fen=option.price_fen,
        cause=f"{plan.title}：{option.name}",
        cause_ref=cause_ref,
        approved_by=plan.approved_by or "",
        occurred_on=handed_out,
        key=f"welfare:{cause_ref}",  # the key festival gifts were always posted under
    )
    entry = posted.entry["_id"]
    default = plan.option(plan.default_option)
    made = False

    def decide(e: Entitlement) -> None:
        nonlocal made  # the last run decides: a no-op when another request issued it first
        made = e.status is not EntitlementStatus.issued
        e.issue(default, now, actor.subject, entry)

    try:
        await plans.entitlements.change(entitlement.id, decide, actor, "issue")
    except Conflict:
        current = await plans.entitlements.require(entitlement.id)
        if current.status is EntitlementStatus.voided:
            await reverse_for(
                plans.funds, actor, posted.entry, "福利资格已作废", f"void:{entitlement.id}"
            )
        raise
    return made


# -- leaving the union ---------------------------------------------------------------------


async def void(plans: Plans, entitlement_id: str, reason: str, actor: Actor) -> None:
    entitlement = await plans.entitlements.change(
        entitlement_id, lambda e: e.void(reason), actor, "void"
    )
    if entitlement.status is EntitlementStatus.voided:
        await plans.caps.release(entitlement.cap_key, f"作废：{reason}")


async def on_member_withdrawn(
    event: MemberWithdrawn | MemberDeceased, envelope: CloudEvent, plans: Plans
) -> None:
    """A member who leaves (withdraws, or dies): every entitlement not yet issued is voided,
    its cap given back."""
    reason = "deceased" if isinstance(event, MemberDeceased) else "withdrawn"
    found = await plans.entitlements.find({"member_id": event.member_id}, limit=500)
    for entitlement in found:
        if entitlement.status.value in NOT_ISSUED:
            await void(plans, entitlement.id, reason, Actor.system(envelope))


@dataclass(frozen=True)
class Arrival:
    """A member who became active on a campus after plans were published: joined the union,
    or moved there from another campus (转校区)."""

    member_id: str
    campus: str
    department: str
    status: str


async def entitle_arrival(plans: Plans, cmd: Arrival, actor: Actor) -> dict[str, str]:
    """Every open plan covering the campus that admits late arrivals gives the member their
    entitlement, as to a late joiner (`entitle`): once, however often the arrival is told,
    since the entitlement's id and its cap claim are keyed by plan and member. Returns each
    such plan's outcome (`created`, `exists` or `capped`)."""
    now = plans.clock()
    member = {
        "_id": cmd.member_id,
        "campus": cmd.campus,
        "department": cmd.department,
        "status": cmd.status,
    }
    # The list view follows a publication by a moment (its consumer), so a plan published
    # just before the arrival may still be listed as a draft or approved there: candidates
    # come from the view (a plan is in it from its draft on), their status from the log (by
    # id, current). Publication marks the plan before it reads the directory, and the
    # directory learns the arrival before this runs: one of the two always sees the other.
    listed = [
        plan.id
        for status in (PlanStatus.draft, PlanStatus.approved, PlanStatus.published)
        for plan in await plans.plans.find({"status": status.value}, limit=500)
    ]
    current = await plans.plans.get_many(listed)
    outcomes = {}
    for plan_id in sorted(current):
        plan = current[plan_id]
        if plan.late_eligible_now(member, now):
            outcomes[plan.id] = await entitle(plans, plan, member, actor)
    return outcomes


async def on_member_joined(event: MemberJoinedV2, envelope: CloudEvent, plans: Plans) -> None:
    """A member who joins before a plan's deadline gets an entitlement when the plan says so."""
    cmd = Arrival(event.member_id, event.campus, event.department, event.status)
    await entitle_arrival(plans, cmd, Actor.system(envelope))


async def on_member_transferred(
    event: MemberTransferred, envelope: CloudEvent, plans: Plans
) -> None:
    """A member moved to another campus: its open plans treat them as a late joiner there.

    Nothing is taken away on the campus they left: an entitlement they hold there stays
    theirs (the gift was theirs when the plan was published, and they are still a member),
    and a plan covering both campuses gives one entitlement, not two (`<plan>:<member>`)."""
    cmd = Arrival(event.member_id, event.campus, event.department, event.status)
    await entitle_arrival(plans, cmd, Actor.system(envelope))


# -- the report ---------------------------------------------------------------------------------


@dataclass
class Report:
    plan: Plan
    by_status: dict[str, int]
    by_option: dict[str, dict[str, int]]
    by_campus: dict[str, dict[str, int]]
    not_collected: list[dict[str, Any]]
    capped: int


async def report(plans: Plans, user: Principal, plan_id: str) -> Report:
    """发放统计: cadre, finance or auditor; rows of the caller's campuses only."""
    plan = await require_plan(plans, user, plan_id)
    found = [
        e
        for e in await plans.entitlements.find({"plan_id": plan_id}, limit=ALL)
        if user.can_access(e.campus)
    ]
    by_status = Counter(e.status.value for e in found)
    by_option: dict[str, dict[str, int]] = {}
    by_campus: dict[str, dict[str, int]] = {}
    for e in found:
        if e.status is EntitlementStatus.voided:
            continue
        if e.option:
            row = by_option.setdefault(e.option, {"count": 0, "amount_fen": 0})
            row["count"] += 1
            row["amount_fen"] += e.amount_fen or 0
        row = by_campus.setdefault(e.campus, {"count": 0, "issued_fen": 0})
        row["count"] += 1
        if e.status in (EntitlementStatus.issued, EntitlementStatus.received):
            row["issued_fen"] += e.amount_fen or 0
    waiting = [e for e in found if e.status.value in (*NOT_ISSUED, EntitlementStatus.issued.value)]
    people = await _people(plans, {e.campus for e in waiting})
    not_collected = [
        {
            "entitlement_id": e.id,
            "member_id": e.member_id,
            "staff_no": people.get(e.member_id, {}).get("staff_no", ""),
            "name": people.get(e.member_id, {}).get("name", ""),
            "campus": e.campus,
            "department": e.department,
            "status": e.status.value,
            "option": e.option,
        }
        for e in sorted(waiting, key=lambda e: (e.campus, e.department, e.member_id))
    ]
    capped = await plans.capped.count_documents({"plan_id": plan_id})
    return Report(plan, dict(by_status), by_option, by_campus, not_collected, capped)


async def _people(plans: Plans, campuses: set[str]) -> dict[str, dict[str, Any]]:
    people: dict[str, dict[str, Any]] = {}
    for campus in campuses:
        async for m in plans.directory.coll.find({"campus": campus}, {"staff_no": 1, "name": 1}):
            people[m["_id"]] = m
    return people


async def signoff(
    plans: Plans, user: Principal, plan_id: str, campus: str, department: str
) -> tuple[Plan, list[dict[str, Any]]]:
    """签领单 of a department: who receives what, with a column to sign."""
    user.require(Role.cadre, campus=campus)
    plan = await plans.plans.require(plan_id)
    found = await plans.entitlements.find(
        {"plan_id": plan_id, "campus": campus, "department": department}, limit=ALL
    )
    people = await _people(plans, {campus})
    rows = []
    for e in found:
        if e.status is EntitlementStatus.voided:
            continue
        option = plan.option(e.option or plan.default_option)
        person = people.get(e.member_id, {})
        rows.append(
            {
                "staff_no": person.get("staff_no", ""),
                "name": person.get("name", ""),
                "option": option.name,
                "amount_fen": option.price_fen,
                "status": e.status.value,
                "defaulted": e.defaulted or e.status is EntitlementStatus.open,
            }
        )
    return plan, sorted(rows, key=lambda r: r["staff_no"])


async def departments(plans: Plans, user: Principal, plan_id: str) -> dict[str, dict[str, int]]:
    """`campus/department` → counts by status, for the issue desk (the caller's campuses)."""
    await require_plan(plans, user, plan_id)
    out: dict[str, dict[str, int]] = {}
    for e in await plans.entitlements.find({"plan_id": plan_id}, limit=ALL):
        if user.can_access(e.campus):
            row = out.setdefault(f"{e.campus}/{e.department}", {})
            row[e.status.value] = row.get(e.status.value, 0) + 1
    return out
