"""Case use cases: raise, approve, decline, pay (cap, ledger, step — once), cancel, visit, and
the cases raised automatically from other services' events.

Who may: a cadre of the member's campus raises a case and records visits; a member raises
one for themself (illness, a relative's death, marriage, childbirth); the chair (admin of the
campus) approves, declines and cancels; finance of the campus pays; the auditor of the campus
reads cases and changes nothing. Visit notes are read by the chair and the cadres of the
member's campus only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from pymongo.asynchronous.database import AsyncDatabase

from services.welfare.cases.domain import (
    AUTO_AMOUNT_FEN,
    TRANSITIONS,
    Case,
    CaseKind,
    CaseSource,
    CaseStep,
    Visit,
    allowed,
    auto_case_id,
    cap_key,
    new_case_id,
    plausible,
)
from services.welfare.cases.store import CaseFilter
from services.welfare.funds.domain import EntryKind
from services.welfare.funds.handlers import Funds, Posting, post_entry, posting_key
from services.welfare.policy.caps import CapBook, CapRequest
from shared.aggregate import Actor, AggregateStore
from shared.auth import Principal, Role
from shared.envelope import CloudEvent
from shared.errors import DomainError, Forbidden, Invalid, NotFound
from shared.events.events import AttendanceRecorded
from shared.events.members import MemberDeceased, MemberRetired
from shared.readmodels.member_directory import MemberDirectory
from shared.timeutil import utcnow_ms
from shared.vocabulary.welfare import MEMBER_KINDS

log = logging.getLogger(__name__)

BLOOD_DRIVE_KIND = "blood_donation"  # events' ActivityKind.blood_donation (无偿献血)

# Who reads a campus's cases (amount, status, steps, the member's name, the ledger entry): its
# cadres, finance who pays them, and the auditor (经费审查委员), who must trace each ledger
# payment ("慰问事项 c-…") to its case. The visit notes are no part of a case: `visits_of`
# keeps them to the chair and the cadres.
READERS = (Role.cadre, Role.finance, Role.auditor)


@dataclass(frozen=True)
class Cases:
    store: AggregateStore[Case]
    visits: AggregateStore[Visit]
    directory: MemberDirectory
    funds: Funds
    caps: CapBook  # the policy profile's running totals (funds-plans), shared with festivals
    db: AsyncDatabase


@dataclass(frozen=True)
class RaiseCase:
    member_id: str
    kind: CaseKind
    amount_fen: int
    summary: str
    occurred_on: date


async def _member_campus(cases: Cases, member_id: str) -> str:
    member = await cases.directory.get(member_id)
    if member is None or not member.get("campus"):
        raise Invalid("member.not_found", "会员不存在", member_id=member_id)
    return str(member["campus"])


async def raise_case(cases: Cases, user: Principal, cmd: RaiseCase) -> Case:
    """登记慰问: a cadre of the member's campus, or the member for themself."""
    campus = await _member_campus(cases, cmd.member_id)
    if user.has_role(Role.cadre):
        user.require(Role.cadre, campus=campus)
        source = CaseSource.cadre
    else:
        user.require(Role.member, campus=campus)
        user.require_self(cmd.member_id, "会员只能为本人申请慰问")
        if cmd.kind not in MEMBER_KINDS:
            raise Forbidden(
                "case.kind_for_cadres",
                f"「{cmd.kind.label}」由工会干部登记",
                kind=cmd.kind.value,
            )
        source = CaseSource.member
    case = Case.raise_new(
        new_case_id(),
        member_id=cmd.member_id,
        campus=campus,
        kind=cmd.kind,
        amount_fen=cmd.amount_fen,
        summary=cmd.summary,
        source=source,
        occurred_on=cmd.occurred_on,
        by=user.subject,
        now=utcnow_ms(),
    )
    return await cases.store.add(case, Actor.of(user), "raise")


async def visible_case(cases: Cases, user: Principal, case_id: str) -> Case:
    """The case for the campus's readers (cadres, the chair, finance, the auditor), or for
    its member (404 otherwise for a member: no probing of other people's cases)."""
    case = await cases.store.require(case_id)
    if user.has_role(*READERS):
        user.require(*READERS, campus=case.campus)
        return case
    user.require(Role.member)
    if case.member_id != user.subject:
        raise NotFound("case.not_found", "慰问事项不存在", id=case_id)
    return case


