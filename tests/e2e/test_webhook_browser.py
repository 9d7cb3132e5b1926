"""An admin registers a webhook subscription in Chromium and sees its delivery in the log.

Members, notify (local receivers allowed, as on a developer's machine) and web as processes on
the real broker and database; a local HTTP receiver started here; the event put on Kafka as
welfare publishes it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

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
from tests.e2e.conftest import Platform
from tests.integration.test_webhooks import LOCAL, threshold_event, verify
from tests.integration.webhook_receiver import Receiver
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.e2e


class LocalHooksPlatform(Platform):
    """The usual isolated platform, with notify allowed to post to a loopback receiver."""

    def settings(self, name: str):
        if name == "web":  # no events service here
            urls = {f"{n}_url": self.url(n) for n in ("members", "notify")}
            return WebSettings.isolated(
                self.prefix, self.infra.kafka_bootstrap, self.infra.mongo_url, **urls
            )
        settings = super().settings(name)
        if name == "notify":
            return settings.model_copy(update=LOCAL)
        return settings


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(infra, tmp_path_factory) -> AsyncIterator[Platform]:
    chromium_or_skip()
    p = LocalHooksPlatform(
        infra, tmp_path_factory.mktemp("webhooks"), services=("members", "notify", "web")
    )
    async with p.running():
        yield p


async def admin_session(platform: Platform) -> str:
    """A signed-in admin's session, made as sign-in makes one."""
    mongo: AsyncMongoClient = AsyncMongoClient(platform.infra.mongo_url, tz_aware=True)
    try:
        sessions = Sessions(mongo[platform.db("web")], 3600, Sealer.from_file(DEV_WEB_KEY))
        session = sessions.new(
            member_id="admin-browser",
            roles=["admin"],
            campuses=["*"],
            access_token=mint_token("admin-browser", ["admin"], ["*"]),
            access_expires_at=utcnow() + timedelta(hours=1),
        )
        return await sessions.create(session)
    finally:
        await mongo.close()


async def test_an_admin_registers_a_webhook_and_sees_its_delivery(platform: Platform):
    receiver = Receiver().start()
    web = platform.url("web")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_or_skip(), args=FLAGS)
        try:
            context = await browser.new_context(
                viewport=DESK, base_url=web, locale="zh-CN", timezone_id="Asia/Shanghai"
            )
            context.set_default_timeout(20_000)
            await context.add_cookies(
                [{"name": "gh_session", "value": await admin_session(platform), "url": web}]
            )
            page = await context.new_page()
            await page.goto("/admin/webhooks")
            await expect(page.locator("h1")).to_contain_text("Webhook 订阅")
            assert await axe_violations(page) == []

            await page.fill("input[name=description]", "浏览器测试")
            await page.fill("input[name=url]", f"{receiver.base}/browser")
            await page.check("input[name=types][value='welfare.budget.']")
            await page.click("form[action='/admin/webhooks'] button[type=submit]")
            await expect(page.locator("h1")).to_have_text("订阅已创建")
            secret = await page.locator("#secret").input_value()
            assert secret.startswith("whsec_")
            await shot(page, "webhook-secret-once")
            await page.click("text=已保存，查看订阅")
            await expect(page.locator("#status")).to_contain_text("启用中")
            [sub_id] = re.findall(r"/admin/webhooks/(wh-[0-9a-f]{12})", page.url)

            async def listed() -> bool:
                await page.goto("/admin/webhooks")
                return sub_id in await page.content()

            await wait_until(listed, 20, "the subscription in the list")
            envelope = threshold_event("spend_browser")
            await _publish(platform, envelope)

            async def delivered() -> bool:
                await page.goto(f"/admin/webhooks/{sub_id}")
                return "已送达" in await page.locator("table[aria-label='投递']").inner_text()

            await wait_until(delivered, 30, "the delivery on the page")
            log = page.locator("table[aria-label='投递日志']")
            await expect(log).to_contain_text("成功")
            await expect(log).to_contain_text("204")
            assert secret not in await page.content()
            await shot(page, "webhook-delivery-log")
            [got] = receiver.on("/browser")
            assert verify(secret, got.headers, got.body)
            await context.close()
        finally:
            await browser.close()
            receiver.stop()


async def _publish(platform: Platform, envelope) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=platform.infra.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            f"{platform.prefix}welfare.budget",
            envelope.to_json_bytes(),
            key=envelope.kafka_key.encode(),
        )
    finally:
        await producer.stop()
