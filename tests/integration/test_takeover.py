"""The takeover, each way it was open, refused on the real servers (issue 13, privilege).

A cadre of campus main could put an address they read on the chair's record (by PATCH or by
an import), ask a login link for the chair, redeem it and hold an admin token; or withdraw,
retire or mark deceased a role holder. Now a change that reaches someone's sign-in needs the
caller to cover what that someone signs in with, and a login link goes only to an address
the member confirmed, signed in as themself.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from shared.timeutil import utcnow
from tests.integration.conftest import Stack, bearer
from tests.integration.test_accounts import (
    ADMIN,
    auth,
    enrol,
    mails_to,
    problem,
    signed_in,
    with_password,
)
from tests.integration.test_members_import import HEADER, run_import, to_csv
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration

MAIN_CADRE = bearer("cadre-main", ["cadre", "member"], ["main"])
LINK_SUBJECT = "工会平台登录链接"
CONFIRM_SUBJECT = "请确认您在工会平台的新邮箱"
CHANGING_SUBJECT = "您在工会平台的邮箱正在更改"


@pytest.fixture
def stack(module_stack: Stack) -> Stack:
    if not module_stack.infra.maildir:
        pytest.skip("the SMTP server in use keeps no Maildir")
    return module_stack


async def member_doc(stack: Stack, member_id: str) -> dict:
    response = await stack.members_http.get(f"/members/{member_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def subjects(stack: Stack, to: str) -> list[str]:
    return [s for s, _ in mails_to(stack.infra.maildir, to)]


async def mailed(stack: Stack, to: str, subject: str, what: str) -> str:
    async def arrived() -> bool:
        return subject in subjects(stack, to)

    await wait_until(arrived, 45, what)
    [body] = [b for s, b in mails_to(stack.infra.maildir, to) if s == subject]
    return body


def confirm_token(body: str) -> str:
    match = re.search(r"http://\S+/m/contact/confirm#token=([A-Za-z0-9_\-]+)", body)
    assert match, body
    return match.group(1)


async def test_a_campus_cadre_cannot_redirect_the_chairs_sign_in(stack: Stack):
    chair = await with_password(stack, "TK001", email="chair-tk001@school.local", roles=["chair"])
    url = f"/members/{chair['id']}/contact"
    for change in ({"email": "evil-tk001@school.local"}, {"wecom_userid": "evil"}):
        refused = await stack.members_http.patch(url, json=change, headers=MAIN_CADRE)
        problem(refused, 403, "member.grants_exceeded")
    # The phone reaches no sign-in: a cadre of the campus still keeps it up to date.
    phone = await stack.members_http.patch(url, json={"phone": "13800001001"}, headers=MAIN_CADRE)
    assert phone.status_code == 200, phone.text
    after = await member_doc(stack, chair["id"])
    assert after["email"] == "chair-tk001@school.local" and after["pending_email"] is None
    # A login link for the chair goes to the chair's own address, and nowhere else.
    await stack.members_http.post("/auth/login-link", json={"staff_no": "TK001"})
    await mailed(stack, "chair-tk001@school.local", LINK_SUBJECT, "the chair's login link")
    assert subjects(stack, "evil-tk001@school.local") == []
    # The admin covers the chair.
    by_admin = await stack.members_http.patch(url, json={"wecom_userid": "chair1"}, headers=ADMIN)
    assert by_admin.status_code == 200, by_admin.text


@pytest.mark.parametrize("action", ["withdraw", "retire", "decease", "transfer"])
async def test_a_lower_cadre_cannot_end_or_move_a_role_holders_account(stack: Stack, action):
    staff_no = f"TK1{['withdraw', 'retire', 'decease', 'transfer'].index(action)}"
    holder = await enrol(stack, staff_no, roles=["finance"])  # 经费管理: more than a cadre
    body = {"to_campus": "main"} if action == "transfer" else {}
    url = f"/members/{holder['id']}/{action}"
    refused = await stack.members_http.post(url, json=body, headers=MAIN_CADRE)
    problem(refused, 403, "member.grants_exceeded")
    assert (await member_doc(stack, holder["id"]))["status"] == "active"
    if action == "transfer":
        body = {"to_campus": "east"}
    done = await stack.members_http.post(url, json=body, headers=ADMIN)
    assert done.status_code == 200, done.text
    # A member without a role is the campus cadre's to handle, as before.
    plain = await enrol(stack, f"{staff_no}P")
    if action != "transfer":
        ok = await stack.members_http.post(
            f"/members/{plain['id']}/{action}", json={}, headers=MAIN_CADRE
        )
        assert ok.status_code == 200, ok.text


async def test_an_import_cannot_change_the_chairs_email(stack: Stack):
    chair = await enrol(stack, "TK201", email="chair-tk201@school.local", roles=["chair"])
    plain = await enrol(stack, "TK202", email="plain-tk202@school.local")
    rows = [
        ["TK201", "王芳", "", "", "main", "艺术系", "", "evil-tk201@school.local", "", ""],
        ["TK202", "王芳", "", "", "main", "艺术系", "", "new-tk202@school.local", "", ""],
    ]
    report = await run_import(
        stack, to_csv(rows, header=HEADER), MAIN_CADRE, commit=True, only_valid=True
    )
    outcome = {r["staff_no"]: r for r in report["rows"]}
    assert outcome["TK201"]["outcome"] == "refused"
    assert [(p["code"], p["column"]) for p in outcome["TK201"]["problems"]] == [
        ("member.grants_exceeded", "邮箱")
    ]
    assert outcome["TK202"]["outcome"] == "update" and outcome["TK202"]["changed"] == ["邮箱"]
    assert (await member_doc(stack, chair["id"]))["email"] == "chair-tk201@school.local"
    # Even for a member the uploader covers, the file's address waits for the member.
    after = await member_doc(stack, plain["id"])
    assert after["email"] == "plain-tk202@school.local"
    assert after["pending_email"] == "new-tk202@school.local"
    await mailed(stack, "new-tk202@school.local", CONFIRM_SUBJECT, "the confirmation link")
    await mailed(stack, "plain-tk202@school.local", CHANGING_SUBJECT, "the old address told")


async def test_a_new_email_is_used_only_once_the_member_confirms_it(stack: Stack):
    member = await with_password(stack, "TK301", email="old-tk301@school.local")
    session = await signed_in(stack, "TK301")
    # The cadre covers this member, and may set an address; it does not take effect.
    changed = await stack.members_http.patch(
        f"/members/{member['id']}/contact",
        json={"email": "new-tk301@school.local"},
        headers=MAIN_CADRE,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["pending_email"] == "n***@school.local"  # masked for a cadre
    after = await member_doc(stack, member["id"])
    assert (after["email"], after["pending_email"]) == (
        "old-tk301@school.local",
        "new-tk301@school.local",
    )
    body = await mailed(stack, "new-tk301@school.local", CONFIRM_SUBJECT, "the confirmation")
    token = confirm_token(body)
    told = await mailed(stack, "old-tk301@school.local", CHANGING_SUBJECT, "the old address")
    assert "n***@school.local" in told and "new-tk301" not in told
    # Neither the address nor the link is on a topic in clear, and only a hash is stored.
    records = await read_all(stack.bootstrap, stack.topic("members.account"))
    everything = "".join(r.value.decode() for r in records if r.value)
    assert token not in everything and "new-tk301@school.local" not in everything
    stored = await stack.members.db["members_changes"].find({"aggregate": member["id"]}).to_list()
    assert token not in json.dumps(stored, default=str)

    # A login link still goes to the confirmed address only.
    await stack.members_http.post("/auth/login-link", json={"staff_no": "TK301"})
    await mailed(stack, "old-tk301@school.local", LINK_SUBJECT, "the login link")
    assert LINK_SUBJECT not in subjects(stack, "new-tk301@school.local")

    # Holding the link is not enough: whoever set the address may read that mailbox.
    url = f"/members/{member['id']}/email/confirm"
    by_cadre = await stack.members_http.post(url, json={"token": token}, headers=MAIN_CADRE)
    problem(by_cadre, 403, "auth.forbidden")
    wrong = await stack.members_http.post(
        url, json={"token": "x" * 43}, headers=auth(session["access_token"])
    )
    problem(wrong, 422, "member.email_confirmation_invalid")
    confirmed = await stack.members_http.post(
        url, json={"token": token}, headers=auth(session["access_token"])
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email"] == "new-tk301@school.local"
    assert confirmed.json()["pending_email"] is None
    again = await stack.members_http.post(
        url, json={"token": token}, headers=auth(session["access_token"])
    )
    problem(again, 422, "member.email_confirmation_invalid")

    # From now on the login link goes to the new address (notify learnt it by members.contact;
    # the clock moves past the one-link-a-minute throttle instead of the test waiting).
    accounts = stack.members.context.accounts
    later = utcnow() + timedelta(minutes=2)
    accounts.clock = lambda: later
    try:
        await stack.members_http.post("/auth/login-link", json={"staff_no": "TK301"})
    finally:
        accounts.clock = utcnow
    await mailed(stack, "new-tk301@school.local", LINK_SUBJECT, "the link at the new address")


async def test_the_member_confirms_their_own_new_address_too(stack: Stack):
    member = await with_password(stack, "TK401", email="old-tk401@school.local")
    session = await signed_in(stack, "TK401")
    mine = auth(session["access_token"])
    changed = await stack.members_http.patch(
        f"/members/{member['id']}/contact", json={"email": "new-tk401@school.local"}, headers=mine
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == "old-tk401@school.local"
    token = confirm_token(
        await mailed(stack, "new-tk401@school.local", CONFIRM_SUBJECT, "the confirmation")
    )
    confirmed = await stack.members_http.post(
        f"/members/{member['id']}/email/confirm", json={"token": token}, headers=mine
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email"] == "new-tk401@school.local"


async def test_an_application_in_someone_elses_staff_number_gets_no_login_link(stack: Stack):
    filer = bearer("m-filer", ["member"], ["main"])
    applied = await stack.members_http.post(
        "/applications",
        json={
            "staff_no": "TK501",
            "name": "赵强",
            "campus": "main",
            "department": "艺术系",
            "email": "filer-tk501@school.local",
        },
        headers=filer,
    )
    assert applied.status_code == 201, applied.text
    member = applied.json()
    assert member["email"] is None
    approved = await stack.members_http.post(
        f"/members/{member['id']}/approve", json={}, headers=MAIN_CADRE
    )
    assert approved.status_code == 200, approved.text
    # The filer gets a confirmation link, useless without signing in as the member…
    token = confirm_token(
        await mailed(stack, "filer-tk501@school.local", CONFIRM_SUBJECT, "the confirmation")
    )
    by_filer = await stack.members_http.post(
        f"/members/{member['id']}/email/confirm", json={"token": token}, headers=filer
    )
    problem(by_filer, 403, "auth.forbidden")
    # … and no login link: the member has no confirmed address.
    await stack.members_http.put(
        f"/members/{member['id']}/password", json={"password": "Chushi-2026"}, headers=ADMIN
    )
    await stack.members_http.post("/auth/login-link", json={"staff_no": "TK501"})
    # The real member signs in and sets their own address: its confirmation mail, on the
    # same partition after the login link's event, shows notify has handled that event.
    session = await signed_in(stack, "TK501")
    own = await stack.members_http.patch(
        f"/members/{member['id']}/contact",
        json={"email": "real-tk501@school.local"},
        headers=auth(session["access_token"]),
    )
    assert own.status_code == 200, own.text
    await mailed(stack, "real-tk501@school.local", CONFIRM_SUBJECT, "the member's confirmation")
    assert LINK_SUBJECT not in subjects(stack, "filer-tk501@school.local")


async def test_a_cadres_address_on_a_member_later_given_more_roles_gets_no_login_link(
    stack: Stack,
):
    """A cadre enrols someone with an address the cadre reads (they cover that member, so it
    gives them nothing); when an admin later names the member 经费管理, that address would
    hand the cadre a finance token: it waits for the member's confirmation instead."""
    enrolled = await stack.members_http.post(
        "/members",
        json={
            "staff_no": "TK601",
            "name": "钱多",
            "campus": "main",
            "department": "艺术系",
            "email": "cadre-reads-tk601@school.local",
        },
        headers=MAIN_CADRE,
    )
    assert enrolled.status_code == 201, enrolled.text
    member = enrolled.json()
    promoted = await stack.members_http.patch(
        f"/members/{member['id']}", json={"roles": ["finance"]}, headers=ADMIN
    )
    assert promoted.status_code == 200, promoted.text
    after = await member_doc(stack, member["id"])
    assert after["email"] is None and after["pending_email"] == "cadre-reads-tk601@school.local"
    await stack.members_http.put(
        f"/members/{member['id']}/password", json={"password": "Chushi-2026"}, headers=ADMIN
    )
    await stack.members_http.post("/auth/login-link", json={"staff_no": "TK601"})
    # The member, signed in with the password the admin handed over, confirms the address:
    # that confirmation mail comes after the login link's event on the member's partition.
    token = confirm_token(
        await mailed(stack, "cadre-reads-tk601@school.local", CONFIRM_SUBJECT, "the confirmation")
    )
    session = await signed_in(stack, "TK601")
    own = await stack.members_http.patch(
        f"/members/{member['id']}/contact",
        json={"email": "qian-tk601@school.local"},
        headers=auth(session["access_token"]),
    )
    assert own.status_code == 200, own.text
    await mailed(stack, "qian-tk601@school.local", CONFIRM_SUBJECT, "the member's confirmation")
    assert LINK_SUBJECT not in subjects(stack, "cadre-reads-tk601@school.local")
    assert token  # mailed, but only the member signed in could use it (tested above)
