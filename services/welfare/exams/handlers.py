"""Exam use cases: set up a plan, book, move, cancel, record completion (also from a provider's
list), statistics and the not-booked list.

Who may: a cadre of the campus sets up its plan, books for a member, records completion and
reads the statistics; a member books, moves and cancels their own booking; the auditor of the
campus reads a booking whose fee the union pays. A seat is won before the booking is written;
whatever the booking's change does not keep is given back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.welfare.exams.domain import (
    BookingStatus,
    ExamBooking,
    ExamPlan,
    Package,
    PlanSettings,
    Slot,
    Tally,
    booking_id_of,
    check_package,
    may_take_part,
    plan_id_of,
    tally,
)
from services.welfare.exams.store import ExamBook, pool_of
from services.welfare.funds.benefits import pay_benefit
from services.welfare.funds.chart import LineKind
from services.welfare.funds.handlers import Funds
from shared.aggregate import Actor
from shared.auth import Principal, Role
from shared.errors import Conflict, DomainError, Invalid, NotFound, Refused
from shared.parsing import Unparsable, half_width, parse_date, text_of
from shared.readmodels.member_directory import MemberDirectory
from shared.spreadsheet import Oversized, Unreadable, off_the_loop, read_table
from shared.timeutil import local_today

MAX_ROWS = 5000
MAX_PEOPLE = 20_000  # a campus's members, far beyond a school's


@dataclass(frozen=True)
class Exams:
    """What the exam use cases work with (built once by the composition root)."""

    book: ExamBook
    directory: MemberDirectory
    funds: Funds


# -- plans ------------------------------------------------------------------------------------


async def save_plan(
    exams: Exams, user: Principal, campus: str, year: int, settings: PlanSettings
) -> ExamPlan:
    """设置体检方案: the first time creates it; later a revision that keeps booked slots."""
    user.require(Role.cadre, campus=campus)
    exams.funds.chart.postable(settings.line, LineKind.spending)  # 422 for a wrong line
    actor = Actor.of(user)
    added = await exams.book.plans.add_if_absent(ExamPlan.new(campus, year, settings), actor)
    if added.created:
        return added.aggregate
    plan_id = plan_id_of(campus, year)
    in_use = await exams.book.booked_in(plan_id)
    return await exams.book.plans.change(
        plan_id, lambda p: p.revise(settings, in_use), actor, "revise"
    )


async def plan_of(exams: Exams, user: Principal, campus: str, year: int) -> ExamPlan:
    user.require(campus=campus)
    return await exams.book.plans.require(plan_id_of(campus, year))


# -- booking ----------------------------------------------------------------------------------


def may_act_for(user: Principal, plan: ExamPlan, member_id: str) -> None:
    """A member for themself; a cadre of the plan's campus for anyone."""
    if user.subject == member_id:
        user.require_campus(plan.campus)
    else:
        user.require(Role.cadre, campus=plan.campus)


def may_read_booking(
    user: Principal, plan: ExamPlan, member_id: str, booking: ExamBooking | None
) -> None:
    """Who acts for the member (`may_act_for`) reads the booking; so does the auditor (经费审查
    委员) of the campus when the union pays the fee: it is on the ledger under the booking
    (`welfare.exam:<booking>`), and the auditor traces it there. A fee the member pays is not
    the union's money: no reason to read someone's exam then."""
    pays = plan.union_pays or (booking is not None and booking.union_paid)
    if user.subject != member_id and pays and user.has_role(Role.auditor):
        user.require(Role.auditor, campus=plan.campus)
        return
    may_act_for(user, plan, member_id)


async def person_of(
    exams: Exams, plan: ExamPlan, member_id: str, missing: type[DomainError] = NotFound
) -> dict[str, Any]:
    """The member, if they may take part. `missing`: a member a booking names that is not
    there is input to correct (Invalid, 422); on a read of my own page it is NotFound."""
    person = await exams.directory.get(member_id)
    if person is None:
        raise missing("member.not_found", "未找到该会员（会员信息可能尚未同步）", id=member_id)
    if person.get("campus") != plan.campus:
        raise Refused("exam.other_campus", "该会员不属于本校区，请预约所在校区的体检")
    may_take_part(plan, person)
    return person


