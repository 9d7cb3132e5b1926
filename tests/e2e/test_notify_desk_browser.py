"""The notify parts of the cadre desk in Chromium: a cadre sees a failed delivery among her
待办 on the desk's home and on 发送失败的消息, retries it and it leaves the failed list; an
admin previews a campus's wording of a template and saves it; a wording with an unknown
variable shows notify's refusal with its line.

Members, notify and web as processes on the real broker and database; events and welfare are
not running (web's addresses for them lead nowhere), so their 待办 sources fail and are left
out — the home still opens. The failed delivery is put where notify's worker leaves one.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import async_playwright, expect
from pymongo import AsyncMongoClient

from services.web.sessions import Sessions
from services.web.settings import WebSettings
from shared.auth import mint_token
from shared.crypto import Sealer
from shared.settings import DEV_WEB_KEY
from shared.timeutil import utcnow
from tests.e2e.browser import DESK, FLAGS, axe_violations, chromium_or_skip, shot
from tests.e2e.conftest import Platform, bearer

pytestmark = pytest.mark.e2e

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers


class DeskPlatform(Platform):
    def settings(self, name: str):
        if name == "web":
            urls = {f"{n}_url": self.url(n) for n in ("members", "notify")}
            return WebSettings.isolated(
                self.prefix,
                self.infra.kafka_bootstrap,
                self.infra.mongo_url,
                events_url=NOWHERE,
                welfare_url=NOWHERE,
                **urls,
            )
        return super().settings(name)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(infra, tmp_path_factory) -> AsyncIterator[Platform]:
    chromium_or_skip()
    p = DeskPlatform(
        infra, tmp_path_factory.mktemp("notify-desk"), services=("members", "notify", "web")
    )
    async with p.running():
        yield p


async def session_of(platform: Platform, subject: str, roles: list[str], campuses: list[str]):
    mongo: AsyncMongoClient = AsyncMongoClient(platform.infra.mongo_url, tz_aware=True)
    try:
        sessions = Sessions(mongo[platform.db("web")], 3600, Sealer.from_file(DEV_WEB_KEY))
        session = sessions.new(
            member_id=subject,
            roles=roles,
            campuses=campuses,
            access_token=mint_token(subject, roles, campuses),
            access_expires_at=utcnow() + timedelta(hours=1),
        )
        return await sessions.create(session)
    finally:
        await mongo.close()


async def a_failed_delivery(platform: Platform) -> str:
    """李华 of main, and a WeCom message to her that failed its last attempt."""
    admin = bearer("e2e-admin", ["admin"], ["*"])
    async with httpx.AsyncClient(timeout=20) as client:
        r = await client.post(
            f"{platform.url('members')}/members",
            headers=admin,
            json={
                "staff_no": f"D{uuid.uuid4().hex[:6].upper()}",
                "name": "李华",
                "campus": "main",
                "department": "艺术系",
                "gender": "female",
                "birth_date": "1986-03-01",
            },
        )
        assert r.status_code == 201, r.text
        member_id = r.json()["id"]
    event_id = f"e-desk-{uuid.uuid4().hex[:8]}"
    mongo: AsyncMongoClient = AsyncMongoClient(platform.infra.mongo_url, tz_aware=True)
    try:
        await mongo[platform.db("notify")]["deliveries"].insert_one(
            {
                "_id": f"{event_id}:{member_id}:wecom",
                "event_id": event_id,
                "event_type": "members.member.approved.v1",
                "template": "welcome",
                "category": "membership",
                "mandatory": False,
                "member_id": member_id,
                "campus": "main",
                "variables": {"name": "李华", "joined_on": "2026年9月1日"},
                "sealed": None,
                "tries": 5,
                "failures": 5,
                "last_error": "ChannelRefused: 企业微信账号不存在",
                "created_at": utcnow(),
                "status": "failed",
                "channel": "wecom",
                "next_at": None,
            }
        )
    finally:
        await mongo.close()
    return member_id


async def test_a_cadre_retries_a_failed_delivery_from_her_todo(platform: Platform):
    await a_failed_delivery(platform)
    web = platform.url("web")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_or_skip(), args=FLAGS)
        try:
            context = await browser.new_context(
                viewport=DESK, base_url=web, locale="zh-CN", timezone_id="Asia/Shanghai"
            )
            context.set_default_timeout(20_000)
            cadre = await session_of(platform, "cadre-desk", ["cadre", "member"], ["main"])
            await context.add_cookies([{"name": "gh_session", "value": cadre, "url": web}])
            page = await context.new_page()
            await page.goto("/admin")
            todo = page.locator("#todo li[data-todo=failed_deliveries]")
            await expect(todo).to_contain_text("发送失败的消息")
            await expect(todo.locator(".count")).to_have_text("1")
            # events and welfare are down: their sources are left out, the page still opens.
            await expect(page.locator("#todo li")).to_have_count(1)
            assert await axe_violations(page) == []
            await shot(page, "desk-home-todo")

            await todo.locator("a").click()
            await expect(page.locator("h1")).to_have_text("发送失败的消息（1 条）")
            row = page.locator("table[aria-label='发送失败'] tbody tr")
            await expect(row).to_contain_text("李华")
            await expect(row).to_contain_text("企业微信")
            await expect(row).to_contain_text("入会欢迎")
            await expect(row).to_contain_text("企业微信账号不存在")
            summary = page.locator("table[aria-labelledby=summary]")
            await expect(summary).to_contain_text("企业微信")
            assert await axe_violations(page) == []
            await shot(page, "deliveries-failed")

            await row.get_by_role("button", name="重发").click()
            await expect(page.locator(".notice-ok")).to_contain_text("已重新排队发送")
            await expect(page.locator("h1")).to_have_text("发送失败的消息（0 条）")
            await expect(row).to_contain_text("没有发送失败的消息")

            await page.goto("/admin")
            await expect(page.locator("#todo li[data-todo=failed_deliveries]")).to_have_count(0)
            await expect(page.locator("#todo")).to_contain_text("暂无待办事项")
            await context.close()
        finally:
            await browser.close()


async def test_an_admin_previews_and_saves_a_template_and_sees_a_refusal(platform: Platform):
    web = platform.url("web")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_or_skip(), args=FLAGS)
        try:
            context = await browser.new_context(
                viewport=DESK, base_url=web, locale="zh-CN", timezone_id="Asia/Shanghai"
            )
            context.set_default_timeout(20_000)
            admin = await session_of(platform, "admin-desk", ["admin"], ["*"])
            await context.add_cookies([{"name": "gh_session", "value": admin, "url": web}])
            page = await context.new_page()
            await page.goto("/admin/templates")
            await expect(page.locator("h1")).to_contain_text("通知模板")
            assert await axe_violations(page) == []
            await page.click("text=入会欢迎")
            await expect(page.locator("h1")).to_have_text("入会欢迎")
            await expect(page.locator("#default-body")).to_contain_text("{{ name }}")

            # An unknown name: notify refuses it with its line, the form keeps the text.
            await page.select_option("select[name=campus]", "main")
            await page.fill("textarea[name=body]", "{{ name }}老师：\n欢迎！{{ salary }}")
            await page.click("#preview-btn")
            await expect(page.locator(".notice-error[role=alert]")).to_contain_text(
                "未知变量「salary」"
            )
            await expect(page.locator("#error-line")).to_contain_text("正文第 2 行")
            await expect(page.locator("textarea[name=body]")).to_have_value(
                "{{ name }}老师：\n欢迎！{{ salary }}"
            )
            assert await axe_violations(page) == []
            await shot(page, "template-refused")

            wording = "{{ name }}老师：欢迎您于{{ joined_on }}加入主校区工会！"
            await page.fill("textarea[name=body]", wording)
            await page.click("#preview-btn")
            await expect(page.locator("#preview-text")).to_have_text(
                "张颖老师：欢迎您于2026年9月1日加入主校区工会！"
            )
            await shot(page, "template-preview")
            await page.click("#save-btn")
            await expect(page.locator(".notice-ok")).to_contain_text("已保存本校区的通知文字")
            overrides = page.locator("table[aria-labelledby=overrides]")
            await expect(overrides).to_contain_text("加入主校区工会")
            await expect(overrides).to_contain_text("admin-desk")

            await overrides.get_by_role("button", name="恢复默认").click()
            await expect(page.locator(".notice-ok")).to_contain_text("已恢复默认文字")
            await expect(overrides).to_contain_text("各校区都使用默认文字")
            await context.close()
        finally:
            await browser.close()
