"""Membership rules, pure: no database, no broker."""

from datetime import date

import pytest
from pydantic import ValidationError

from services.members.membership.domain import (
    TRANSITIONS,
    ContactDetails,
    JoinMember,
    Member,
    MemberStatus,
    UpdateDetails,
    id_number_checks_out,
    join,
    member_id_for,
)
from shared.errors import Conflict, Invalid
from shared.events.members import (
    ContactChanged,
    ContactErased,
    MemberApplied,
    MemberJoined,
    MemberJoinedV2,
    MemberTransferred,
    MemberUpdated,
    MemberWithdrawn,
)

TODAY = date(2026, 9, 1)


def cmd(**over):
    base = {"staff_no": "T2023001", "name": "王老师", "campus": "main", "department": "学前教育系"}
    return JoinMember(**{**base, **over})


def test_join_makes_an_active_member_and_records_joined_with_contact_off_the_shared_topic():
    member = join(
        cmd(email="wang@school.local", gender="female", birth_date=date(1990, 3, 8)), TODAY
    )
    assert member.status is MemberStatus.active and member.joined_on == TODAY
    v2, v1, contact = member.events
    assert isinstance(v2, MemberJoinedV2) and isinstance(v1, MemberJoined)
    assert (v2.member_id, v2.birthday, v2.birth_year, v2.gender) == (
        member.id,
        "03-08",
        1990,
        "female",
    )
    assert v1.email is None  # deprecated v1 stays published, but without the e-mail
    assert isinstance(contact, ContactChanged) and contact.email == "wang@school.local"
    assert contact.topic == "members.contact" and v2.topic == "members.member"


def test_an_application_waits_for_a_cadre():
    member = join(cmd(as_applicant=True), TODAY)
    assert member.status is MemberStatus.applied and member.joined_on is None
    [event] = member.events
    assert isinstance(event, MemberApplied) and event.applied_on == TODAY
    member.pull_events()
    member.approve(date(2026, 9, 10))
    assert member.status.value == "active" and member.joined_on == date(2026, 9, 10)
    assert [type(e) for e in member.events] == [MemberJoinedV2, MemberJoined]


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
    assert not member.has_contact  # nothing to put on members.contact
    assert [type(e) for e in member.events] == [MemberJoinedV2, MemberJoined]


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


def test_an_active_member_withdraws_and_their_contact_is_erased():
    member = join(cmd(phone="13800000001"), TODAY)
    member.pull_events()
    member.withdraw(date(2026, 12, 31))
    assert member.status is MemberStatus.withdrawn
    withdrawn, erased = member.events
    assert isinstance(withdrawn, MemberWithdrawn) and isinstance(erased, ContactErased)
    assert (withdrawn.member_id, withdrawn.withdrawn_on) == (member.id, date(2026, 12, 31))
    assert ContactErased.tombstone and erased.member_id == member.id


def active() -> Member:
    member = join(cmd(phone="13800000001"), TODAY)
    member.pull_events()
    return member


def in_state(status: MemberStatus) -> Member:
    return Member.model_validate({**active().model_dump(), "status": status, "version": 3})


ACTIONS = {
    "approve": lambda m: m.approve(TODAY),
    "reject": lambda m: m.reject("材料不全"),
    "reapply": lambda m: m.reapply(TODAY),
    "transfer": lambda m: m.transfer("north", TODAY),
    "withdraw": lambda m: m.withdraw(TODAY),
    "retire": lambda m: m.retire(TODAY),
    "decease": lambda m: m.decease(TODAY),
    "update": lambda m: m.update(UpdateDetails(position="教研组长")),
}


@pytest.mark.parametrize("status", list(MemberStatus))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_transition_of_the_table_allowed_or_refused(status, action):
    allowed, target, _ = TRANSITIONS[action]
    member = in_state(status)
    if status in allowed:
        ACTIONS[action](member)
        assert member.events, "an allowed change records its events"
        if action not in ("update", "transfer"):
            assert member.status is target
    else:
        with pytest.raises(Conflict) as err:
            ACTIONS[action](member)
        assert err.value.code == "member.invalid_transition"
        assert err.value.details == {"current": status.value, "action": action}
        assert member.events == [] and member.status is status


def test_a_transfer_moves_the_campus_and_tells_both_topics():
    member = active()
    member.transfer("north", TODAY)
    moved, contact = member.events
    assert isinstance(moved, MemberTransferred) and moved.from_campus == "main"
    assert isinstance(contact, ContactChanged)
    assert moved.campus == member.campus == "north" and contact.campus == "north"
    with pytest.raises(Conflict):
        member.transfer("north", TODAY)


def test_a_rejection_keeps_its_reason_and_needs_one():
    member = join(cmd(as_applicant=True), TODAY)
    with pytest.raises(Invalid):
        member.reject("  ")
    member.reject("未满试用期")
    assert member.status is MemberStatus.rejected and member.reject_reason == "未满试用期"


def test_an_update_names_the_changed_fields_but_never_their_secret_values():
    member = active()
    member.update(UpdateDetails(position="教研组长", salary_base_fen=812_000))
    [event] = member.events
    assert isinstance(event, MemberUpdated) and event.changed == ["position"]
    member.pull_events()
    member.update(UpdateDetails(position="教研组长"))
    assert member.events == []  # nothing changed, nothing recorded


def test_a_contact_change_goes_to_members_contact_and_says_only_what_changed():
    member = active()
    member.change_contact(ContactDetails(phone="13900000002"))
    updated, contact = member.events
    assert isinstance(updated, MemberUpdated) and updated.changed == ["phone"]
    assert "13900000002" not in updated.model_dump_json()
    assert isinstance(contact, ContactChanged) and contact.phone == "13900000002"


def test_a_new_email_waits_for_confirmation_and_never_reaches_members_contact():
    member = active()
    member.change_contact(ContactDetails(email="new@school.local"))
    [updated] = member.events  # no ContactChanged: notify keeps mailing the old address
    assert isinstance(updated, MemberUpdated) and updated.changed == ["email"]
    assert member.email is None and member.pending_email == "new@school.local"
    assert "new@school.local" not in updated.model_dump_json()


def test_id_numbers_are_folded_and_their_check_digit_is_known():
    member = join(cmd(id_number="１１０１０５１９４９１２３１００２Ｘ"), TODAY)
    assert member.id_number == "11010519491231002X"
    assert id_number_checks_out("11010519491231002X")
    assert not id_number_checks_out("110105194912310021")


def test_withdrawing_twice_is_a_conflict_naming_the_current_state():
    member = Member.model_validate(
        {**join(cmd(), TODAY).model_dump(), "status": "withdrawn", "version": 2}
    )
    with pytest.raises(Conflict) as err:
        member.withdraw(TODAY)
    assert err.value.code == "member.invalid_transition" and err.value.status == 409
    assert "已退会" in err.value.message and err.value.details["current"] == "withdrawn"
    assert member.events == [] and member.status is MemberStatus.withdrawn