async def book(
    exams: Exams, user: Principal, plan: ExamPlan, member_id: str, slot_code: str, package: str
) -> ExamBooking:
    """预约或改约: a seat of the slot is won first (409 `exam.slot_full` when none is free),
    then the booking is written; a move gives the old seat back after the booking has moved."""
    may_act_for(user, plan, member_id)
    slot = plan.slot(slot_code)
    booking_id = booking_id_of(plan.id, member_id)
    current = await exams.book.bookings.get(booking_id)
    if await exams.book.seen_full(plan.id, slot.code, slot.capacity) and not (
        current is not None and current.status is BookingStatus.booked and current.slot == slot.code
    ):
        # A rush on a full slot is answered from what this process saw a moment ago, without
        # the member's reads: only a seat's insert could book it, and none is free.
        raise Conflict("exam.slot_full", "该时段名额已满，请选择其他时段", slot=slot.code)
    person = await person_of(exams, plan, member_id, Invalid)
    chosen = check_package(plan, package, person)
    if current is not None:
        if current.status is BookingStatus.completed:
            raise Conflict("exam.already_completed", "本年度体检已完成，不能再预约")
        if (
            current.status is BookingStatus.booked
            and current.slot == slot.code
            and current.package == chosen.code
        ):
            return current  # twice is once
    if slot.day < local_today():
        raise Conflict("exam.slot_past", "该时段已过，请选择其他日期", slot=slot.code)
    token = secrets.token_hex(8)
    seat = await exams.book.take_seat(plan.id, slot.code, slot.capacity, token, booking_id)
    if seat is None:
        raise Conflict("exam.slot_full", "该时段名额已满，请选择其他时段", slot=slot.code)
    kept = False
    try:
        if current is None:
            added = await exams.book.bookings.add_if_absent(
                ExamBooking.new(plan, person, slot, chosen, seat, token), Actor.of(user), "book"
            )
            if added.created:
                kept = True
                return added.aggregate
        booking, left = await _rebook(exams, user, booking_id, slot, chosen, seat, token)
        kept = booking.token == token
        if kept and left is not None:
            await exams.book.give_back(pool_of(plan.id, left[0]), left[1], left[2])
        return booking
    finally:
        if not kept:
            await exams.book.give_back(pool_of(plan.id, slot.code), seat, token)


async def _rebook(
    exams: Exams,
    user: Principal,
    booking_id: str,
    slot: Slot,
    package: Package,
    seat: int,
    token: str,
) -> tuple[ExamBooking, tuple[str, int, str] | None]:
    """Book again or move; returns the booking and the seat it left (slot, number, token)."""
    left: list[tuple[str, int, str] | None] = [None]

    def decide(b: ExamBooking) -> None:
        before = (b.slot, b.seat, b.token) if b.status is BookingStatus.booked else None
        if before is not None and b.slot == slot.code and b.package == package.code:
            left[0] = None  # someone else's request did the same already: keep theirs
            return
        b.book(slot, package, seat, token)
        left[0] = before

    booking = await exams.book.bookings.change(booking_id, decide, Actor.of(user), "book")
    return booking, left[0]


async def cancel(exams: Exams, user: Principal, plan: ExamPlan, member_id: str) -> ExamBooking:
    """取消预约: the booking moves first; then its seat is given back (once)."""
    may_act_for(user, plan, member_id)
    held: list[tuple[str, int, str]] = []

    def decide(b: ExamBooking) -> None:
        held[:] = [(b.slot, b.seat, b.token)]
        b.cancel()

    booking_id = booking_id_of(plan.id, member_id)
    booking = await exams.book.bookings.change(booking_id, decide, Actor.of(user), "cancel")
    slot, seat, token = held[0]
    await exams.book.give_back(pool_of(plan.id, slot), seat, token)
    return booking


async def booking_of(
    exams: Exams, user: Principal, plan: ExamPlan, member_id: str
) -> ExamBooking | None:
    booking = await exams.book.bookings.get(booking_id_of(plan.id, member_id))
    may_read_booking(user, plan, member_id, booking)
    return booking


# -- completion -------------------------------------------------------------------------------


async def complete(
    exams: Exams, user: Principal, plan: ExamPlan, member_id: str, on: date | None
) -> ExamBooking:
    """记录体检完成; when the union pays, the package's price is posted to the ledger once per
    booking (key `exam:<booking>`), before the booking says so, so a refusal (no budget)
    changes nothing and a retry posts nothing twice."""
    user.require(Role.cadre, campus=plan.campus)
    day = on or local_today()
    booking_id = booking_id_of(plan.id, member_id)
    booking = await exams.book.bookings.get(booking_id)
    if booking is None or booking.status is BookingStatus.cancelled:
        raise Conflict("exam.not_booked", "该会员没有有效的体检预约", member_id=member_id)
    if booking.status is BookingStatus.completed:
        return booking
    if day.year != plan.year:
        raise Conflict("exam.date_outside_year", f"体检日期不在 {plan.year} 年内", year=plan.year)
    actor = Actor.of(user)
    pays = plan.union_pays and booking.price_fen > 0
    if pays:
        await pay_benefit(
            exams.funds,
            actor,
            campus=plan.campus,
            year=plan.year,
            line=plan.line,
            amount_fen=booking.price_fen,
            cause=f"{plan.year}年度教职工体检费",
            cause_ref=f"welfare.exam:{booking_id}",
            approved_by=plan.title,
            occurred_on=day,
            key=f"exam:{booking_id}",
        )
    return await exams.book.bookings.change(
        booking_id, lambda b: b.complete(day, pays), actor, "complete"
    )


