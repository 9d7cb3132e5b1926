"""企业微信登录 in Chromium: the button, WeCom's authorize page (a local stand-in that sends the
browser back with a code, as WeCom does), and the member signed in — members and web as
processes (uvicorn, its access log included) on the real broker and database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import async_playwright, expect

from services.web.settings import WebSettings
from tests.e2e.browser import FLAGS, PHONE, axe_violations, chromium_or_skip, shot
from tests.e2e.conftest import Platform, bearer
from tests.integration.wecom_kit import AGENT_ID, CORP_ID, SECRET, WeComServer, wecom_server
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.e2e


class WeComPlatform(Platform):
    """Members and web with WeCom sign-in on, against the local WeCom server."""

    wecom: WeComServer

    def settings(self, name: str):
        if name == "web":  # no events or notify here
            return WebSettings.isolated(
                self.prefix,
                self.infra.kafka_bootstrap,
                self.infra.mongo_url,
                members_url=self.url("members"),
            )
        return super().settings(name)

    def env(self, name: str) -> dict[str, str]:
        env = super().env(name)
        env |= {
            "GONGHUI_WECOM_SIGNIN": "true",
            "GONGHUI_WECOM_CORP_ID": CORP_ID,
            "GONGHUI_WECOM_AGENT_ID": str(AGENT_ID),
        }
        if name == "members":
            env |= {"GONGHUI_WECOM_BASE_URL": self.wecom.url, "GONGHUI_WECOM_SECRET": SECRET}
        if name == "web":
            env |= {
                "GONGHUI_WECOM_AUTHORIZE_URL": self.wecom.authorize_url,
                "GONGHUI_WEB_BASE_URL": self.url("web"),
            }
        return env


@pytest.fixture(scope="module")
def wecom() -> Iterator[WeComServer]:
    with wecom_server() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(infra, tmp_path_factory, wecom) -> AsyncIterator[Platform]:
    chromium_or_skip()
    p = WeComPlatform(infra, tmp_path_factory.mktemp("wecom"), services=("members", "web"))
    p.wecom = wecom
    async with p.running():
        yield p


async def test_a_member_signs_in_with_the_wecom_button(platform: Platform, wecom: WeComServer):
    userid = f"chen.{uuid.uuid4().hex[:8]}"
    body = {
        "staff_no": f"WB{uuid.uuid4().hex[:8].upper()}",
        "name": "陈企微",
        "campus": "main",
        "department": "体育部",
        "wecom_userid": userid,
    }
    admin = bearer("e2e-admin", ["admin"], ["*"])
    members = platform.url("members")
    async with httpx.AsyncClient(timeout=10) as http:
        made = await http.post(f"{members}/members", json=body, headers=admin)
        assert made.status_code == 201, made.text
        url = f"{members}/members/{made.json()['id']}/password"
        assert (await http.put(url, json={"password": "Chushi-2026"}, headers=admin)).is_success

        async def listed() -> bool:  # sign-in finds members in the (asynchronous) list view
            found = await http.get(
                f"{members}/members", params={"q": body["staff_no"]}, headers=admin
            )
            return found.is_success and found.json()["total"] == 1

        await wait_until(listed, 30, "the member in members' list view")
    wecom.authorize_as = userid  # the person WeCom knows in this browser
    web = platform.url("web")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_or_skip(), args=FLAGS)
        try:
            context = await browser.new_context(
                viewport=PHONE, base_url=web, locale="zh-CN", timezone_id="Asia/Shanghai"
            )
            context.set_default_timeout(20_000)
            page = await context.new_page()

            # A forged callback (no state of this browser): the login page says so.
            await page.goto("/login/wecom/callback?code=forged&state=" + "0" * 64)
            await expect(page.locator("[role=alert]")).to_contain_text("企业微信登录")
            assert not [c for c in await context.cookies() if "session" in c["name"]]

            await page.goto("/login?next=/login/password")
            button = page.get_by_role("link", name="企业微信登录")
            await expect(button).to_be_visible()
            assert await axe_violations(page) == []
            await shot(page, "wecom-login-button")
            await button.click()
            # WeCom's page sent the browser back; web signed the member in.
            await expect(page.locator("h1")).to_have_text("设置新密码")
            # (A redirect without a fragment keeps the one before it: #wechat_redirect.)
            assert page.url.split("#")[0] == f"{web}/login/password"
            assert [c for c in await context.cookies() if c["name"] == "gh_session"]
            assert not [c for c in await context.cookies() if c["name"] == "gh_wecom"]
            await context.close()
        finally:
            await browser.close()

    [authorize] = wecom.calls("/connect/oauth2/authorize")
    assert authorize.query["appid"] == CORP_ID
    assert authorize.query["redirect_uri"] == f"{web}/login/wecom/callback"
    [code] = list(wecom.used)
    # Neither log has the code or the secret; web's access log has the callback, not its query.
    web_log, members_log = platform.log("web"), platform.log("members")
    assert "/login/wecom/callback" in web_log
    for text in (web_log, members_log):
        assert code not in text and SECRET not in text
        assert authorize.query["state"] not in text
