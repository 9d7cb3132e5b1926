"""The annual physical exam (年度体检): plans, packages, slots and bookings — the rules, no I/O.

A plan is one per campus and year (`main:2026`): its providers (体检机构), its packages
(套餐, each maybe for one gender or from an age), its dated slots with a capacity, and two
settings — whether retirees may book and whether the union pays (in many schools the school
pays, not the union). A booking is one per member and plan (`main:2026:<member>`): booked,
moved, cancelled, booked again, completed. The capacity of a slot is not a field of anything:
it is the pool of numbered seats in `store.py`, taken by unique inserts.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, JsonValue

from services.welfare.funds.chart import LineKind, current_chart
from shared.aggregate import Aggregate
from shared.errors import Conflict, Invalid, Refused
from shared.events.welfare_exams import ExamBooked, ExamCancelled, ExamCompleted, ExamPlanSaved
from shared.labels import Labelled
from shared.text import PLAIN_TEXT, VISIBLE_TEXT

CODE = r"^[a-z0-9][a-z0-9-]{0,23}$"


def _day_text(value: Any) -> Any:
    """A day comes as `YYYY-MM-DD` text: a number (an epoch count) is not a day a person chose."""
    if not isinstance(value, str | date):
        raise ValueError("日期应写作 YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_day_text)]


def _whole(value: Any) -> Any:
    """A whole number as JSON writes it (3 or 3.0); never a bool or a text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("应为整数")
    return value


Whole = Annotated[int, BeforeValidator(_whole)]
SPENDING_LINES: list[JsonValue] = [*sorted(current_chart().leaves_codes(LineKind.spending))]


class BookingStatus(Labelled):
    booked = "booked", "已预约"
    cancelled = "cancelled", "已取消"
    completed = "completed", "已体检"


class Provider(BaseModel):
    code: str = Field(pattern=CODE, description="机构代码，如 rmyy")
    name: str = Field(pattern=VISIBLE_TEXT, min_length=1, max_length=60, description="体检机构名称")


class Package(BaseModel):
    code: str = Field(pattern=CODE, description="套餐代码，如 female")
    name: str = Field(pattern=VISIBLE_TEXT, min_length=1, max_length=60, description="套餐名称")
    price_fen: Whole = Field(ge=0, le=10_000_000, description="单价（分）；工会支付时按此记账")
    gender: str | None = Field(
        None, pattern=r"^(female|male)$", description="仅限该性别（female 女 / male 男）"
    )
    min_age: Annotated[int, Field(ge=18, le=100), BeforeValidator(_whole)] | None = Field(
        None, description="当年满该年龄方可选择"
    )


class Slot(BaseModel):
    code: str = Field(pattern=CODE, description="时段代码，如 d0610am")
    provider: str = Field(pattern=CODE, description="体检机构代码")
    day: Day = Field(description="体检日期（北京时间）")
    period: str = Field(
        "", max_length=20, pattern=PLAIN_TEXT, description="时段说明，如 上午 7:30-10:00"
    )
    capacity: Whole = Field(ge=1, le=5000, description="名额")


class PlanSettings(BaseModel):
    title: str = Field(pattern=VISIBLE_TEXT, min_length=1, max_length=80)
    union_pays: bool = Field(strict=True, description="工会支付体检费（完成后按套餐价记入台账）")
    line: str = Field(
        "spend_rights_other",
        json_schema_extra={"enum": SPENDING_LINES},
        description="工会支付时记入的支出科目（明细科目代码）",
    )
    retirees: bool = Field(False, strict=True, description="退休会员可预约")
    providers: list[Provider] = Field(min_length=1, max_length=20)
    packages: list[Package] = Field(min_length=1, max_length=30)
    slots: list[Slot] = Field(min_length=1, max_length=400)


def plan_id_of(campus: str, year: int) -> str:
    return f"{campus}:{year}"


def booking_id_of(plan_id: str, member_id: str) -> str:
    return f"{plan_id}:{member_id}"


