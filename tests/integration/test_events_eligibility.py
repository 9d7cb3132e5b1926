"""Who may sign up, as the member directory knows them: each rule refuses plainly, and what
happens to members in the members service reaches their registrations."""

from __future__ import annotations

import pytest

from tests.integration import events_kit as kit
from tests.integration.conftest import Stack, stack_fixture

pytestmark = pytest.mark.integration


stack = stack_fixture("members", "events", scope="module")


def refused(response, rule: str, title: str) -> None:
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "registration.ineligible"
    assert problem["rule"] == rule
    assert problem["title"] == title


async def test_each_rule_refuses_with_its_name_and_a_plain_reason(stack: Stack):
    woman = await kit.enrol(stack, "E0001", gender="female", department="艺术系")
    man = await kit.enrol(
        stack,
        "E0002",
        gender="male",
        birth_date="1990-05-01",
        roles=["group_leader"],
        small_group="g-art",
    )
    unknown_age = await kit.enrol(stack, "E0003")
    retiree = await kit.enrol(stack, "E0004", birth_date="1960-01-01")
    north = await kit.enrol(stack, "E0005", campus="north")
    retired = await stack.members_http.post(
        f"/members/{retiree}/retire", headers=stack.cadre_headers()
    )
    assert retired.status_code == 200, retired.text
    await kit.known_to_events(stack, woman, man, unknown_age, north)
    await kit.known_to_events(stack, retiree, status="retired")

    async def rule(**eligibility) -> str:
        return (await kit.activity(stack, eligibility=eligibility))["id"]

    women_only = await rule(gender="female")
    refused(await kit.sign_up(stack, women_only, man), "gender", "本活动仅限女教职工参加")
    assert (await kit.sign_up(stack, women_only, woman)).status_code == 201

    art = await rule(departments=["艺术系"])
    refused(await kit.sign_up(stack, art, man), "department", "本活动仅限艺术系教职工参加")
    assert (await kit.sign_up(stack, art, woman)).status_code == 201

    over_fifty = await rule(age_min=50)
    refused(await kit.sign_up(stack, over_fifty, man), "age", "本活动仅限 50 岁及以上的教职工参加")
    refused(
        await kit.sign_up(stack, over_fifty, unknown_age),
        "age",
        "本活动有年龄要求，您的出生日期未登记，请联系工会干部",
    )

    leaders = await rule(roles=["group_leader"])
    refused(await kit.sign_up(stack, leaders, woman), "role", "本活动仅限小组长参加")
    assert (await kit.sign_up(stack, leaders, man)).status_code == 201

    group = await rule(small_groups=["g-art"])
    refused(
        await kit.sign_up(stack, group, woman), "small_group", "本活动仅限教工小家（g-art）成员参加"
    )
    assert (await kit.sign_up(stack, group, man)).status_code == 201

    active_only = await rule()
    refused(await kit.sign_up(stack, active_only, retiree), "status", "本活动仅限在职会员参加")
    with_retirees = await rule(statuses=["active", "retired"])
    assert (await kit.sign_up(stack, with_retirees, retiree)).status_code == 201

    # A school-wide activity for one campus; another campus's member sees it but may not.
    school = await kit.activity(stack, campus="*", eligibility={"campuses": ["main"]})
    admin = kit.bearer("admin-1", ["admin"], ["*"])
    assert (await stack.events_http.get(f"/activities/{school['id']}", headers=admin)).is_success
    refused(
        await kit.sign_up(stack, school["id"], north, campus="north"),
        "campus",
        "本活动仅限main校区教职工参加",
    )
    # A campus activity of main does not exist for north's members.
    hidden = await kit.sign_up(stack, active_only, north, campus="north")
    assert hidden.status_code == 404 and hidden.json()["code"] == "activity.not_found"


