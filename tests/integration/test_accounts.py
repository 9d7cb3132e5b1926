"""Accounts and sign-in on the real broker and database: passwords, lockout, sessions, links."""

from __future__ import annotations

import asyncio
import json
import mailbox
import re
from collections import Counter
from datetime import timedelta
from email.header import decode_header, make_header

import jwt
import pytest

from services.members.accounts.domain import LOCK_FOR
from shared.crypto import Box
from shared.settings import DEV_LINK_PRIVATE_KEY
from shared.timeutil import utcnow
from tests.integration.conftest import Stack, bearer, join, stack_fixture
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration

ADMIN = bearer("admin-1", ["admin"], ["*"])
INITIAL = "Chushi-2026"
CHOSEN = "wo-de-mima-7"


# One members + notify for the module: every test works on its own staff numbers; a test that
# looks at every account of its database (the unlock job) has its own.
stack = stack_fixture(scope="module")
own_stack = stack_fixture(name="own_stack")


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return body


async def enrol(stack: Stack, staff_no: str, **over) -> dict:
    """As an admin: union roles such as 主席 or 经费管理 are only an admin's to give."""
    body = {"staff_no": staff_no, "name": "王芳", "campus": "main", "department": "艺术系", **over}
    response = await stack.members_http.post("/members", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


async def with_password(stack: Stack, staff_no: str, password: str = INITIAL, **over) -> dict:
    member = await enrol(stack, staff_no, **over)
    response = await stack.members_http.put(
        f"/members/{member['id']}/password", json={"password": password}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    assert response.json()["must_change_password"] is True
    return member


async def login(stack: Stack, staff_no: str, password: str):
    return await stack.members_http.post(
        "/auth/login", json={"staff_no": staff_no, "password": password}
    )


async def signed_in(stack: Stack, staff_no: str, password: str = INITIAL) -> dict:
    """Sign in, choosing `CHOSEN` when the password was set by a cadre."""
    body = (await login(stack, staff_no, password)).json()
    if body["status"] == "password_change_required":
        response = await stack.members_http.post(
            "/auth/password",
            json={"new_password": CHOSEN},
            headers={"Authorization": f"Bearer {body['password_token']}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
    assert body["status"] == "ok", body
    return body


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def audit_entries(stack: Stack, **query) -> list[dict]:
    return await stack.members.db["audit_log"].find(query).sort("at", 1).to_list()


# -- passwords and the first sign-in ------------------------------------------------------------


async def test_first_sign_in_must_change_the_password_then_signs_in(stack: Stack):
    member = await with_password(stack, "A0001")
    response = await login(stack, "A0001", INITIAL)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    first = response.json()
    assert first["status"] == "password_change_required"
    assert first["access_token"] is None and first["refresh_token"] is None
    token = first["password_token"]
    # The password-change token opens nothing else, here or in another service.
    problem(
        await stack.members_http.get(f"/members/{member['id']}", headers=auth(token)),
        401,
        "auth.invalid_token",
    )
    problem(await stack.notify_http.get("/inbox", headers=auth(token)), 401, "auth.invalid_token")
    # A password the schema states as too weak never reaches the rule.
    weak = await stack.members_http.post(
        "/auth/password", json={"new_password": "12345678"}, headers=auth(token)
    )
    assert weak.status_code == 422
    changed = await stack.members_http.post(
        "/auth/password", json={"new_password": CHOSEN}, headers=auth(token)
    )
    assert changed.status_code == 200, changed.text
    session = changed.json()
    assert session["status"] == "ok" and session["roles"] == ["member"]
    assert session["campuses"] == ["main"]
    again = await stack.members_http.post(
        "/auth/password", json={"new_password": "another-one-9"}, headers=auth(token)
    )
    problem(again, 401, "auth.password_token_used")
    problem(await login(stack, "A0001", INITIAL), 401, "auth.invalid_credentials")
    ok = await login(stack, "ａ０００１", CHOSEN)  # full-width staff number, as an IME types it
    assert ok.json()["status"] == "ok"
    mine = await stack.members_http.get(
        f"/members/{member['id']}", headers=auth(ok.json()["access_token"])
    )
    assert mine.status_code == 200 and mine.json()["staff_no"] == "A0001"
    account = await stack.members_http.get(f"/members/{member['id']}/account", headers=ADMIN)
    assert account.json()["must_change_password"] is False
    assert [e["action"] for e in await audit_entries(stack, target=member["id"])] == [
        "set_password",
        "change_password",
    ]
    # The hash is sealed at rest and hidden in the history.
    [created] = (
        await stack.members.db["accounts_changes"]
        .find({"version": 1, "aggregate": member["id"]})
        .to_list()
    )
    assert created["state"]["password_hash"].startswith("gh2:")
    shown = (await stack.members.context.accounts.accounts.history(member["id"]))[0]
    assert shown.version == 1 and shown.changed["password_hash"] == {"from": "***", "to": "***"}


async def test_a_member_changes_the_password_with_the_current_one(stack: Stack):
    await with_password(stack, "A0002")
    session = await signed_in(stack, "A0002")
    headers = auth(session["access_token"])
    missing = await stack.members_http.post(
        "/auth/password", json={"new_password": "third-pass-3"}, headers=headers
    )
    problem(missing, 403, "account.current_password_required")
    wrong = await stack.members_http.post(
        "/auth/password",
        json={"current_password": "not-it-000", "new_password": "third-pass-3"},
        headers=headers,
    )
    problem(wrong, 403, "account.wrong_password")
    same = await stack.members_http.post(
        "/auth/password",
        json={"current_password": CHOSEN, "new_password": CHOSEN},
        headers=headers,
    )
    problem(same, 409, "account.password_unchanged")
    ok = await stack.members_http.post(
        "/auth/password",
        json={"current_password": CHOSEN, "new_password": "third-pass-3"},
        headers=headers,
    )
    assert ok.status_code == 200 and ok.json()["status"] == "ok"
    # Sessions begun before the change end; the one it answered with goes on.
    problem(
        await stack.members_http.post(
            "/auth/refresh", json={"refresh_token": session["refresh_token"]}
        ),
        401,
        "auth.refresh_revoked",
    )
    fresh = await stack.members_http.post(
        "/auth/refresh", json={"refresh_token": ok.json()["refresh_token"]}
    )
    assert fresh.status_code == 200, fresh.text


async def test_unknown_staff_number_and_wrong_password_are_the_same_answer(stack: Stack):
    await with_password(stack, "A0003")
    unknown = problem(await login(stack, "NOBODY9", INITIAL), 401, "auth.invalid_credentials")
    wrong = problem(await login(stack, "A0003", "wrong-pass-1"), 401, "auth.invalid_credentials")
    assert unknown["title"] == wrong["title"]
    no_password = await join(stack, "A0004")
    problem(await login(stack, "A0004", INITIAL), 401, "auth.invalid_credentials")
    withdrawn = await with_password(stack, "A0005")
    await stack.members_http.post(
        f"/members/{withdrawn['id']}/withdraw", headers=stack.cadre_headers()
    )
    problem(await login(stack, "A0005", INITIAL), 409, "auth.membership_inactive")
    assert no_password["id"]


async def test_roles_in_the_token_come_from_the_union_roles(stack: Stack):
    await with_password(stack, "R0001", campus="north", roles=["group_leader"])
    leader = await signed_in(stack, "R0001")
    assert leader["roles"] == ["cadre", "member"] and leader["campuses"] == ["north"]
    await with_password(stack, "R0002", roles=["chair"])  # main is the school union's campus
    chair = await signed_in(stack, "R0002")
    assert chair["roles"] == ["admin", "cadre", "member"] and chair["campuses"] == ["*", "main"]
    await with_password(stack, "R0003", campus="east", roles=["chair", "finance"])
    east_chair = await signed_in(stack, "R0003")
    assert east_chair["roles"] == ["cadre", "finance", "member"]
    assert east_chair["campuses"] == ["east"]
    # The north leader's token works as a cadre of north, and only there.
    headers = auth(leader["access_token"])
    assert (await stack.members_http.get("/members", headers=headers)).status_code == 200
    body = {"staff_no": "R0009", "name": "钱", "campus": "main", "department": "艺术系"}
    east = await stack.members_http.post("/members", json=body, headers=headers)
    problem(east, 403, "auth.campus_forbidden")


async def test_a_cadre_cannot_give_union_roles_beyond_their_own(stack: Stack):
    cadre = stack.cadre_headers()
    body = {"staff_no": "G0001", "name": "周", "campus": "main", "department": "艺术系"}
    chair = await stack.members_http.post(
        "/members", json={**body, "roles": ["chair"]}, headers=cadre
    )
    problem(chair, 403, "member.role_grant_forbidden")  # the school union's chair: admin
    leader = await stack.members_http.post(
        "/members", json={**body, "roles": ["group_leader"]}, headers=cadre
    )
    assert leader.status_code == 201, leader.text
    member_id = leader.json()["id"]
    for roles in (["finance"], ["chair"], []):  # giving finance, admin, or taking cadre away
        response = await stack.members_http.patch(
            f"/members/{member_id}", json={"roles": ["group_leader", *roles]}, headers=cadre
        )
        expected = 200 if roles == [] else 403
        assert response.status_code == expected, (roles, response.text)
    applied = await stack.members_http.post(
        "/applications",
        json={**body, "staff_no": "G0002", "roles": ["auditor"]},
        headers=stack.member_headers("m-applicant"),
    )
    problem(applied, 403, "member.role_grant_forbidden")
    admin = await stack.members_http.patch(
        f"/members/{member_id}", json={"roles": ["finance"]}, headers=ADMIN
    )
    assert admin.status_code == 200 and admin.json()["roles"] == ["finance"]


async def test_a_cadre_cannot_set_the_password_of_someone_with_more_rights(stack: Stack):
    chair = await enrol(stack, "P0001", roles=["chair"])
    response = await stack.members_http.put(
        f"/members/{chair['id']}/password",
        json={"password": INITIAL},
        headers=stack.cadre_headers(),
    )
    problem(response, 403, "account.privileged_member")
    finance = await enrol(stack, "P0002", roles=["finance"])
    response = await stack.members_http.put(
        f"/members/{finance['id']}/password",
        json={"password": INITIAL},
        headers=stack.cadre_headers(),
    )
    problem(response, 403, "account.privileged_member")
    plain = await enrol(stack, "P0003", campus="east")
    response = await stack.members_http.put(
        f"/members/{plain['id']}/password",
        json={"password": INITIAL},
        headers=stack.cadre_headers(),
    )
    problem(response, 404, "member.not_found")  # another campus: not even there


# -- a token issued at sign-in works in another service ------------------------------------------


async def test_a_token_issued_at_sign_in_is_accepted_by_notify(stack: Stack):
    member = await with_password(stack, "N0001")
    session = await signed_in(stack, "N0001")
    # Anyone can check the token with the published key set alone.
    [key] = (await stack.members_http.get("/.well-known/jwks.json")).json()["keys"]
    claims = jwt.decode(
        session["access_token"], jwt.PyJWK(key).key, algorithms=["EdDSA"], audience="gonghui"
    )
    assert claims["sub"] == member["id"] and claims["roles"] == ["member"]
    assert claims["exp"] - claims["iat"] == 900

    async def welcomed() -> bool:
        response = await stack.notify_http.get("/inbox", headers=auth(session["access_token"]))
        assert response.status_code == 200, response.text
        return any(m["kind"] == "welcome" for m in response.json())

    await wait_until(welcomed, 45, f"the welcome for {member['id']} in notify")


# -- lockout --------------------------------------------------------------------------------------


async def test_five_wrong_passwords_lock_the_account_and_the_right_one_stays_out(stack: Stack):
    member = await with_password(stack, "L0001")
    for _ in range(5):
        problem(await login(stack, "L0001", "wrong-pass-1"), 401, "auth.invalid_credentials")
    # The lock is told only to whoever knows the password: to a guesser a locked account
    # answers like an unknown staff number.
    problem(await login(stack, "L0001", "wrong-pass-1"), 401, "auth.invalid_credentials")
    body = problem(await login(stack, "L0001", INITIAL), 401, "auth.account_locked")
    assert body["locked_until"]
    status = (
        await stack.members_http.get(f"/members/{member['id']}/account", headers=ADMIN)
    ).json()
    assert status["locked"] is True and status["failures"] == 5
    [lock] = await audit_entries(stack, target=member["id"], action="lock")
    assert lock["by"] == "system" and lock["detail"]["failures"] == 5


async def test_concurrent_wrong_passwords_lock_at_exactly_the_fifth(stack: Stack):
    """Wrong attempts fired at once each take their own failure slot (a unique-key insert):
    none is lost, so the fifth locks, exactly once; every one is told 'wrong'."""
    member = await with_password(stack, "L0002")
    responses = await asyncio.gather(
        *(login(stack, "L0002", f"wrong-pass-{i:02d}") for i in range(24))
    )
    codes = Counter(r.json()["code"] for r in responses)
    assert codes == {"auth.invalid_credentials": 24}
    assert all(r.status_code == 401 for r in responses)
    slots = await stack.members.db["sign_in_failures"].find({"account": member["id"]}).to_list()
    assert sorted(s["n"] for s in slots) == [1, 2, 3, 4, 5]
    assert len(await audit_entries(stack, target=member["id"], action="lock")) == 1
    locks = await stack.members.db["accounts_changes"].count_documents(
        {"action": "lock", "aggregate": member["id"]}
    )
    assert locks == 1
    problem(await login(stack, "L0002", INITIAL), 401, "auth.account_locked")  # stays locked


async def test_the_lock_runs_out_after_15_minutes(stack: Stack):
    accounts = stack.members.context.accounts
    start = utcnow()
    accounts.clock = lambda: start
    try:
        member = await with_password(stack, "L0003")
        for _ in range(5):
            await login(stack, "L0003", "wrong-pass-1")
        accounts.clock = lambda: start + LOCK_FOR - timedelta(seconds=1)
        problem(await login(stack, "L0003", INITIAL), 401, "auth.account_locked")
        accounts.clock = lambda: start + LOCK_FOR
        assert (await login(stack, "L0003", INITIAL)).json()["status"] == (
            "password_change_required"
        )
        [unlock] = await audit_entries(stack, target=member["id"], action="unlock")
        assert unlock["by"] == "system" and unlock["detail"]["reason"] == "expired"
        # A new window: four wrong passwords do not lock it again.
        for _ in range(4):
            problem(await login(stack, "L0003", "wrong-pass-1"), 401, "auth.invalid_credentials")
    finally:
        accounts.clock = utcnow


async def test_the_unlock_job_records_the_expiry_when_it_happens(own_stack: Stack):
    stack = own_stack
    accounts = stack.members.context.accounts
    start = utcnow()
    accounts.clock = lambda: start
    try:
        member = await with_password(stack, "L0004")
        for _ in range(5):
            await login(stack, "L0004", "wrong-pass-1")

        async def lock_in_view() -> bool:  # the job reads the list view
            view = await stack.members.db["accounts"].find_one({"_id": member["id"]})
            return bool(view and view.get("locked_until"))

        await wait_until(lock_in_view, 15, "the lock in the accounts view")
        assert await accounts.expire_locks() == 0  # not yet
        accounts.clock = lambda: start + LOCK_FOR
        assert await accounts.expire_locks() == 1
        assert await accounts.expire_locks() == 0  # once
        [unlock] = await audit_entries(stack, target=member["id"], action="unlock")
        assert unlock["detail"]["reason"] == "expired"
        assert (await login(stack, "L0004", INITIAL)).status_code == 200
    finally:
        accounts.clock = utcnow


async def test_a_cadre_of_the_campus_lifts_a_lock(stack: Stack):
    member = await with_password(stack, "L0005")
    for _ in range(5):
        await login(stack, "L0005", "wrong-pass-1")
    path = f"/members/{member['id']}/account/unlock"
    east = bearer("cadre-e", ["cadre"], ["east"])
    problem(await stack.members_http.post(path, headers=east), 404, "member.not_found")
    auditor = bearer("auditor-1", ["auditor"], ["main"])
    problem(await stack.members_http.post(path, headers=auditor), 403, "auth.forbidden")
    response = await stack.members_http.post(path, headers=stack.cadre_headers())
    assert response.status_code == 200 and response.json()["locked"] is False
    [unlock] = await audit_entries(stack, target=member["id"], action="unlock")
    assert unlock["by"] == "cadre-1" and unlock["detail"]["reason"] == "cadre"
    assert (await login(stack, "L0005", INITIAL)).status_code == 200


# -- sessions -----------------------------------------------------------------------------------


async def test_refresh_tokens_rotate_and_a_reused_one_ends_the_session(stack: Stack):
    await with_password(stack, "S0001")
    session = await signed_in(stack, "S0001")
    first = session["refresh_token"]
    rotated = await stack.members_http.post("/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    second = rotated.json()["refresh_token"]
    assert second != first and rotated.json()["access_token"]
    # The first one again: a copy is in someone else's hands, so the whole session ends.
    reused = await stack.members_http.post("/auth/refresh", json={"refresh_token": first})
    problem(reused, 401, "auth.refresh_reused")
    problem(
        await stack.members_http.post("/auth/refresh", json={"refresh_token": second}),
        401,
        "auth.refresh_revoked",
    )
    stored = await stack.members.db["refresh_tokens"].find({}).to_list()
    assert stored and all(first not in json.dumps(d, default=str) for d in stored)


async def test_logout_revokes_and_a_password_reset_ends_sessions(stack: Stack):
    member = await with_password(stack, "S0002")
    session = await signed_in(stack, "S0002")
    out = await stack.members_http.post(
        "/auth/logout", json={"refresh_token": session["refresh_token"]}
    )
    assert out.status_code == 204
    problem(
        await stack.members_http.post(
            "/auth/refresh", json={"refresh_token": session["refresh_token"]}
        ),
        401,
        "auth.refresh_revoked",
    )
    again = await signed_in(stack, "S0002", CHOSEN)
    await stack.members_http.put(
        f"/members/{member['id']}/password", json={"password": "Reset-2026x"}, headers=ADMIN
    )
    problem(
        await stack.members_http.post(
            "/auth/refresh", json={"refresh_token": again["refresh_token"]}
        ),
        401,
        "auth.refresh_revoked",
    )
    assert [e["action"] for e in await audit_entries(stack, target=member["id"])][-1] == (
        "reset_password"
    )


# -- login links -----------------------------------------------------------------------------


def mails_to(maildir, to: str) -> list[tuple[str, str]]:
    found = []
    for message in mailbox.Maildir(maildir):
        if message["To"] == to:
            subject = str(make_header(decode_header(message["Subject"])))
            # The plain-text part (notify sends text and HTML alternatives).
            [text] = [p for p in message.walk() if p.get_content_type() == "text/plain"]
            payload = text.get_payload(decode=True)
            assert isinstance(payload, bytes)
            body = payload.decode("utf-8")
            found.append((subject, body))
    return found


async def test_login_link_mailed_by_notify_and_redeemed_once(stack: Stack):
    if not stack.infra.maildir:
        pytest.skip("the SMTP server in use keeps no Maildir")
    email = "link0001@school.local"
    member = await with_password(stack, "K0001", email=email)
    asked = await stack.members_http.post("/auth/login-link", json={"staff_no": "K0001"})
    unknown = await stack.members_http.post("/auth/login-link", json={"staff_no": "NOBODY1"})
    assert asked.status_code == unknown.status_code == 202
    assert asked.json() == unknown.json()  # no way to tell who has an account

    async def mailed() -> bool:
        return any(s == "工会平台登录链接" for s, _ in mails_to(stack.infra.maildir, email))

    await wait_until(mailed, 45, "the login link e-mail")
    [(_, body)] = [m for m in mails_to(stack.infra.maildir, email) if m[0] == "工会平台登录链接"]
    match = re.search(r"http://\S+/login/link#token=([A-Za-z0-9_\-]+)", body)
    assert match, body
    token = match.group(1)
    # On Kafka: the member id and the path, never the e-mail address; stored only hashed.
    [record] = [
        r
        for r in await read_all(stack.bootstrap, stack.topic("members.account"))
        if json.loads(r.value)["type"] == "members.account.login_link_requested.v2"
        and r.key.decode() == member["id"]
    ]
    assert email not in record.value.decode()
    assert token not in record.value.decode()  # sealed for notify
    assert json.loads(record.value)["data"]["member_id"] == member["id"]
    [link] = await stack.members.db["login_links"].find({"member_id": member["id"]}).to_list()
    assert token not in json.dumps(link, default=str)
    # Not in the inbox: the link is a credential.
    session = await signed_in(stack, "K0001")
    inbox = await stack.notify_http.get("/inbox", headers=auth(session["access_token"]))
    assert all(m["kind"] != "login_link" for m in inbox.json())

    redeemed = await stack.members_http.post("/auth/login-link/redeem", json={"token": token})
    assert redeemed.status_code == 200, redeemed.text
    result = redeemed.json()
    assert result["status"] == "ok" and result["access_token"] and result["password_token"]
    twice = await stack.members_http.post("/auth/login-link/redeem", json={"token": token})
    problem(twice, 401, "auth.link_used")
    # The password token of the link lets the member choose a password without the old one.
    chosen = await stack.members_http.post(
        "/auth/password",
        json={"new_password": "after-link-5"},
        headers=auth(result["password_token"]),
    )
    assert chosen.status_code == 200, chosen.text
    assert (await login(stack, "K0001", "after-link-5")).json()["status"] == "ok"
    actions = [e["action"] for e in await audit_entries(stack, target=member["id"])]
    assert "request_login_link" in actions and "redeem_login_link" in actions


async def test_an_expired_or_unknown_link_is_refused(stack: Stack):
    accounts = stack.members.context.accounts
    member = await with_password(stack, "K0002", email="link0002@school.local")
    start = utcnow()
    accounts.clock = lambda: start
    try:
        await stack.members_http.post("/auth/login-link", json={"staff_no": "K0002"})
        [event] = [
            json.loads(r.value)
            for r in await read_all(stack.bootstrap, stack.topic("members.account"))
            if json.loads(r.value)["type"] == "members.account.login_link_requested.v2"
            and r.key.decode() == member["id"]
        ]
        # The link is sealed for notify: the test opens it with the development key.
        path = Box.from_file(DEV_LINK_PRIVATE_KEY).open(
            event["data"]["sealed_link"], event["type"], member["id"]
        )
        token = path.split("#token=")[1]
        accounts.clock = lambda: start + timedelta(minutes=15)
        expired = await stack.members_http.post("/auth/login-link/redeem", json={"token": token})
        problem(expired, 401, "auth.link_invalid")
    finally:
        accounts.clock = utcnow
    unknown = await stack.members_http.post("/auth/login-link/redeem", json={"token": "x" * 43})
    problem(unknown, 401, "auth.link_invalid")