class ExamPlan(Aggregate):
    year: int
    title: str
    union_pays: bool
    line: str
    retirees: bool
    providers: list[Provider]
    packages: list[Package]
    slots: list[Slot]

    @classmethod
    def new(cls, campus: str, year: int, settings: PlanSettings) -> ExamPlan:
        check_settings(settings, year)
        plan = cls(id=plan_id_of(campus, year), campus=campus, year=year, **_fields(settings))
        plan.record(plan.saved())
        return plan

    def revise(self, settings: PlanSettings, booked_slots: set[str]) -> None:
        """Change the plan; a slot someone has booked stays (its day and provider too)."""
        check_settings(settings, self.year)
        kept = {s.code: s for s in settings.slots}
        for code in booked_slots:
            old = self.slot(code)
            new = kept.get(code)
            if new is None or (new.day, new.provider) != (old.day, old.provider):
                raise Conflict(
                    "exam.slot_in_use", f"时段「{code}」已有人预约，不能删除或改期", slot=code
                )
        for name, value in _fields(settings).items():
            setattr(self, name, value)
        self.record(self.saved())

    def saved(self) -> ExamPlanSaved:
        return ExamPlanSaved(
            plan_id=self.id,
            campus=self.campus,
            year=self.year,
            slots=len(self.slots),
            places=sum(s.capacity for s in self.slots),
        )

    def slot(self, code: str) -> Slot:
        for slot in self.slots:
            if slot.code == code:
                return slot
        raise Invalid("exam.slot_unknown", f"时段「{code}」不在本体检方案中", slot=code)

    def package(self, code: str) -> Package:
        for package in self.packages:
            if package.code == code:
                return package
        raise Invalid("exam.package_unknown", f"套餐「{code}」不在本体检方案中", package=code)

    def provider_name(self, code: str) -> str:
        return next((p.name for p in self.providers if p.code == code), code)


def _fields(settings: PlanSettings) -> dict[str, Any]:
    return {
        "title": settings.title,
        "union_pays": settings.union_pays,
        "line": settings.line,
        "retirees": settings.retirees,
        "providers": settings.providers,
        "packages": settings.packages,
        "slots": sorted(settings.slots, key=lambda s: (s.day, s.code)),
    }


def check_settings(settings: PlanSettings, year: int) -> None:
    for what, codes in (
        ("机构", [p.code for p in settings.providers]),
        ("套餐", [p.code for p in settings.packages]),
        ("时段", [s.code for s in settings.slots]),
    ):
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise Conflict(
                "exam.duplicate_code", f"{what}代码重复：{'、'.join(twice)}", codes=twice
            )
    providers = {p.code for p in settings.providers}
    for slot in settings.slots:
        if slot.provider not in providers:
            raise Conflict(
                "exam.provider_unknown",
                f"时段「{slot.code}」的体检机构「{slot.provider}」不在方案中",
                slot=slot.code,
            )
        if slot.day.year != year:
            raise Conflict(
                "exam.slot_outside_year",
                f"时段「{slot.code}」的日期不在 {year} 年内",
                slot=slot.code,
            )


# -- who may book what ------------------------------------------------------------------------


def may_take_part(plan: ExamPlan, person: dict[str, Any]) -> None:
    """Active members; retirees when the plan says so (422 otherwise)."""
    status = person.get("status")
    if status == "active":
        return
    if status == "retired" and plan.retirees:
        return
    if status == "retired":
        raise Refused("exam.retirees_excluded", "本年度体检方案不含退休会员")
    raise Refused("exam.not_eligible", "仅在会会员可预约体检", member_status=status)


def package_refusal(plan: ExamPlan, package: Package, person: dict[str, Any]) -> str | None:
    """Why this person may not take this package (None: they may)."""
    if package.gender is not None and person.get("gender") != package.gender:
        who = "女" if package.gender == "female" else "男"
        return f"套餐「{package.name}」仅限{who}职工"
    if package.min_age is not None:
        born = person.get("birth_year")
        if born is None or plan.year - born < package.min_age:
            return f"套餐「{package.name}」限当年满 {package.min_age} 周岁的职工"
    return None


def eligible_packages(plan: ExamPlan, person: dict[str, Any]) -> list[Package]:
    return [p for p in plan.packages if package_refusal(plan, p, person) is None]


def check_package(plan: ExamPlan, package_code: str, person: dict[str, Any]) -> Package:
    package = plan.package(package_code)
    refused = package_refusal(plan, package, person)
    if refused:
        raise Refused("exam.package_not_eligible", refused, package=package_code)
    return package


