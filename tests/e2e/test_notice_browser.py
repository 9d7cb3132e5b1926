"""A cadre posts a mandatory notice (通知公告) in Chromium, previewed first, and watches its
read count change as a member opens it on a phone (375 px); then a notice to one department
(a segment) reaches its member's inbox and not the other's, and its counts are the segment's.

Members, notify and web as processes on the real broker and database; the members made over
the members API (notify learns them from Kafka); the sessions made as sign-in makes them.
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
from tests.e2e.browser import (
    DESK,
    FLAGS,
    PHONE,
    axe_violations,
    chromium_or_skip,
    horizontal_overflow,
    shot,
)
from tests.e2e.conftest import Platform, bearer
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.e2e

CADRE = "cadre-notices"


class NoticePlatform(Platform):
    def settings(self, name: str):
        if name == "web":  # no events service here
            urls = {f"{n}_url": self.url(n) for n in ("members", "notify")}
            return WebSettings.isolated(
                self.prefix, self.infra.kafka_bootstrap, self.infra.mongo_url, **urls
            )
        return super().settings(name)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(infra, tmp_path_factory) -> AsyncIterator[Platform]:
    chromium_or_skip()
    p = NoticePlatform(
        infra, tmp_path_factory.mktemp("notices"), services=("members", "notify", "web")
    )
    async with p.running():
        yield p


async def session_of(platform: Platform, subject: str, roles: list[str]) -> str:
    mongo: AsyncMongoClient = AsyncMongoClient(platform.infra.mongo_url, tz_aware=True)
    try:
        sessions = Sessions(mongo[platform.db("web")], 3600, Sealer.from_file(DEV_WEB_KEY))
        session = sessions.new(
            member_id=subject,
            roles=roles,
            campuses=["main"],
            access_token=mint_token(subject, roles, ["main"]),
            access_expires_at=utcnow() + timedelta(hours=1),
        )
        return await sessions.create(session)
    finally:
        await mongo.close()


async def two_members(platform: Platform) -> dict[str, str]:
    """李梅 (艺术系) and 张伟 (音乐系) of main, known to notify."""
    admin = bearer("e2e-admin", ["admin"], ["*"])
    tag = uuid.uuid4().hex[:5].upper()
    ids: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=20) as client:
        for i, (name, department, gender) in enumerate(
            [("李梅", "艺术系", "female"), ("张伟", "音乐系", "male")]
        ):
            r = await client.post(
                f"{platform.url('members')}/members",
                headers=admin,
                json={
                    "staff_no": f"N{tag}{i}",
                    "name": name,
                    "campus": "main",
                    "department": department,
                    "gender": gender,
                    "birth_date": "1985-05-01",
                },
            )
            assert r.status_code == 201, r.text
            ids[name] = r.json()["id"]
        cadre = bearer(CADRE, ["cadre"], ["main"])
        everyone = {"campus": "main", "title": "t", "body": "b"}

        async def known() -> bool:
            r = await client.post(
                f"{platform.url('notify')}/announcement-previews", json=everyone, headers=cadre
            )
            return r.status_code == 200 and r.json()["recipients"] == 2

        await wait_until(known, 60, "notify's member directory")
    return ids


async def test_a_cadre_watches_the_read_count_change_as_a_member_opens_the_notice(
    platform: Platform,
):
    ids = await two_members(platform)
    web = platform.url("web")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_or_skip(), args=FLAGS)
        try:
            desk = await browser.new_context(
                viewport=DESK, base_url=web, locale="zh-CN", timezone_id="Asia/Shanghai"
            )
            desk.set_default_timeout(20_000)
            cadre_session = await session_of(platform, CADRE, ["cadre", "member"])
            await desk.add_cookies([{"name": "gh_session", "value": cadre_session, "url": web}])
            page = await desk.new_page()
            await page.goto("/admin/notices")
            await expect(page.locator("h1")).to_have_text("通知公告")
            await page.fill("input[name=title]", "关于参加春季健步走的通知")
            await page.fill("textarea[name=body]", "请全体会员于周五下午四点到田径场集合。")
            await page.check("input[name=mandatory]")
            await page.click("#preview-btn")
            await expect(page.locator("#preview-title")).to_contain_text("关于参加春季健步走")
            await expect(page.locator("#preview-count")).to_have_text("2")
            await expect(page.locator("input[name=title]")).to_have_value(
                "关于参加春季健步走的通知"
            )
            assert await axe_violations(page) == []
            await shot(page, "notice-preview")
            await page.click("#post-btn")
            await expect(page.locator(".notice-ok")).to_contain_text("通知已发布")
            # The fan-out runs right after; the counts refresh on the page every few seconds.
            await expect(page.locator("#delivered-count")).to_have_text("2", timeout=30_000)
            await expect(page.locator("#read-count")).to_have_text("0")
            await expect(page.locator("#unread-list")).to_contain_text("李梅")
            await expect(page.locator("#unread-list")).to_contain_text("张伟")
            await expect(page.locator("#read-chart rect")).to_have_count(4)  # two departments
            assert await axe_violations(page) == []

            phone = await browser.new_context(
                viewport=PHONE, base_url=web, locale="zh-CN", timezone_id="Asia/Shanghai"
            )
            phone.set_default_timeout(20_000)
            member_session = await session_of(platform, ids["李梅"], ["member"])
            await phone.add_cookies([{"name": "gh_session", "value": member_session, "url": web}])
            m = await phone.new_page()
            await m.goto("/m/inbox")
            unread = m.locator("#unread")
            await expect(unread).to_contain_text("关于参加春季健步走的通知")
            await unread.locator("a.row-link", has_text="关于参加春季健步走").click()
            await expect(m.locator("h1")).to_have_text("关于参加春季健步走的通知")
            await expect(m.locator(".prewrap")).to_contain_text("田径场集合")
            assert await horizontal_overflow(m) <= 0
            await shot(m, "notice-member-phone")

            # The cadre's page, left open, shows her read without a reload.
            await expect(page.locator("#read-count")).to_have_text("1", timeout=20_000)
            await expect(page.locator("#unread-list")).not_to_contain_text("李梅")
            await expect(page.locator("#unread-list")).to_contain_text("张伟")
            await shot(page, "notice-read-statistics")

            # A notice to one department: 艺术系 (李梅) is in the segment, 音乐系 (张伟) is not.
            await page.goto("/admin/notices")
            await page.fill("input[name=title]", "艺术系教工座谈会通知")
            await page.fill("textarea[name=body]", "请艺术系教工周三下午到系会议室座谈。")
            await page.fill("input[name=departments]", "艺术系")
            await page.click("#preview-btn")
            await expect(page.locator("#preview")).to_contain_text("发送范围：部门：艺术系")
            await expect(page.locator("#preview-count")).to_have_text("1")
            await expect(page.locator("input[name=departments]")).to_have_value("艺术系")
            await page.click("#post-btn")
            await expect(page.locator(".notice-ok")).to_contain_text("通知已发布")
            await expect(page.locator("#main p.muted").first).to_contain_text("部门：艺术系")
            # Sent to its end (so who has not got it never will), to the segment alone.
            await expect(page.locator("#notice-state")).to_have_text("已送达", timeout=30_000)
            await expect(page.locator("#delivered-count")).to_have_text("1")
            await expect(page.locator("#read-count")).to_have_text("0")
            await expect(page.locator("#read-chart rect")).to_have_count(2)  # one department
            await expect(page.locator("#read-chart")).to_contain_text("艺术系")
            await expect(page.locator("#read-chart")).not_to_contain_text("音乐系")
            await expect(page.locator("#unread-list")).to_have_count(0)  # not mandatory

            await m.goto("/m/inbox")
            await expect(m.locator("#unread")).to_contain_text("艺术系教工座谈会通知")
            await m.locator("#unread a.row-link", has_text="艺术系教工座谈会").click()
            await expect(m.locator(".prewrap")).to_contain_text("系会议室座谈")
            outside = await browser.new_context(
                viewport=PHONE, base_url=web, locale="zh-CN", timezone_id="Asia/Shanghai"
            )
            outside.set_default_timeout(20_000)
            zhang_session = await session_of(platform, ids["张伟"], ["member"])
            await outside.add_cookies([{"name": "gh_session", "value": zhang_session, "url": web}])
            z = await outside.new_page()
            await z.goto("/m/inbox")
            await expect(z.locator("#unread")).to_contain_text("关于参加春季健步走的通知")
            await expect(z.locator("#main")).not_to_contain_text("艺术系教工座谈会")
            # 李梅 opened it: the segment's one reader, without a reload.
            await expect(page.locator("#read-count")).to_have_text("1", timeout=20_000)
            await expect(page.locator("#read-chart")).to_contain_text("1/1（100%）")
            await shot(page, "notice-segment-statistics")
            await outside.close()
            await phone.close()
            await desk.close()
        finally:
            await browser.close()
