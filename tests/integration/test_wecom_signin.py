"""WeCom (企业微信) sign-in at members, on the real broker and database, against a local
server standing in for WeCom: a code becomes a user id server-side, the member with that
`wecom_userid` gets a session; everything else is refused alike and signs nobody in."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from services.members.accounts.wecom import WeComConfig, WeComSignIn
from services.members.membership.domain import member_id_for
from services.members.membership.wecom_ids import setup_holders
from shared.auth import TokenVerifier
from shared.problems import ProblemError
from tests.integration.conftest import Stack, bearer, build_stack, close_stack
from tests.integration.wecom_kit import (
    ACCESS_TOKEN,
    CORP_ID,
    SECRET,
    WeComServer,
    listed,
    members_settings,
    wecom_server,
)
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration

ADMIN = bearer("admin-1", ["admin"], ["*"])
PASSWORD = "Chushi-2026"


@pytest.fixture(scope="module")
def wecom() -> Iterator[WeComServer]:
    with wecom_server() as server:
        yield server


@pytest.fixture(scope="module")
async def stack(infra, wecom: WeComServer) -> AsyncIterator[Stack]:
    over = {**members_settings(wecom), "throttle_wecom_address_failures": "3/900"}
    s = await build_stack(infra, ["members"], settings={"members": over})
    try:
        yield s
    finally:
        await close_stack(s)


def uid() -> str:
    return uuid.uuid4().hex[:8]


async def member(stack: Stack, *, account: bool = True, **over) -> dict:
    """A member of main with a WeCom user id (and an account: a password a cadre set)."""
    body = {
        "staff_no": f"WX{uid().upper()}",
        "name": "企微会员",
        "campus": "main",
        "department": "艺术系",
        "wecom_userid": f"zhang.{uid()}",
        **over,
    }
    response = await stack.members_http.post("/members", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    made = response.json()
    await listed(stack.members.context.members.store.view, made["id"], body["wecom_userid"])
    if account:
        url = f"/members/{made['id']}/password"
        response = await stack.members_http.put(url, json={"password": PASSWORD}, headers=ADMIN)
        assert response.status_code == 200, response.text
    return {**made, "wecom_userid": body["wecom_userid"], "staff_no": body["staff_no"]}


async def exchange(stack: Stack, code: str, client: str = "203.0.113.1"):
    return await stack.members_http.post(
        "/auth/wecom", json={"code": code}, headers={"X-Gonghui-Client": client}
    )


def refused(response) -> dict:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "auth.wecom_refused", body
    assert "access_token" not in body and "refresh_token" not in body
    return body


async def test_a_code_of_a_member_signs_them_in_with_their_roles(stack: Stack, wecom):
    leader = await member(stack, campus="east", roles=["group_leader"])
    response = await exchange(stack, wecom.code_for(leader["wecom_userid"]))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    session = response.json()
    # A full session, although the password a cadre set is still to be changed: WeCom
    # vouched for the person, the password is not used.
    assert session["status"] == "ok" and session["member_id"] == leader["id"]
    assert session["roles"] == ["cadre", "member"] and session["campuses"] == ["east"]
    verifier: TokenVerifier = stack.members.app.state.token_verifier
    principal = verifier.verify(session["access_token"])
    assert principal.subject == leader["id"] and principal.campuses == frozenset({"east"})
    # The refresh token works like a password sign-in's.
    response = await stack.members_http.post(
        "/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert response.status_code == 200, response.text

    # members asked WeCom with the secret and the code, server-side.
    [asked] = [
        r for r in wecom.calls("/cgi-bin/auth/getuserinfo") if r.query.get("code") in wecom.used
    ][-1:]
    assert asked.query["access_token"] == ACCESS_TOKEN
    [got] = wecom.calls("/cgi-bin/gettoken")[:1]
    assert got.query == {"corpid": CORP_ID, "corpsecret": SECRET}


async def test_the_access_token_is_fetched_once_and_reused(stack: Stack, wecom):
    first, second = await member(stack), await member(stack)
    for one in (first, second, first):
        response = await exchange(stack, wecom.code_for(one["wecom_userid"]))
        assert response.status_code == 200, response.text
    # One gettoken for the whole module (this process caches it until near expires_in).
    assert len(wecom.calls("/cgi-bin/gettoken")) == 1
    assert all(
        r.query["access_token"] == ACCESS_TOKEN for r in wecom.calls("/cgi-bin/auth/getuserinfo")
    )


async def test_unknown_user_refused_codes_and_outsiders_are_one_refusal(stack: Stack, wecom):
    no_account = await member(stack, account=False)
    answers = [
        refused(await exchange(stack, wecom.code_for(f"nobody.{uid()}"), "203.0.113.10")),
        refused(await exchange(stack, wecom.code_failing(40029), "203.0.113.11")),
        refused(await exchange(stack, wecom.code_of_outsider(), "203.0.113.12")),
        refused(await exchange(stack, wecom.code_for(no_account["wecom_userid"]), "203.0.113.13")),
    ]
    # Nothing tells which: the same code, title and detail.
    assert (
        len({json.dumps({k: a.get(k) for k in ("code", "title", "detail")}) for a in answers}) == 1
    )
    assert "企业微信" in answers[0]["title"]


async def test_a_code_works_once(stack: Stack, wecom):
    one = await member(stack)
    code = wecom.code_for(one["wecom_userid"])
    assert (await exchange(stack, code, "203.0.113.20")).status_code == 200
    refused(await exchange(stack, code, "203.0.113.20"))


async def test_a_locked_account_stays_locked(stack: Stack, wecom):
    one = await member(stack)
    for _ in range(5):
        response = await stack.members_http.post(
            "/auth/login",
            json={"staff_no": one["staff_no"], "password": "wrong-guess-1"},
            headers={"X-Gonghui-Client": "203.0.113.30"},
        )
        assert response.status_code == 401
    response = await exchange(stack, wecom.code_for(one["wecom_userid"]), "203.0.113.31")
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "auth.account_locked"
    assert "access_token" not in response.json()


async def test_a_withdrawn_member_does_not_sign_in(stack: Stack, wecom):
    one = await member(stack)
    response = await stack.members_http.post(f"/members/{one['id']}/withdraw", headers=ADMIN)
    assert response.status_code == 200, response.text
    response = await exchange(stack, wecom.code_for(one["wecom_userid"]), "203.0.113.35")
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "auth.membership_inactive"


async def test_a_wecom_id_is_one_members_whatever_its_case(stack: Stack, wecom):
    """WeCom compares user ids ignoring case (创建成员: 系统进行唯一性检查时会忽略大小写), and its
    answer may spell an id otherwise than the cadre typed it."""
    given = f"Zhang.{uid()}"
    one = await member(stack, wecom_userid=given)
    again = await stack.members_http.post(
        "/members",
        json={
            "staff_no": f"WX{uid().upper()}",
            "name": "重名",
            "campus": "main",
            "department": "艺术系",
            "wecom_userid": given.upper(),
        },
        headers=ADMIN,
    )
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "member.wecom_userid_taken"
    response = await exchange(stack, wecom.code_for(given.lower()), "203.0.113.40")
    assert response.status_code == 200 and response.json()["member_id"] == one["id"]


async def test_concurrent_changes_to_one_wecom_id_leave_one_holder(stack: Stack, wecom):
    """The check is a reservation (a unique key), not a read before the write: of ten
    members asking for one id at once, exactly one gets it, and sign-in finds that one."""
    wanted = f"race.{uid()}"
    people = [await member(stack, wecom_userid=f"own.{uid()}") for _ in range(10)]
    answers = await asyncio.gather(
        *(
            stack.members_http.patch(
                f"/members/{p['id']}/contact", json={"wecom_userid": wanted}, headers=ADMIN
            )
            for p in people
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * 9, [a.text for a in answers]
    winner = people[[a.status_code for a in answers].index(200)]
    response = await exchange(stack, wecom.code_for(wanted), "203.0.113.41")
    assert response.status_code == 200 and response.json()["member_id"] == winner["id"]
    holders = stack.members.db["wecom_ids"]
    assert await holders.count_documents({"_id": wanted}) == 1
    # The losers keep their own ids, and the winner's former id is free again.
    assert await holders.count_documents({"member": winner["id"]}) == 1
    for p in people:
        if p is not winner:
            assert await holders.find_one({"_id": p["wecom_userid"]}) is not None
    taker = await member(stack, wecom_userid=winner["wecom_userid"])
    assert taker["wecom_userid"] == winner["wecom_userid"]


async def test_a_reservation_a_crash_left_behind_is_taken_over_after_its_lease(stack: Stack):
    """A change that reserved an id and died before writing holds it for a minute (a change
    under way), then no longer: the member's state, not the reservation, says who holds it."""
    one, other = await member(stack), await member(stack)
    holders = stack.members.db["wecom_ids"]
    url = f"/members/{other['id']}/contact"
    for age_s, expected in ((5, 409), (120, 200)):
        userid = f"left.{uid()}"
        at = datetime.now(UTC) - timedelta(seconds=age_s)
        await holders.insert_one({"_id": userid, "member": one["id"], "claimed_at": at})
        answer = await stack.members_http.patch(url, json={"wecom_userid": userid}, headers=ADMIN)
        assert answer.status_code == expected, answer.text
    assert (await holders.find_one({"_id": userid}))["member"] == other["id"]