async def decide_case(
    cases: Cases,
    user: Principal,
    case_id: str,
    step: CaseStep,
    note: str | None,
    amount_fen: int | None = None,
) -> Case:
    """批准 / 不予批准 / 撤销: the chair of the member's campus."""
    case = await cases.store.require(case_id)
    user.require(Role.admin, campus=case.campus)
    now = utcnow_ms()

    def decide(c: Case) -> None:
        if step is CaseStep.approve:
            c.approve(user.subject, now, note, amount_fen)
        elif step is CaseStep.decline:
            c.decline(user.subject, now, note or "")
        else:
            c.cancel(note or "")

    changed = await cases.store.change(case_id, decide, Actor.of(user), step.value)
    request = await _cap_request(cases, changed) if step is CaseStep.cancel else None
    if request is not None:
        # What a payment that did not go through counted (its claim, if any), given back once.
        await cases.caps.release(request.key, f"撤销慰问事项 {case_id}：{note or ''}")
    return changed


async def pay_case(
    cases: Cases, user: Principal, case_id: str, voucher_no: str | None, paid_on: date | None
) -> Case:
    """发放: finance of the campus. The policy profile's cap (`CapBook.claim`, once per case:
    422 `welfare.cap_exceeded` as for festival gifts), the ledger (once per case: the case's
    id is the entry's idempotency key), then the step — retried or sent twice at once, it
    pays once. A payment the ledger refuses (409 `funds.no_budget`, `funds.over_budget`)
    gives its claim back: the member's totals count money paid, not money tried."""
    case = await cases.store.require(case_id)
    user.require(Role.finance, campus=case.campus)
    allowed(CaseStep.pay, case.status)
    if paid_on is not None:
        plausible(paid_on, "发放日期")
    # The one cap check of a case: a unique-key claim on the member's running total.
    request = await _cap_request(cases, case)
    if request is not None:
        await cases.caps.claim(request)
    entry_id = None
    if case.amount_fen > 0:
        posting = Posting(
            line=case.line,
            amount_fen=case.amount_fen,
            cause=f"{case.kind.label}（慰问事项 {case.id}）",
            approved_by=case.decided_by or "",
            voucher_no=voucher_no or "",
            occurred_on=paid_on,
            key=f"case-{case.id}",
        )
        try:
            posted = await post_entry(
                cases.funds, user, case.campus, case.year, EntryKind.payment, posting
            )
        except DomainError:
            # Refused (no budget, over budget): nothing paid, so the claim is given back (a
            # retry claims under the next key) — unless a pay of the same case sent at once
            # got onto the ledger meanwhile.
            if request is not None:
                await cases.caps.release(request.key, f"慰问事项 {case.id} 未能记账，退回限额")
                key = posting_key(case.campus, case.year, posting)
                if await cases.funds.books.by_key(key) is not None:
                    await _keep_counted(cases, case, request.key)
            raise
        if request is not None:
            await _keep_counted(cases, case, request.key)
        entry_id = str(posted.entry["_id"])
    now = utcnow_ms()
    return await cases.store.change(
        case_id, lambda c: c.pay(user.subject, now, entry_id), Actor.of(user), "pay"
    )


async def _cap_request(cases: Cases, case: Case) -> CapRequest | None:
    """The case's claim on the member's running total, under its key in force (None: the
    case counts against no cap). A claim the ledger's refusal gave back is never claimed
    again under its key — it would count nothing — so the next try claims under the next."""
    if case.category is None or case.amount_fen <= 0:
        return None
    base = cap_key(case.id)
    return CapRequest(
        member_id=case.member_id,
        category=case.category,
        year=case.year,
        amount_fen=case.amount_fen,
        key=await cases.caps.key_in_force(case.member_id, case.category, case.year, base),
        cause=f"慰问事项 {case.id}",
    )


async def _keep_counted(cases: Cases, case: Case, claimed: str) -> None:
    """The case's money is on the ledger: a claim of it must be in force.

    Two pays of one case sent at once, with its budget adopted between their postings, end
    one refused and one paid under the same claim; the refused one gives that claim back. So
    the paid one looks after posting, and the refused one after giving back (if the ledger
    has the payment by then): whichever sees the claim given back claims again, under the
    next key — one key, so both together count once."""
    request = await _cap_request(cases, case)
    if request is None or request.key == claimed:
        return
    outcome = await cases.caps.try_claim(request)
    if not outcome.claimed:  # the cap filled up in between: paid, and said so, not undone
        log.warning("case %s paid but over the cap: %s", case.id, outcome.standing)


async def list_cases(
    cases: Cases, user: Principal, where: CaseFilter, limit: int, offset: int
) -> tuple[list[Case], int]:
    """Cadres, finance and the auditor: their campuses' cases; a member: their own."""
    if user.has_role(*READERS):
        scope = user.campus_filter()
    else:
        user.require(Role.member)
        scope = {"member_id": user.subject}
    query = where.query(scope)
    items = await cases.store.find(
        query, sort=[("raised_at", -1), ("_id", 1)], skip=offset, limit=limit
    )
    return items, await cases.store.count(query)