async def test_a_member_reads_the_conditions_and_whether_they_may_sign_up(stack: Stack):
    woman = await kit.enrol(stack, "E0901", gender="female")
    man = await kit.enrol(stack, "E0902", gender="male")
    await kit.known_to_events(stack, woman, man)
    women_only = (await kit.activity(stack, eligibility={"gender": "female", "age_min": 18}))["id"]

    async def ask(member_id: str) -> dict:
        response = await stack.events_http.get(
            f"/activities/{women_only}/eligibility", headers=kit.member(member_id)
        )
        assert response.status_code == 200, response.text
        return response.json()

    mine = await ask(woman)
    assert mine["eligible"] is False  # no birth date on record: the age rule cannot pass
    assert mine["rule"] == "age"
    assert "本活动仅限女教职工" in mine["conditions"]
    assert any(c.startswith("年龄：18 岁及以上") for c in mine["conditions"])
    his = await ask(man)
    assert (his["eligible"], his["rule"], his["message"]) == (
        False,
        "gender",
        "本活动仅限女教职工参加",
    )
    # A cadre is no member: the question is a member's own.
    response = await stack.events_http.get(
        f"/activities/{women_only}/eligibility", headers=kit.cadre()
    )
    assert response.status_code == 403


async def test_an_applicant_becomes_eligible_when_the_joined_event_arrives(stack: Stack):
    body = {
        "staff_no": "E0101",
        "name": "新老师",
        "campus": "main",
        "department": "音乐系",
        "as_applicant": True,
    }
    response = await stack.members_http.post("/members", json=body, headers=stack.cadre_headers())
    assert response.status_code == 201, response.text
    member_id = response.json()["id"]
    activity = await kit.activity(stack)
    early = await kit.sign_up(stack, activity["id"], member_id)
    # Not in the directory yet (404) or known as an applicant (409 status): never 201.
    assert early.status_code in (404, 409)
    await kit.known_to_events(stack, member_id, status="applied")
    refused(
        await kit.sign_up(stack, activity["id"], member_id),
        "status",
        "只有工会会员才能报名（您当前不是在会会员）",
    )
    approved = await stack.members_http.post(
        f"/members/{member_id}/approve", headers=stack.cadre_headers()
    )
    assert approved.status_code == 200, approved.text
    await kit.known_to_events(stack, member_id)  # members.member.joined.v2 → the directory
    assert (await kit.sign_up(stack, activity["id"], member_id)).status_code == 201


async def test_a_withdrawal_cancels_future_registrations_and_the_waitlist_moves_up(stack: Stack):
    leaving = await kit.enrol(stack, "E0201")
    waiting = await kit.enrol(stack, "E0202")
    await kit.known_to_events(stack, leaving, waiting)
    activity = await kit.activity(stack, capacity=1)
    aid = activity["id"]
    assert (await kit.sign_up(stack, aid, leaving)).json()["status"] == "confirmed"
    assert (await kit.sign_up(stack, aid, waiting)).json()["status"] == "waitlisted"

    response = await stack.members_http.post(
        f"/members/{leaving}/withdraw", headers=stack.cadre_headers()
    )
    assert response.status_code == 200, response.text
    await kit.known_to_events(stack, leaving, status="withdrawn")
    await kit.settled(stack, "members.member")
    gone = await kit.registration(stack, aid, leaving)
    assert (gone["status"], gone["cancel_reason"]) == ("cancelled", "member_left")
    moved_up = await kit.registration(stack, aid, waiting)
    assert moved_up["status"] == "confirmed" and moved_up["code"]
    # And a withdrawn member cannot sign up again.
    refused(
        await kit.sign_up(stack, aid, leaving),
        "status",
        "只有工会会员才能报名（您当前不是在会会员）",
    )


async def test_a_transfer_cancels_only_what_the_new_campus_may_not_join(stack: Stack):
    mover = await kit.enrol(stack, "E0301")
    await kit.known_to_events(stack, mover)
    campus_activity = await kit.activity(stack)
    school_activity = await kit.activity(stack, campus="*")
    for a in (campus_activity, school_activity):
        assert (await kit.sign_up(stack, a["id"], mover)).status_code == 201
    moved = await stack.members_http.post(
        f"/members/{mover}/transfer",
        json={"to_campus": "north"},
        headers=kit.bearer("cadre-all", ["cadre"], ["*"]),
    )
    assert moved.status_code == 200, moved.text
    await kit.settled(stack, "members.member")
    assert (await kit.registration(stack, campus_activity["id"], mover))["status"] == "cancelled"
    assert (await kit.registration(stack, school_activity["id"], mover))["status"] == "confirmed"