async def imported(stack: Stack, rows: list[list[str]], commit: bool) -> list[dict]:
    """The report rows of an import of `rows` (a header first) by the chair."""
    data = "\n".join(",".join(r) for r in rows).encode("utf-8-sig")
    params = {"commit": "true", "only_valid": "true"} if commit else {}
    job = await stack.members_http.post(
        "/imports", files={"file": ("名单.csv", data, "text/csv")}, params=params, headers=ADMIN
    )
    assert job.status_code == 202, job.text
    url = f"/imports/{job.json()['id']}"

    async def done() -> bool:
        return (await stack.members_http.get(url, headers=ADMIN)).json()["state"] == "done"

    await wait_until(done, 60, "the import to finish")
    return (await stack.members_http.get(url, headers=ADMIN)).json()["rows"]


async def test_an_import_dry_run_refuses_held_and_repeated_wecom_ids(stack: Stack):
    holder = await member(stack)
    repeated = f"Twice.{uid()}"
    rows = [
        ["工号", "姓名", "校区", "部门", "企业微信号"],
        [f"WX{uid().upper()}", "甲", "main", "艺术系", holder["wecom_userid"].upper()],
        [f"WX{uid().upper()}", "乙", "main", "艺术系", repeated],
        [f"WX{uid().upper()}", "丙", "main", "艺术系", repeated.lower()],
        [holder["staff_no"], "企微会员", "main", "艺术系", holder["wecom_userid"]],
    ]
    report = await imported(stack, rows, commit=False)
    assert [r["outcome"] for r in report] == ["refused", "create", "refused", "unchanged"]
    for r in (report[0], report[2]):
        assert [p["code"] for p in r["problems"]] == ["member.wecom_userid_taken"]
    assert await stack.members.db["wecom_ids"].count_documents({"_id": repeated.lower()}) == 0


