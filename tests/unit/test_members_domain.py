"""Membership rules, pure: no database, no broker."""

from datetime import date

import pytest

from services.members.domain import JoinMember, MembershipError, MemberStatus, join
from shared.events.members import MemberJoined

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
    assert member.events[0].email is None


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
    with pytest.raises(MembershipError) as err:
        join(cmd(**over), TODAY)
    assert err.value.code == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(err.value))


def test_joined_event_carries_no_phone_or_id_number():
    fields = set(MemberJoined.model_fields)
    assert "phone" not in fields
    assert not any("id_number" in f or "salary" in f for f in fields)