# -- a member's booking -----------------------------------------------------------------------


# Every move a booking can make: (from, to) → the action's name. A move not in here is 409.
TRANSITIONS: dict[tuple[BookingStatus, BookingStatus], str] = {
    (BookingStatus.booked, BookingStatus.booked): "move",
    (BookingStatus.booked, BookingStatus.cancelled): "cancel",
    (BookingStatus.cancelled, BookingStatus.booked): "book_again",
    (BookingStatus.booked, BookingStatus.completed): "complete",
}


class ExamBooking(Aggregate):
    plan_id: str
    year: int
    member_id: str
    department: str | None = None
    status: BookingStatus
    slot: str
    day: date
    package: str
    seat: int  # the seat number held in the slot's pool
    token: str  # the take that won the seat: only this booking's change gives it back
    price_fen: int = 0
    completed_on: date | None = None
    union_paid: bool = False

    @classmethod
    def new(
        cls,
        plan: ExamPlan,
        member: dict[str, Any],
        slot: Slot,
        package: Package,
        seat: int,
        token: str,
    ) -> ExamBooking:
        booking = cls(
            id=booking_id_of(plan.id, member["_id"]),
            campus=plan.campus,
            plan_id=plan.id,
            year=plan.year,
            member_id=member["_id"],
            department=member.get("department"),
            status=BookingStatus.booked,
            slot=slot.code,
            day=slot.day,
            package=package.code,
            seat=seat,
            token=token,
            price_fen=package.price_fen,
        )
        booking.record(booking.booked(None))
        return booking

    def _move(self, to: BookingStatus) -> None:
        if (self.status, to) not in TRANSITIONS:
            raise Conflict(
                "exam.booking_state",
                f"预约当前为「{self.status.label}」，不能改为「{to.label}」",
                current=self.status.value,
            )
        self.status = to

    def book(self, slot: Slot, package: Package, seat: int, token: str) -> None:
        """Book again after a cancel, or move to another slot (the new seat is won already)."""
        moved_from = self.slot if self.status is BookingStatus.booked else None
        self._move(BookingStatus.booked)
        self.slot, self.day, self.package = slot.code, slot.day, package.code
        self.seat, self.token, self.price_fen = seat, token, package.price_fen
        self.record(self.booked(moved_from))

    def cancel(self) -> None:
        self._move(BookingStatus.cancelled)
        self.record(
            ExamCancelled(
                booking_id=self.id,
                plan_id=self.plan_id,
                member_id=self.member_id,
                campus=self.campus,
                slot=self.slot,
            )
        )

    def complete(self, on: date, union_paid: bool) -> None:
        if self.status is BookingStatus.completed:
            return  # recorded before (a list sent twice): nothing to do
        self._move(BookingStatus.completed)
        self.completed_on, self.union_paid = on, union_paid
        self.record(
            ExamCompleted(
                booking_id=self.id,
                plan_id=self.plan_id,
                member_id=self.member_id,
                campus=self.campus,
                completed_on=on,
                union_paid=union_paid,
            )
        )

    def booked(self, moved_from: str | None) -> ExamBooked:
        return ExamBooked(
            booking_id=self.id,
            plan_id=self.plan_id,
            member_id=self.member_id,
            campus=self.campus,
            slot=self.slot,
            day=self.day,
            package=self.package,
            moved_from=moved_from,
        )


# -- statistics -------------------------------------------------------------------------------


class Tally(BaseModel):
    eligible: int = 0
    booked: int = 0
    completed: int = 0
    not_booked: int = 0


def tally(
    people: list[dict[str, Any]], bookings: dict[str, ExamBooking]
) -> tuple[Tally, dict[str, Tally]]:
    """Booked, completed and not booked, in all and per department (pure)."""
    total = Tally()
    by_department: dict[str, Tally] = {}
    for person in people:
        department = person.get("department") or "未分配"
        row = by_department.setdefault(department, Tally())
        booking = bookings.get(person["_id"])
        status = booking.status if booking else None
        for t in (total, row):
            t.eligible += 1
            if status is BookingStatus.booked:
                t.booked += 1
            elif status is BookingStatus.completed:
                t.completed += 1
            else:
                t.not_booked += 1
    return total, dict(sorted(by_department.items()))