@dataclass
class RowAnswer:
    row: int
    staff_no: str
    outcome: str  # completed / already / refused
    message: str


@dataclass
class CompletionReport:
    rows: list[RowAnswer] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)


STAFF_HEADERS = ("工号", "职工号", "staff_no")
DATE_HEADERS = ("体检日期", "日期", "completed_on")


def _column(header: list[Any], names: tuple[str, ...]) -> int | None:
    cells = [half_width(text_of(c)).strip() for c in header]
    return next((i for i, c in enumerate(cells) if c in names), None)


async def complete_from_list(
    exams: Exams, user: Principal, plan: ExamPlan, data: bytes
) -> CompletionReport:
    """The provider's list (CSV from Excel, GBK or UTF-8, or XLSX): 工号 and 体检日期 per row.
    Every good row is recorded once however often the list is sent; each bad row is answered
    with its row number and why; a file that is no such list records nothing (409)."""
    user.require(Role.cadre, campus=plan.campus)
    if not data:
        raise Conflict("exam.unreadable_file", "请上传体检机构的名单文件")
    try:
        table = await off_the_loop(read_table, data, MAX_ROWS + 1)
    except (Unreadable, Oversized) as exc:
        raise Conflict("exam.unreadable_file", f"文件无法读取：{exc}") from exc
    if not table.rows:
        raise Conflict("exam.unreadable_file", "文件无法读取：文件是空的")
    _, header = table.rows[0]
    staff_col, date_col = _column(header, STAFF_HEADERS), _column(header, DATE_HEADERS)
    if staff_col is None or date_col is None:
        raise Conflict("exam.unreadable_file", "文件无法读取：第一行须有「工号」和「体检日期」两列")
    if len(table.rows) > MAX_ROWS + 1:
        raise Conflict("exam.unreadable_file", f"文件无法读取：最多 {MAX_ROWS} 行")
    report = CompletionReport()
    for number, cells in table.rows[1:]:
        cells = cells + [None] * (max(staff_col, date_col) + 1 - len(cells))
        staff_no = half_width(text_of(cells[staff_col])).strip().upper()
        report.rows.append(
            await _complete_row(exams, user, plan, number, staff_no, cells[date_col])
        )
    return report


async def _complete_row(
    exams: Exams, user: Principal, plan: ExamPlan, number: int, staff_no: str, when: Any
) -> RowAnswer:
    if not staff_no:
        return RowAnswer(number, staff_no, "refused", "工号：不能为空")
    try:
        day = parse_date(when, "体检日期")
    except Unparsable as exc:
        return RowAnswer(number, staff_no, "refused", exc.message)
    person = await exams.directory.by_staff_no(staff_no)
    if person is None or person.get("campus") != plan.campus:
        return RowAnswer(number, staff_no, "refused", f"工号 {staff_no} 不是本校区会员")
    before = await exams.book.bookings.get(booking_id_of(plan.id, person["_id"]))
    if before is not None and before.status is BookingStatus.completed:
        return RowAnswer(number, staff_no, "already", "此前已记录完成")
    try:
        await complete(exams, user, plan, person["_id"], day)
    except DomainError as exc:
        return RowAnswer(number, staff_no, "refused", exc.message)
    return RowAnswer(number, staff_no, "completed", "已记录完成")


# -- statistics -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statistics:
    total: Tally
    by_department: dict[str, Tally]
    not_booked: list[dict[str, Any]]
    awaiting: list[tuple[dict[str, Any], ExamBooking]]  # booked, not yet done: by day, slot


async def statistics(exams: Exams, user: Principal, plan: ExamPlan) -> Statistics:
    """Booked, completed, not booked: the campus in all and per department, who has not
    booked (for a reminder) and who is booked and not done yet (for recording completion);
    role: cadre of the campus."""
    user.require(Role.cadre, campus=plan.campus)
    statuses = ["active", "retired"] if plan.retirees else ["active"]
    found = exams.directory.coll.find(
        {"campus": plan.campus, "status": {"$in": statuses}},
        {"name": 1, "staff_no": 1, "department": 1, "status": 1},
    )
    people = sorted(
        await found.limit(MAX_PEOPLE).to_list(), key=lambda p: (p.get("department") or "", p["_id"])
    )
    bookings = await exams.book.of_members(plan.id, [p["_id"] for p in people])
    total, by_department = tally(people, bookings)
    waiting = [
        p
        for p in people
        if p["_id"] not in bookings or bookings[p["_id"]].status is BookingStatus.cancelled
    ]
    awaiting = sorted(
        (
            (p, bookings[p["_id"]])
            for p in people
            if p["_id"] in bookings and bookings[p["_id"]].status is BookingStatus.booked
        ),
        key=lambda pb: (pb[1].day, pb[1].slot, pb[0].get("staff_no") or pb[0]["_id"]),
    )
    return Statistics(total, by_department, waiting, awaiting)
