"""The exam rules without I/O: who may take part, which package, which move, the tally, and
who reads a booking."""

from __future__ import annotations

from datetime import date

import pytest

from services.welfare.exams.domain import (
    TRANSITIONS,
    BookingStatus,
    ExamBooking,
    ExamPlan,
    PlanSettings,
    check_package,
    eligible_packages,
    may_take_part,
    tally,
)
from services.welfare.exams.handlers import may_act_for, may_read_booking
from shared.errors import Conflict, Forbidden, Invalid, Refused
from shared.principal import Principal


def settings(**over) -> PlanSettings:
    body = {
        "title": "2027年度体检",
        "union_pays": True,
        "providers": [{"code": "rmyy", "name": "人民医院"}],
        "packages": [
            {"code": "basic", "name": "基础", "price_fen": 40_000},
            {"code": "female", "name": "女职工", "price_fen": 50_000, "gender": "female"},
            {"code": "over50", "name": "50岁以上", "price_fen": 60_000, "min_age": 50},
        ],
        "slots": [{"code": "a", "provider": "rmyy", "day": "2027-03-10", "capacity": 2}],
        **over,
    }
    return PlanSettings.model_validate(body)


def person(**over) -> dict:
    return {"_id": "m1", "status": "active", "gender": "female", "birth_year": 1977, **over}


def test_packages_by_gender_and_age_in_the_plan_year():
    plan = ExamPlan.new("main", 2027, settings())
    assert [p.code for p in eligible_packages(plan, person())] == ["basic", "female", "over50"]
    assert [p.code for p in eligible_packages(plan, person(birth_year=1978))] == [
        "basic",
        "female",
    ]
    man = person(gender="male", birth_year=None)
    assert [p.code for p in eligible_packages(plan, man)] == ["basic"]
    with pytest.raises(Refused) as refused:
        check_package(plan, "female", man)
    assert refused.value.code == "exam.package_not_eligible"
    with pytest.raises(Invalid):
        check_package(plan, "vip", man)


def test_retirees_only_when_the_plan_says_so():
    plan = ExamPlan.new("main", 2027, settings())
    may_take_part(plan, person())
    with pytest.raises(Refused) as refused:
        may_take_part(plan, person(status="retired"))
    assert refused.value.code == "exam.retirees_excluded"
    with pytest.raises(Refused):
        may_take_part(plan, person(status="withdrawn"))
    may_take_part(ExamPlan.new("main", 2027, settings(retirees=True)), person(status="retired"))


def test_a_plan_refuses_unknown_providers_duplicate_codes_and_other_years():
    slot = {"code": "a", "provider": "nobody", "day": "2027-03-10", "capacity": 1}
    with pytest.raises(Conflict, match="体检机构"):
        ExamPlan.new("main", 2027, settings(slots=[slot]))
    twice = [{**slot, "provider": "rmyy"}, {**slot, "provider": "rmyy"}]
    with pytest.raises(Conflict, match="代码重复"):
        ExamPlan.new("main", 2027, settings(slots=twice))
    with pytest.raises(Conflict, match="2026"):
        ExamPlan.new("main", 2026, settings())


def test_booking_moves_follow_the_table():
    plan = ExamPlan.new("main", 2027, settings())
    booking = ExamBooking.new(plan, person(), plan.slots[0], plan.packages[0], 1, "t1")
    booking.cancel()
    with pytest.raises(Conflict):
        booking.cancel()
    with pytest.raises(Conflict):
        booking.complete(date(2027, 3, 10), True)
    booking.book(plan.slots[0], plan.packages[0], 2, "t2")
    booking.complete(date(2027, 3, 10), True)
    booking.complete(date(2027, 3, 11), True)  # twice: nothing more
    assert booking.completed_on == date(2027, 3, 10)
    assert (BookingStatus.completed, BookingStatus.booked) not in TRANSITIONS
    types = [e.type for e in booking.events]
    assert types.count("welfare.exam.completed.v1") == 1


def test_revising_keeps_booked_slots():
    plan = ExamPlan.new("main", 2027, settings())
    moved = settings(slots=[{"code": "a", "provider": "rmyy", "day": "2027-04-01", "capacity": 2}])
    with pytest.raises(Conflict) as refused:
        plan.revise(moved, {"a"})
    assert refused.value.code == "exam.slot_in_use"
    plan.revise(moved, set())
    assert plan.slots[0].day == date(2027, 4, 1)


def test_tally_per_department():
    plan = ExamPlan.new("main", 2027, settings())
    people = [
        {"_id": "m1", "department": "艺术系"},
        {"_id": "m2", "department": "艺术系"},
        {"_id": "m3", "department": "音乐系"},
    ]
    b1 = ExamBooking.new(plan, person(_id="m1"), plan.slots[0], plan.packages[0], 1, "t")
    b3 = ExamBooking.new(plan, person(_id="m3"), plan.slots[0], plan.packages[0], 2, "t")
    b3.complete(date(2027, 3, 10), False)
    total, by = tally(people, {"m1": b1, "m3": b3})
    assert (total.booked, total.completed, total.not_booked) == (1, 1, 1)
    assert by["艺术系"].not_booked == 1 and by["音乐系"].completed == 1


def auditor(campus: str = "main") -> Principal:
    return Principal("aud-1", frozenset({"auditor", "member"}), frozenset({campus}))


def test_the_auditor_reads_a_booking_only_when_the_union_pays_and_acts_for_nobody():
    union_pays = ExamPlan.new("main", 2027, settings())
    own_cost = ExamPlan.new("main", 2027, settings(union_pays=False))
    may_read_booking(auditor(), union_pays, "m1", None)
    with pytest.raises(Forbidden):
        may_read_booking(auditor(), own_cost, "m1", None)  # nothing of it on the ledger
    # Paid by the union once, it stays on the ledger whatever the plan says later.
    booking = ExamBooking.new(own_cost, person(), own_cost.slots[0], own_cost.packages[0], 1, "t")
    booking.complete(date(2027, 3, 10), True)
    may_read_booking(auditor(), own_cost, "m1", booking)
    with pytest.raises(Forbidden) as elsewhere:
        may_read_booking(auditor("east"), union_pays, "m1", None)
    assert elsewhere.value.code == "auth.campus_forbidden"
    with pytest.raises(Forbidden):
        may_act_for(auditor(), union_pays, "m1")  # booking, moving, cancelling: not theirs
    # A member still reads their own, and nobody else's.
    member = Principal("m2", frozenset({"member"}), frozenset({"main"}))
    may_read_booking(member, union_pays, "m2", None)
    with pytest.raises(Forbidden):
        may_read_booking(member, union_pays, "m1", None)
