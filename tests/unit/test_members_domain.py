"""Membership rules, pure: no database, no broker."""

from datetime import date

import pytest
from pydantic import ValidationError

from services.members.membership.domain import (
    JoinMember,
    Member,
    MemberStatus,
    join,
    member_id_for,
)
from shared.errors import Conflict, Invalid
from shared.events.members import MemberJoined, MemberWithdrawn

TODAY = date(2026, 9, 1)


def cmd(**over):
    base = {"staff_no": "T2023001", "name": "王老师", "campus": "main", "department": "学前教育系"}
    return JoinMember(**{**base, **over})


def test_join_makes_an_active_member_and_records_joined():
    member = join(cmd(email="wang@school.local"), TODAY)
    assert member.status is MemberStatus.active
    assert member.joined_on == TODAY
    [event] = member.events
    assert isinstance(event, MemberJoined)
    assert event.member_id == member.id
    assert event.email == "wang@school.local"
    assert event.type == "members.member.joined.v1"


def test_full_width_input_from_a_chinese_ime_is_folded():
    member = join(
        cmd(staff_no="ｔ２０２３００１", phone="１３８ ００００ ０００１", name="　李老师　"), TODAY
    )
    assert member.staff_no == "T2023001"
    assert member.phone == "13800000001"
    assert member.name == "李老师"


def test_empty_optional_cells_become_none():
    member = join(cmd(email="  ", phone=""), TODAY)
    assert member.email is None and member.phone is None
    [event] = member.events
    assert isinstance(event, MemberJoined) and event.email is None


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"staff_no": "工号?"}, "member.invalid_staff_no"),
        ({"name": "   "}, "member.name_required"),
        ({"department": ""}, "member.department_required"),
        ({"phone": "1380000"}, "member.invalid_phone"),
        ({"email": "not-an-email"}, "member.invalid_email"),
    ],
)
def test_bad_input_is_refused_with_a_stable_code_and_chinese_message(over, code):
    unchecked = JoinMember.model_construct(**{**cmd().model_dump(), **over})
    with pytest.raises(Invalid) as err:
        join(unchecked, TODAY)
    assert err.value.code == code and err.value.status == 422
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.message)


@pytest.mark.parametrize(
    "over",
    [
        {"staff_no": "工号?"},
        {"name": "   "},
        {"name": "王\x00芳"},
        {"department": ""},
        {"phone": "1380000"},
        {"email": "not-an-email"},
        {"email": "a＠b@school.local"},
    ],
)
def test_the_schema_states_the_same_rules_so_clients_can_know_them(over):
    with pytest.raises(ValidationError):
        cmd(**over)


def test_joined_event_carries_no_phone_or_id_number():
    fields = set(MemberJoined.model_fields)
    assert "phone" not in fields
    assert not any("id_number" in f or "salary" in f for f in fields)


def test_one_staff_number_is_one_member_id_however_it_is_typed():
    assert join(cmd(staff_no="ｔ２０２３００１"), TODAY).id == member_id_for("T2023001")
    assert join(cmd(), TODAY).id == join(cmd(name="别人"), TODAY).id


def test_an_active_member_withdraws_and_records_withdrawn():
    member = join(cmd(), TODAY)
    member.pull_events()
    member.withdraw(date(2026, 12, 31))
    assert member.status is MemberStatus.withdrawn
    [event] = member.events
    assert isinstance(event, MemberWithdrawn)
    assert (event.member_id, event.withdrawn_on) == (member.id, date(2026, 12, 31))


def test_withdrawing_twice_is_a_conflict_naming_the_current_state():
    member = Member.model_validate(
        {**join(cmd(), TODAY).model_dump(), "status": "withdrawn", "version": 2}
    )
    with pytest.raises(Conflict) as err:
        member.withdraw(TODAY)
    assert err.value.code == "member.invalid_transition" and err.value.status == 409
    assert "已退会" in err.value.message and err.value.details["current"] == "withdrawn"
    assert member.events == [] and member.status is MemberStatus.withdrawn
