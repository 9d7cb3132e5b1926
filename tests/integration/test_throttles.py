"""Abuse of the public sign-in endpoints, on the real broker and database: throttles per
address and per account (429 + Retry-After), one address locking out many members, a locked
member getting in by login link, no enumeration, a flood of sign-ins, mail caps.

The stack runs with the production limits (the other tests' stacks have them wide open);
its clients name their address in X-Gonghui-Client, which members believes from loopback
only because the test settings list loopback as a trusted proxy.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.members.accounts import handlers
from services.members.settings import MembersSettings
from services.web.bootstrap import bootstrap as web_bootstrap
from services.web.settings import WebSettings
from shared.client import CLIENT_HEADER
from shared.timeutil import utcnow
from tests.integration.conftest import Stack, build_stack, close_stack
from tests.integration.test_accounts import ADMIN, INITIAL, enrol, problem, with_password

pytestmark = pytest.mark.integration

DEFAULTS = MembersSettings.model_fields
PRODUCTION = {
    name: DEFAULTS[name].default
    for name in (
        "throttle_address_failures",
        "throttle_account_attempts",
        "throttle_link_address",
        "throttle_link_account",
        "throttle_redeem_address_failures",
        "throttle_in_flight",
        "password_hash_queue",
        "password_hash_wait_s",
        "password_hash_memory_kib",  # the production cost: the flood below must outrun it
        "login_link_mails_per_minute",
        "login_link_mails_per_day",
    )
} | {"password_hash_concurrency": 2}  # two cores, as on the development server
_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


def new_address() -> str:
    """A client address no other test of the module has used."""
    return next(_addresses)


@pytest.fixture(scope="module")
async def stack(infra) -> AsyncIterator[Stack]:
    s = await build_stack(infra, ["members"], settings={"members": PRODUCTION})
    try:
        yield s
    finally:
        await close_stack(s)


def mid_bucket() -> datetime:
    """The middle of the current quarter of an hour (the throttles' longest window)."""
    start = int(utcnow().timestamp()) // 900 * 900
    return datetime.fromtimestamp(start + 450, UTC)


@contextmanager
def steady(stack: Stack) -> Iterator[None]:
    """Members' clock held still: a run of attempts that crossed a bucket's end would be
    counted in two buckets (fixed windows allow twice the limit across a boundary)."""
    accounts = stack.members.context.accounts
    now = mid_bucket()
    accounts.clock = lambda: now
    try:
        yield
    finally:
        accounts.clock = utcnow


@pytest.fixture(autouse=True)
def steady_clock(stack: Stack) -> Iterator[None]:
    with steady(stack):
        yield


async def login(stack: Stack, staff_no: str, password: str, client: str):
    return await stack.members_http.post(
        "/auth/login",
        json={"staff_no": staff_no, "password": password},
        headers={CLIENT_HEADER: client},
    )


async def ask_link(stack: Stack, staff_no: str, client: str):
    return await stack.members_http.post(
        "/auth/login-link", json={"staff_no": staff_no}, headers={CLIENT_HEADER: client}
    )


def throttled(response) -> dict:
    body = problem(response, 429, "auth.throttled")
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 900 and body["retry_after"] == retry
    assert body["title"] == "尝试过于频繁，请稍后再试"
    return body


async def account(stack: Stack, member_id: str) -> dict:
    response = await stack.members_http.get(f"/members/{member_id}/account", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_address_out_of_guesses_gets_429_with_retry_after(stack: Stack):
    await with_password(stack, "T0001")
    guesser, other = new_address(), new_address()
    limit = int(PRODUCTION["throttle_address_failures"].split("/")[0])
    for i in range(limit):  # unknown staff numbers count like wrong passwords
        staff_no = "T0001" if i in (1, 3) else f"NOBODY{i}"
        problem(
            await login(stack, staff_no, "wrong-pass-1", guesser), 401, "auth.invalid_credentials"
        )
    throttled(await login(stack, "T0002", "wrong-pass-1", guesser))
    # Slowed down for everything it tries, the right password too …
    throttled(await login(stack, "T0001", INITIAL, guesser))
    # … while another address is answered as before.
    ok = await login(stack, "T0001", INITIAL, other)
    assert ok.status_code == 200 and ok.json()["status"] == "password_change_required"


async def test_an_account_tried_from_many_addresses_gets_429(stack: Stack):
    await with_password(stack, "T0101")
    limit = int(PRODUCTION["throttle_account_attempts"].split("/")[0])
    for _ in range(limit):
        problem(
            await login(stack, "T0101", "wrong-pass-1", new_address()),
            401,
            "auth.invalid_credentials",
        )
    known = throttled(await login(stack, "T0101", "wrong-pass-1", new_address()))
    # The staff number as typed is the key, so an unknown one is throttled just alike.
    for _ in range(limit):
        await login(stack, "NOBODY101", "wrong-pass-1", new_address())
    unknown = throttled(await login(stack, "nobody101 ", "wrong-pass-1", new_address()))
    assert known.keys() == unknown.keys() and known["title"] == unknown["title"]


async def test_one_address_cannot_lock_out_a_hundred_members(stack: Stack):
    """Five wrong passwords for each of 100 staff numbers from one address: the address is
    refused after a handful of accounts, so at most a handful are locked."""
    staff = [f"H{n:04d}" for n in range(100)]
    ids = {}
    for at in range(0, len(staff), 2):  # as many as hash at once: no 503 while preparing
        batch = staff[at : at + 2]
        made = await asyncio.gather(*(with_password(stack, s) for s in batch))
        ids.update({s: m["id"] for s, m in zip(batch, made, strict=True)})
    attacker = new_address()
    answers: Counter[int] = Counter()
    for staff_no in staff:
        for _ in range(5):
            answers[(await login(stack, staff_no, "wrong-pass-1", attacker)).status_code] += 1
    locked = [s for s in staff if (await account(stack, ids[s]))["locked"]]
    assert len(locked) <= 4, locked
    assert answers[429] >= 480 and answers[401] <= 20, answers
    # The members not locked sign in as usual from their own addresses.
    free = next(s for s in staff if s not in locked)
    assert (await login(stack, free, INITIAL, new_address())).status_code == 200


async def test_a_member_locked_out_by_someone_else_gets_in_with_a_login_link(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
):
    member = await with_password(stack, "T0201", email="t0201@school.local")
    attacker = new_address()
    for _ in range(5):
        await login(stack, "T0201", "wrong-pass-1", attacker)
    assert (await account(stack, member["id"]))["locked"] is True
    mine = new_address()
    problem(await login(stack, "T0201", INITIAL, mine), 401, "auth.account_locked")
    token = "locked-out-but-linked-" + "x" * 24
    monkeypatch.setattr(handlers, "new_token", lambda: token)
    assert (await ask_link(stack, "T0201", mine)).status_code == 202
    redeemed = await stack.members_http.post(
        "/auth/login-link/redeem", json={"token": token}, headers={CLIENT_HEADER: mine}
    )
    assert redeemed.status_code == 200, redeemed.text
    # The password a cadre set must be changed first: the link's token lets the member.
    link_session = redeemed.json()
    assert link_session["password_token"]
    chosen = await stack.members_http.post(
        "/auth/password",
        json={"new_password": "back-in-again-9"},
        headers={"Authorization": f"Bearer {link_session['password_token']}"},
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["status"] == "ok" and chosen.json()["access_token"]


async def test_known_and_unknown_staff_numbers_answer_alike(stack: Stack):
    await with_password(stack, "T0301")
    await enrol(stack, "T0302")  # a member without a password
    client = new_address()
    answers: dict[str, tuple] = {}
    for staff_no in ("T0301", "T0302", "NOBODY301"):
        # Six wrong passwords: the known account locks at the fifth, and still says nothing.
        for _ in range(6):
            response = await login(stack, staff_no, "wrong-pass-1", new_address())
        body = response.json()
        answers[staff_no] = (
            response.status_code,
            response.headers["content-type"],
            body["code"],
            body["title"],
            tuple(sorted(body)),
        )
    assert len(set(answers.values())) == 1, answers
    assert answers["T0301"][:3] == (401, "application/problem+json", "auth.invalid_credentials")
    # A login link is asked for alike, too.
    links = [await ask_link(stack, s, client) for s in ("T0301", "NOBODY301")]
    assert links[0].status_code == links[1].status_code == 202
    assert links[0].json() == links[1].json()


async def test_a_flood_from_one_address_is_refused_and_another_member_gets_in(stack: Stack):
    await with_password(stack, "T0401")
    flooder = new_address()
    flood = [login(stack, f"F{i:04d}", "wrong-pass-1", flooder) for i in range(50)]

    async def legit():
        await asyncio.sleep(0.05)  # arrives in the middle of the flood
        return await login(stack, "T0401", INITIAL, new_address())

    *answers, mine = await asyncio.wait_for(asyncio.gather(*flood, legit()), 10)  # hang guard
    codes = Counter(r.status_code for r in answers)
    assert codes[429] >= 40, codes  # refused at once: two at a time per address
    assert set(codes) <= {401, 429}, codes
    for refused in (r for r in answers if r.status_code == 429):
        assert int(refused.headers["Retry-After"]) >= 1
    assert mine.status_code == 200 and mine.json()["status"] == "password_change_required"


async def test_a_flood_from_many_addresses_is_refused_with_503_not_queued(stack: Stack):
    """Beyond the hashers and their short queue a sign-in is refused at once (503 + Retry-After);
    afterwards the service answers as before."""
    await with_password(stack, "T0501")
    flood = [login(stack, f"G{i:04d}", "wrong-pass-1", new_address()) for i in range(50)]
    answers = await asyncio.wait_for(asyncio.gather(*flood), 10)  # hang guard
    codes = Counter(r.status_code for r in answers)
    # Two hashing and eight waiting at most: most of the fifty are refused at once.
    assert codes[503] >= 25 and codes[401] >= 2 and set(codes) <= {401, 503}, codes
    busy = next(r for r in answers if r.status_code == 503)
    assert problem(busy, 503, "auth.busy") and int(busy.headers["Retry-After"]) >= 1
    assert (await login(stack, "T0501", INITIAL, new_address())).status_code == 200


async def test_login_link_requests_are_throttled_and_mails_capped_per_day(stack: Stack):
    member = await with_password(stack, "T0601", email="t0601@school.local")
    accounts = stack.members.context.accounts
    # 09:00 in Beijing on a fixed day, so the requests below stay within one calendar day.
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    try:
        accounts.clock = lambda: start
        client = new_address()
        assert (await ask_link(stack, "T0601", client)).status_code == 202
        assert (await ask_link(stack, "T0601", client)).status_code == 202  # same minute
        assert await mailed(stack, member["id"]) == 1
        # Per staff number: five requests per 15 minutes, then 429 (unknown ones alike).
        for _ in range(3):
            assert (await ask_link(stack, "T0601", new_address())).status_code == 202
        throttled(await ask_link(stack, "T0601", new_address()))
        for _ in range(5):
            await ask_link(stack, "NOBODY601", new_address())
        throttled(await ask_link(stack, "NOBODY601", new_address()))
        # Spread over the day, the member still gets at most five mails …
        for n in range(1, 9):
            accounts.clock = lambda n=n: start + timedelta(minutes=16 * n)
            assert (await ask_link(stack, "T0601", new_address())).status_code == 202
        assert await mailed(stack, member["id"]) == 5
        # … and the next day again.
        accounts.clock = lambda: start + timedelta(days=1)
        assert (await ask_link(stack, "T0601", new_address())).status_code == 202
        assert await mailed(stack, member["id"]) == 6
    finally:
        accounts.clock = utcnow


async def mailed(stack: Stack, member_id: str) -> int:
    """Login links made for the member (one mail each), as the audit log records them."""
    return await stack.members.db["audit_log"].count_documents(
        {"target": member_id, "action": "request_login_link"}
    )


async def test_an_address_trying_links_gets_429(stack: Stack):
    client = new_address()
    limit = int(PRODUCTION["throttle_redeem_address_failures"].split("/")[0])
    for i in range(limit):
        response = await stack.members_http.post(
            "/auth/login-link/redeem",
            json={"token": f"{i:02d}" + "y" * 41},
            headers={CLIENT_HEADER: client},
        )
        problem(response, 401, "auth.link_invalid")
    response = await stack.members_http.post(
        "/auth/login-link/redeem", json={"token": "z" * 43}, headers={CLIENT_HEADER: client}
    )
    throttled(response)


# -- web: the browser's address reaches members ---------------------------------------------------


@pytest.fixture(scope="module")
async def strict(infra) -> AsyncIterator[Stack]:
    """Members allowing three wrong passwords per address, behind web."""
    s = await build_stack(
        infra, ["members"], settings={"members": {"throttle_address_failures": "3/900"}}
    )
    try:
        yield s
    finally:
        await close_stack(s)


@asynccontextmanager
async def web_in_front(stack: Stack, trusted: str) -> AsyncIterator[httpx.AsyncClient]:
    """Web in-process calling this members; its browser connects from 127.0.0.1."""
    settings = WebSettings.isolated(
        f"{stack.prefix}web{uuid.uuid4().hex[:6]}.",
        stack.infra.kafka_bootstrap,
        stack.infra.mongo_url,
        trusted_proxies=trusted,
    )
    members = httpx.ASGITransport(app=stack.members.app)
    app = web_bootstrap(settings, configure_logs=False, transports={"members": members})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://web"
    ) as browser:
        try:
            yield browser
        finally:
            await app.state.web.backend.close()
            client = app.state.web.sessions.coll.database.client
            await client.drop_database(settings.mongo_db)
            await client.close()


async def web_login(browser: httpx.AsyncClient, staff_no: str, forwarded: str | None = None):
    await browser.get("/login")
    form = {"staff_no": staff_no, "password": "wrong-pass-1", "csrf": browser.cookies["gh_pre"]}
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return await browser.post("/login", data=form, headers=headers)


async def test_web_passes_the_browser_address_and_believes_only_its_trusted_proxies(
    strict: Stack,
):
    # A browser naming itself in X-Forwarded-For is not believed: it stays one address, and
    # the fourth wrong password is refused with the 429 page and members' Retry-After.
    with steady(strict):
        await through_web(strict)


async def through_web(strict: Stack) -> None:
    async with web_in_front(strict, trusted="") as browser:
        for n in range(3):
            page = await web_login(browser, f"NOBODY{n}", forwarded=f"203.0.113.{n}")
            assert page.status_code == 200 and "工号或密码不正确" in page.text
        page = await web_login(browser, "NOBODY9", forwarded="203.0.113.99")
        assert page.status_code == 429 and "尝试过于频繁" in page.text
        assert int(page.headers["Retry-After"]) >= 1
    # Behind a trusted reverse proxy, each browser it names is counted on its own.
    async with web_in_front(strict, trusted="127.0.0.1") as browser:
        for n in range(6):
            page = await web_login(browser, f"NOBODY{n}", forwarded=f"192.0.2.{n}")
            assert page.status_code == 200, page.text
        for _ in range(3):
            await web_login(browser, "NOBODY7", forwarded="192.0.2.200")
        assert (await web_login(browser, "NOBODY8", forwarded="192.0.2.200")).status_code == 429