# -- visits -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordVisit:
    visitors: list[str]
    visited_on: date
    brought: str
    notes: str | None


async def record_visit(cases: Cases, user: Principal, case_id: str, cmd: RecordVisit) -> Visit:
    """走访记录: a cadre of the member's campus."""
    case = await cases.store.require(case_id)
    user.require(Role.cadre, campus=case.campus)
    visit = Visit.record_new(
        case,
        visitors=cmd.visitors,
        visited_on=cmd.visited_on,
        brought=cmd.brought,
        notes=cmd.notes,
        by=user.subject,
        now=utcnow_ms(),
    )
    return await cases.visits.add(visit, Actor.of(user), "record")


async def visits_of(
    cases: Cases, user: Principal, case_id: str, recorded: str | None = None
) -> list[Visit]:
    """A case's visits with their notes: the chair and the cadres of the member's campus.

    `recorded`: a visit the caller has just recorded, listed even while the list view has
    not caught up with it (read by key: the cadre's next page shows what they wrote)."""
    case = await cases.store.require(case_id)
    user.require(Role.cadre, campus=case.campus)
    listed = await cases.visits.find(
        {"case_id": case_id, "campus": case.campus}, sort=[("visited_on", -1)], limit=200
    )
    ids = [v.id for v in listed]
    if recorded and recorded not in ids:
        ids.append(recorded)
    current = await cases.visits.get_many(ids)
    found = [current.get(v.id, v) for v in listed]
    fresh = current.get(recorded) if recorded and recorded not in {v.id for v in listed} else None
    if fresh is not None and fresh.case_id == case_id:
        found.append(fresh)
        found.sort(key=lambda v: v.visited_on, reverse=True)
    return found


# -- raised automatically ---------------------------------------------------------------------


@dataclass(frozen=True)
class RaiseAutomatically:
    """What another service's event maps to: a case the union raises by itself, once per its
    source and `refs` (the case id is made of them, so a replay finds it there)."""

    source: CaseSource
    kind: CaseKind
    refs: tuple[str, ...]
    member_id: str
    campus: str
    summary: str
    occurred_on: date
    source_ref: str | None = None


async def raise_automatically(cases: Cases, envelope: CloudEvent, cmd: RaiseAutomatically) -> bool:
    """The case, at the policy's standard amount for its kind; False when it exists already."""
    case = Case.raise_new(
        auto_case_id(cmd.source, *cmd.refs),
        member_id=cmd.member_id,
        campus=cmd.campus,
        kind=cmd.kind,
        amount_fen=AUTO_AMOUNT_FEN[cmd.kind],
        summary=cmd.summary[:100],
        source=cmd.source,
        source_ref=cmd.source_ref,
        occurred_on=cmd.occurred_on,
        by="system",
        now=utcnow_ms(),
    )
    added = await cases.store.add_if_absent(case, Actor.system(envelope), "raise")
    return added.created


async def on_attendance(event: AttendanceRecorded, envelope: CloudEvent, cases: Cases) -> None:
    """A blood donor's attendance (献血) raises a donor case once per drive and member."""
    if event.activity_kind != BLOOD_DRIVE_KIND:
        return
    cmd = RaiseAutomatically(
        CaseSource.blood_donation,
        CaseKind.blood_donation,
        (event.activity_id, event.member_id),
        event.member_id,
        event.member_campus,
        f"无偿献血慰问：{event.activity_title}",
        event.attended_on,
        source_ref=event.activity_id,
    )
    await raise_automatically(cases, envelope, cmd)


async def on_retired(event: MemberRetired, envelope: CloudEvent, cases: Cases) -> None:
    """A member retired: the retirement gift case (退休慰问), once per member."""
    cmd = RaiseAutomatically(
        CaseSource.retirement,
        CaseKind.retirement,
        (event.member_id,),
        event.member_id,
        event.campus,
        "退休慰问",
        event.retired_on,
    )
    await raise_automatically(cases, envelope, cmd)


async def on_deceased(event: MemberDeceased, envelope: CloudEvent, cases: Cases) -> None:
    """A member passed away: the bereavement case for the family (会员去世慰问), once."""
    cmd = RaiseAutomatically(
        CaseSource.death,
        CaseKind.death_member,
        (event.member_id,),
        event.member_id,
        event.campus,
        "会员去世慰问（慰问家属）",
        event.deceased_on,
    )
    await raise_automatically(cases, envelope, cmd)


def steps_open(case: Case) -> list[CaseStep]:
    """The steps the case can take now (the desk's buttons)."""
    return [s for s, (sources, _) in TRANSITIONS.items() if case.status in sources]
