"""WeCom (企业微信) sign-in through web: the button, the redirect to WeCom's authorize page with
a state bound to the browser, and the callback — checked state, members' exchange, the web
session — with web and members in process on the real broker and database, and a local
server standing in for WeCom. A missing, forged, foreign or replayed state signs nobody in."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.web.bootstrap import bootstrap as web_bootstrap
from services.web.bootstrap import hide_callback_query
from services.web.settings import WebSettings
from tests.integration.conftest import Stack, bearer, build_stack, close_stack
from tests.integration.wecom_kit import (
    ACCESS_TOKEN,
    AGENT_ID,
    CORP_ID,
    SECRET,
    WeComServer,
    listed,
    members_settings,
    wecom_server,
)

pytestmark = pytest.mark.integration

ADMIN = bearer("admin-1", ["admin"], ["*"])
CALLBACK = "/login/wecom/callback"


@dataclass
class Site:
    stack: Stack
    app: Any
    wecom: WeComServer

    def browser(self) -> httpx.AsyncClient:
        """A fresh browser (its own cookies)."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://web")

    async def sessions(self) -> int:
        return await self.app.state.web.sessions.coll.count_documents({})


@pytest.fixture(scope="module")
def wecom() -> Iterator[WeComServer]:
    with wecom_server() as server:
        yield server


@pytest.fixture(scope="module")
async def site(infra, wecom: WeComServer) -> AsyncIterator[Site]:
    stack = await build_stack(infra, ["members"], settings={"members": members_settings(wecom)})
    settings = WebSettings.isolated(
        stack.prefix,
        infra.kafka_bootstrap,
        infra.mongo_url,
        members_url="http://members",
        wecom_signin=True,
        wecom_corp_id=CORP_ID,
        wecom_agent_id=AGENT_ID,
        wecom_authorize_url=wecom.authorize_url,
        public_url="http://web",
    )
    transports = {"members": httpx.ASGITransport(app=stack.members.app)}
    app = web_bootstrap(settings, configure_logs=False, transports=transports)
    try:
        yield Site(stack, app, wecom)
    finally:
        await app.state.web.backend.close()
        await close_stack(stack)


async def member(site: Site, **over) -> dict:
    userid = f"wang.{uuid.uuid4().hex[:8]}"
    body = {
        "staff_no": f"WW{uuid.uuid4().hex[:8].upper()}",
        "name": "企微网页",
        "campus": "west",
        "department": "音乐系",
        "wecom_userid": userid,
        **over,
    }
    http = site.stack.members_http
    made = (await http.post("/members", json=body, headers=ADMIN)).json()
    await listed(site.stack.members.context.members.store.view, made["id"], userid)
    url = f"/members/{made['id']}/password"
    assert (await http.put(url, json={"password": "Chushi-2026"}, headers=ADMIN)).status_code == 200
    return {**made, "wecom_userid": userid}


async def go_to_wecom(browser: httpx.AsyncClient, next_path: str = "/m") -> dict[str, str]:
    """Click 「企业微信登录」: the query of the authorize URL web sends the browser to."""
    response = await browser.get("/login/wecom", params={"next": next_path})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.endswith("#wechat_redirect")
    parts = urlsplit(location.removesuffix("#wechat_redirect"))
    return {k: v[0] for k, v in parse_qs(parts.query).items()} | {
        "_base": f"{parts.scheme}://{parts.netloc}{parts.path}"
    }