async def test_an_import_row_with_a_held_wecom_id_is_refused(stack: Stack):
    holder = await member(stack)
    staff_no, fresh_no, fresh = f"WX{uid().upper()}", f"WX{uid().upper()}", f"Imp.{uid()}"
    rows = [
        ["工号", "姓名", "校区", "部门", "企业微信号"],
        [staff_no, "导入会员", "main", "艺术系", holder["wecom_userid"].upper()],
        [fresh_no, "新会员", "main", "艺术系", fresh],
        [holder["staff_no"], "企微会员", "main", "艺术系", f"moved.{uid()}"],
    ]
    refused, created, moved = await imported(stack, rows, commit=True)
    assert refused["outcome"] == "refused"
    assert [p["code"] for p in refused["problems"]] == ["member.wecom_userid_taken"]
    assert (created["outcome"], moved["outcome"]) == ("create", "update")
    holders = stack.members.db["wecom_ids"]
    assert await holders.count_documents({"member": member_id_for(staff_no)}) == 0
    assert (await holders.find_one({"_id": fresh.lower()}))["member"] == member_id_for(fresh_no)
    # The holder moved to a new id: the former one is free again (and the refused row's
    # wanted id is now anyone's).
    assert await holders.find_one({"_id": holder["wecom_userid"]}) is None
    assert [d["_id"] for d in await holders.find({"member": holder["id"]}).to_list()] == [
        rows[3][4].lower()
    ]


