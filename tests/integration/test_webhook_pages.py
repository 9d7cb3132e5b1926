"""The admin's webhook pages through web, on the real notify, to a local receiver: register a
subscription (its secret shown once), an event arrives, and its delivery shows in the log."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from services.web.bootstrap import bootstrap as web_bootstrap
from services.web.settings import WebSettings
from shared.auth import mint_token
from shared.timeutil import utcnow
from tests.integration.conftest import Stack, build_stack, close_stack
from tests.integration.test_webhooks import LOCAL, publish, threshold_event, verify
from tests.integration.webhook_receiver import Receiver
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration


@dataclass
class Site:
    stack: Stack
    app: object
    web: httpx.AsyncClient
    csrf: str


@pytest.fixture(scope="module")
async def site(infra) -> AsyncIterator[Site]:
    stack = await build_stack(infra, ["members", "notify"], settings={"notify": LOCAL})
    names = ("members", "notify")
    urls = {f"{n}_url": f"http://{n}" for n in names}
    settings = WebSettings.isolated(stack.prefix, infra.kafka_bootstrap, infra.mongo_url, **urls)
    transports = {n: httpx.ASGITransport(app=stack.runtimes[n].app) for n in names}
    app = web_bootstrap(settings, configure_logs=False, transports=transports)
    admin = f"admin-pages-{uuid.uuid4().hex[:6]}"
    sessions = app.state.web.sessions
    session = sessions.new(
        member_id=admin,
        roles=["admin"],
        campuses=["*"],
        access_token=mint_token(admin, ["admin"], ["*"]),
        access_expires_at=utcnow() + timedelta(hours=1),
    )
    web = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web")
    web.cookies.set("gh_session", await sessions.create(session))
    try:
        yield Site(stack, app, web, session.csrf)
    finally:
        await web.aclose()
        await close_stack(stack)


async def test_an_admin_registers_a_subscription_and_sees_its_delivery(site: Site):
    receiver = Receiver().start()
    try:
        page = await site.web.get("/admin/webhooks")
        assert page.status_code == 200 and "新建订阅" in page.text
        assert 'value="welfare.budget.threshold_reached.v1"' in page.text

        form = {
            "csrf": site.csrf,
            "description": "页面测试",
            "url": f"{receiver.base}/page",
            "campus": "*",
            "types": ["welfare.budget."],
        }
        created = await site.web.post("/admin/webhooks", data=form)
        assert created.status_code == 200, created.text
        [secret] = re.findall(r'value="(whsec_[^"]+)"', created.text)
        assert "只显示这一次" in created.text
        [sub_id] = set(re.findall(r"/admin/webhooks/(wh-[0-9a-f]{12})", created.text))

        detail = await site.web.get(f"/admin/webhooks/{sub_id}")
        assert detail.status_code == 200 and "启用中" in detail.text
        assert secret not in detail.text

        async def listed() -> bool:
            return sub_id in (await site.web.get("/admin/webhooks")).text

        await wait_until(listed, 15, "the subscription in the list")
        envelope = threshold_event("spend_pages")
        await publish(site.stack, envelope)

        async def logged() -> bool:
            text = (await site.web.get(f"/admin/webhooks/{sub_id}")).text
            return "已送达" in text and "成功" in text

        await wait_until(logged, 20, "the delivery in the log")
        [got] = receiver.on("/page")
        assert verify(secret, got.headers, got.body)
        text = (await site.web.get(f"/admin/webhooks/{sub_id}")).text
        assert envelope.id in text and "204" in text
        assert secret not in text

        paused = await site.web.post(f"/admin/webhooks/{sub_id}/pause", data={"csrf": site.csrf})
        assert paused.status_code == 303
        assert "已暂停" in (await site.web.get(f"/admin/webhooks/{sub_id}")).text
        rotated = await site.web.post(f"/admin/webhooks/{sub_id}/secret", data={"csrf": site.csrf})
        [new] = re.findall(r'value="(whsec_[^"]+)"', rotated.text)
        assert new != secret and "旧密钥已失效" in rotated.text
    finally:
        receiver.stop()


async def test_a_private_address_is_refused_on_the_form_in_words(infra):
    stack = await build_stack(infra, ["notify"])  # production rules
    try:
        settings = WebSettings.isolated(
            stack.prefix, infra.kafka_bootstrap, infra.mongo_url, notify_url="http://notify"
        )
        transports = {"notify": httpx.ASGITransport(app=stack.notify.app)}
        app = web_bootstrap(settings, configure_logs=False, transports=transports)
        sessions = app.state.web.sessions
        session = sessions.new(
            member_id="admin-x",
            roles=["admin"],
            campuses=["*"],
            access_token=mint_token("admin-x", ["admin"], ["*"]),
            access_expires_at=utcnow() + timedelta(hours=1),
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://web"
        ) as web:
            web.cookies.set("gh_session", await sessions.create(session))
            form = {
                "csrf": session.csrf,
                "url": "https://192.168.10.20/in",
                "campus": "*",
                "types": ["welfare."],
            }
            refused = await web.post("/admin/webhooks", data=form)
        assert refused.status_code == 422
        assert "内网" in refused.text and "192.168.10.20" in refused.text
        assert "whsec_" not in refused.text
    finally:
        await close_stack(stack)