def refused_page(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    assert "gh_session" not in response.headers.get("set-cookie", "")
    return response.text


async def test_the_login_page_shows_the_button(site: Site):
    async with site.browser() as browser:
        page = await browser.get("/login")
    assert page.status_code == 200 and "企业微信登录" in page.text
    assert 'href="/login/wecom?next=' in page.text


async def test_the_button_goes_to_wecom_with_a_state_bound_to_the_browser(site: Site):
    async with site.browser() as browser:
        query = await go_to_wecom(browser)
        cookie = browser.cookies.get("gh_wecom")
    assert query["_base"] == site.wecom.authorize_url
    assert query["appid"] == CORP_ID and query["agentid"] == str(AGENT_ID)
    assert query["redirect_uri"] == f"http://web{CALLBACK}"
    assert query["response_type"] == "code" and query["scope"] == "snsapi_base"
    assert len(query["state"]) == 64
    # The cookie is sealed: neither the state nor the nonce behind it can be read from it.
    assert cookie and query["state"] not in cookie and cookie.strip('"').startswith("gh2:")


async def test_a_member_signs_in_through_wecom(site: Site):
    leader = await member(site, roles=["committee"])
    before = await site.sessions()
    async with site.browser() as browser:
        query = await go_to_wecom(browser, "/m/activities")
        code = site.wecom.code_for(leader["wecom_userid"])
        back = await browser.get(CALLBACK, params={"code": code, "state": query["state"]})
        assert back.status_code == 303, back.text
        assert back.headers["location"] == "/m/activities"
        assert "gh_session" in back.headers["set-cookie"]
        assert browser.cookies.get("gh_wecom") is None  # the state is used up
        # A page that needs the session (and only members): the browser is signed in.
        own = await browser.get("/login/password")
        assert own.status_code == 200 and "设置新密码" in own.text, own.text
    assert await site.sessions() == before + 1
    [doc] = await site.app.state.web.sessions.coll.find({"member_id": leader["id"]}).to_list()
    assert doc["provider"] == "wecom"
    assert sorted(doc["roles"]) == ["cadre", "member"] and doc["campuses"] == ["west"]
    # Tokens sealed at rest, as for a password sign-in.
    assert doc["access_token"].startswith("gh") and "." not in doc["access_token"][:8]


async def test_a_replayed_callback_signs_nobody_in(site: Site):
    one = await member(site)
    async with site.browser() as browser:
        query = await go_to_wecom(browser)
        cookie = browser.cookies.get("gh_wecom")
        code = site.wecom.code_for(one["wecom_userid"])
        first = await browser.get(CALLBACK, params={"code": code, "state": query["state"]})
        assert first.status_code == 303 and cookie is not None
    before = await site.sessions()
    async with site.browser() as thief:  # the same cookie and URL again
        thief.cookies.set("gh_wecom", cookie)
        again = await thief.get(CALLBACK, params={"code": code, "state": query["state"]})
    assert "请重新点击「企业微信登录」" in refused_page(again)
    assert await site.sessions() == before


async def test_a_missing_forged_or_foreign_state_is_refused(site: Site):
    one = await member(site)
    before = await site.sessions()
    asked = len(site.wecom.calls("/cgi-bin/auth/getuserinfo"))
    async with site.browser() as victim, site.browser() as attacker:
        mine = await go_to_wecom(attacker)
        await go_to_wecom(victim)
        code = site.wecom.code_for(one["wecom_userid"])
        # Login CSRF: the attacker's callback URL opened in the victim's browser.
        foreign = await victim.get(CALLBACK, params={"code": code, "state": mine["state"]})
        refused_page(foreign)
        forged = await victim.get(CALLBACK, params={"code": code, "state": "0" * 64})
        refused_page(forged)
        missing = await victim.get(CALLBACK, params={"code": code})
        refused_page(missing)
    async with site.browser() as fresh:  # no cookie at all
        refused_page(await fresh.get(CALLBACK, params={"code": code, "state": mine["state"]}))
    async with site.browser() as tampered:
        tampered.cookies.set("gh_wecom", "ghv1:not-a-sealed-value")
        refused_page(await tampered.get(CALLBACK, params={"code": code, "state": mine["state"]}))
    assert await site.sessions() == before
    assert len(site.wecom.calls("/cgi-bin/auth/getuserinfo")) == asked  # members never asked


async def test_unknown_user_and_wecom_errors_show_the_login_page(site: Site):
    before = await site.sessions()
    for code in (
        site.wecom.code_for(f"nobody.{uuid.uuid4().hex[:6]}"),
        site.wecom.code_failing(40029),
    ):
        async with site.browser() as browser:
            query = await go_to_wecom(browser)
            back = await browser.get(CALLBACK, params={"code": code, "state": query["state"]})
        text = refused_page(back, 200)
        assert "企业微信登录未成功" in text and 'role="alert"' in text
    async with site.browser() as browser:  # the person declined: no code
        query = await go_to_wecom(browser)
        text = refused_page(await browser.get(CALLBACK, params={"state": query["state"]}), 200)
        assert "未授权" in text
    assert await site.sessions() == before


async def test_no_code_or_secret_in_the_logs(site: Site, caplog):
    caplog.set_level(logging.DEBUG)
    one = await member(site)
    async with site.browser() as browser:
        query = await go_to_wecom(browser)
        code = site.wecom.code_for(one["wecom_userid"])
        back = await browser.get(CALLBACK, params={"code": code, "state": query["state"]})
        assert back.status_code == 303
    text = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for secret in (SECRET, ACCESS_TOKEN, code, query["state"]):
        assert secret not in text
    # uvicorn's access log line of the callback loses its query.
    line = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"{CALLBACK}?code={code}&state=s", "1.1", 303), None,
    )  # fmt: skip
    assert hide_callback_query(line)
    assert code not in line.getMessage() and CALLBACK in line.getMessage()