async def test_ids_from_before_the_reservations_are_reserved_when_members_starts(
    stack: Stack, wecom, caplog
):
    one = await member(stack)
    holders = stack.members.db["wecom_ids"]
    await holders.delete_many({"member": one["id"]})  # as before reservations existed
    view = stack.members.db[f"view_{uid()}"]  # a list view of its own: the shared one is busy
    await view.insert_many(
        [
            {"_id": one["id"], "wecom_userid": one["wecom_userid"]},
            {"_id": "twin-of-one", "wecom_userid": one["wecom_userid"].upper()},
            {"_id": "no-wecom", "wecom_userid": None},
        ]
    )
    with caplog.at_level(logging.WARNING, logger="services.members.membership.wecom_ids"):
        await setup_holders(stack.members.db, view.name)
        await setup_holders(stack.members.db, view.name)  # another start: nothing new
    held = await holders.find({"_id": one["wecom_userid"]}).to_list()
    assert [h["member"] for h in held] == [one["id"]]  # "m-…" sorts before "twin-…"
    warned = [r.getMessage() for r in caplog.records if "twin-of-one" in r.getMessage()]
    assert len(warned) == 2, caplog.text  # once per start, naming both
    assert one["id"] in warned[0]
    assert await holders.count_documents({"member": "no-wecom"}) == 0
    response = await exchange(stack, wecom.code_for(one["wecom_userid"]), "203.0.113.90")
    assert response.status_code == 200 and response.json()["member_id"] == one["id"]


async def test_codes_that_name_nobody_are_throttled_per_address(stack: Stack, wecom):
    client = "198.51.100.7"
    for _ in range(3):  # the module's limit: 3 per 15 minutes
        refused(await exchange(stack, wecom.code_for(f"nobody.{uid()}"), client))
    asked = len(wecom.calls("/cgi-bin/auth/getuserinfo"))
    one = await member(stack)
    response = await exchange(stack, wecom.code_for(one["wecom_userid"]), client)
    assert response.status_code == 429 and response.headers["Retry-After"]
    assert response.json()["code"] == "auth.throttled"
    assert len(wecom.calls("/cgi-bin/auth/getuserinfo")) == asked  # WeCom was not asked
    # Another address is not affected.
    response = await exchange(stack, wecom.code_for(one["wecom_userid"]), "198.51.100.8")
    assert response.status_code == 200, response.text


async def test_the_sign_in_is_published_and_audited(stack: Stack, wecom):
    one = await member(stack)
    assert (
        await exchange(stack, wecom.code_for(one["wecom_userid"]), "203.0.113.50")
    ).status_code == 200

    async def published() -> list[dict]:
        return [
            json.loads(r.value)
            for r in await read_all(stack.bootstrap, stack.topic("members.account"), 500)
            if r.key.decode() == one["id"] and "signed_in" in json.loads(r.value)["type"]
        ]

    async def seen() -> bool:
        return bool(await published())

    await wait_until(seen, what="the sign-in event")
    [event] = await published()  # v2 only: v1 (deprecated) cannot say "wecom"
    assert event["type"] == "members.account.signed_in.v2"
    assert event["data"]["method"] == "wecom" and event["data"]["failures_before"] == 0
    assert one["wecom_userid"] not in json.dumps(event)
    entries = await stack.members.db["audit_log"].find({"target": one["id"]}).to_list()
    assert any(e.get("action") == "wecom_sign_in" for e in entries), entries


async def test_a_password_sign_in_publishes_v1_and_v2(stack: Stack, wecom):
    one = await member(stack)
    response = await stack.members_http.post(
        "/auth/login", json={"staff_no": one["staff_no"], "password": PASSWORD}
    )
    assert response.status_code == 200, response.text

    async def types() -> list[str]:
        return sorted(
            json.loads(r.value)["type"]
            for r in await read_all(stack.bootstrap, stack.topic("members.account"), 500)
            if r.key.decode() == one["id"] and "signed_in" in json.loads(r.value)["type"]
        )

    async def both() -> bool:
        return len(await types()) == 2

    await wait_until(both, what="both sign-in events")
    assert await types() == ["members.account.signed_in.v1", "members.account.signed_in.v2"]


async def test_disabled_answers_404_and_asks_nobody(stack: Stack, wecom):
    accounts = stack.members.context.accounts
    kept, accounts.wecom = accounts.wecom, None
    asked = len(wecom.requests)
    try:
        response = await exchange(stack, "abc123", "203.0.113.60")
    finally:
        accounts.wecom = kept
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "auth.wecom_disabled"
    assert len(wecom.requests) == asked


async def test_no_secret_code_or_token_in_the_logs(stack: Stack, wecom, caplog):
    caplog.set_level(logging.DEBUG)
    one = await member(stack)
    code = wecom.code_for(one["wecom_userid"])
    bad = wecom.code_failing(40029)
    assert (await exchange(stack, code, "203.0.113.70")).status_code == 200
    refused(await exchange(stack, bad, "203.0.113.71"))
    # A fresh client (no cached token) with a wrong secret: the operator's error, logged.
    wrong = WeComSignIn(WeComConfig(wecom.url, CORP_ID, SecretStr("not-the-secret-xyz")))
    with pytest.raises(ProblemError) as raised:
        await wrong.user_id(wecom.code_for(one["wecom_userid"]))
    assert raised.value.status == 503
    text = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert "errcode 40001" in text  # the operator learns why
    for secret in (SECRET, "not-the-secret-xyz", ACCESS_TOKEN, code, bad):
        assert secret not in text


# -- the exchange itself (the cache's edges), against the same server ------------------------


async def test_a_refused_access_token_is_fetched_again_once(wecom):
    client = WeComSignIn(WeComConfig(wecom.url, CORP_ID, SecretStr(SECRET)))
    client._token = ("stale-token", float("inf"))  # WeCom no longer takes it (40014)
    before = len(wecom.calls("/cgi-bin/gettoken"))
    userid = f"li.{uid()}"
    assert await client.user_id(wecom.code_for(userid)) == userid
    assert len(wecom.calls("/cgi-bin/gettoken")) == before + 1
    assert client._token is not None and client._token[0] == ACCESS_TOKEN


async def test_wecom_unreachable_is_a_503():
    client = WeComSignIn(WeComConfig("http://127.0.0.1:9", CORP_ID, SecretStr(SECRET), 2.0))
    with pytest.raises(ProblemError) as raised:
        await client.user_id("abc")
    assert raised.value.status == 503 and raised.value.code == "auth.wecom_unavailable"


async def test_a_member_cannot_take_another_members_wecom_id(stack: Stack, wecom):
    """Else a member could put the chair's WeCom id on their own record: the chair's WeCom
    sign-in would stop (two holders), or land in that member's account."""
    holder, other = await member(stack), await member(stack)
    own = bearer(other["id"], ["member"], ["main"])
    url = f"/members/{other['id']}/contact"
    taken = await stack.members_http.patch(
        url, json={"wecom_userid": holder["wecom_userid"]}, headers=own
    )
    assert taken.status_code == 409, taken.text
    assert taken.json()["code"] == "member.wecom_userid_taken"
    assert holder["id"] not in taken.text and holder["staff_no"] not in taken.text
    # Their own new id is fine; the holder still signs in.
    fresh = f"new.{uid()}"
    assert (
        await stack.members_http.patch(url, json={"wecom_userid": fresh}, headers=own)
    ).status_code == 200
    await listed(stack.members.context.members.store.view, other["id"], fresh)
    response = await exchange(stack, wecom.code_for(holder["wecom_userid"]), "203.0.113.80")
    assert response.status_code == 200 and response.json()["member_id"] == holder["id"]
    response = await exchange(stack, wecom.code_for(fresh), "203.0.113.81")
    assert response.status_code == 200 and response.json()["member_id"] == other["id"]
