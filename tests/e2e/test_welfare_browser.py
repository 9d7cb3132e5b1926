"""我的福利 in a real browser (Playwright driving Debian's Chromium) against the services as
processes, on the real Kafka and MongoDB-wire server: a member chooses a festival gift on a
375 px phone, and a cadre issues the department's gifts from the desk and opens the sign-off
sheet (签领单). Screenshots under test-output/web/ (and docs/guide/img/ with
GONGHUI_DOCS_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from playwright.async_api import Page, async_playwright, expect

from tests.e2e.browser import (
    DESK,
    FLAGS,
    PHONE,
    axe_violations,
    chromium_or_skip,
    horizontal_overflow,
    shot,
)
from tests.e2e.browser import (
    sign_in as submit_login,
)
from tests.e2e.conftest import Platform, bearer
from tests.e2e.people import member_who_signs_in
from tests.e2e.test_web_browser import GUIDE_IMG
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.e2e

SERVICES = ("members", "welfare", "web")
PASSWORD = "wo-de-mima-8"
ADMIN = bearer("e2e-admin", ["admin"], ["*"])


async def guide_shot(page: Page, name: str) -> None:
    path = await shot(page, name)
    if os.environ.get("GONGHUI_DOCS_SCREENSHOTS") == "1":
        GUIDE_IMG.mkdir(parents=True, exist_ok=True)
        Image.open(path).convert("RGB").quantize(256).save(GUIDE_IMG / f"{name}.png", optimize=True)


async def person(client: httpx.AsyncClient, members: str, name: str, roles: list[str]) -> dict:
    staff_no = f"F{uuid.uuid4().hex[:6].upper()}"
    body = {"staff_no": staff_no, "name": name, "gender": "female", "roles": roles}
    member_id = await member_who_signs_in(client, members, PASSWORD, **body)
    return {"id": member_id, "staff_no": staff_no, "name": name}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(infra, tmp_path_factory) -> AsyncIterator[dict]:
    executable = chromium_or_skip()
    platform = Platform(infra, tmp_path_factory.mktemp("welfare-web"), services=SERVICES)
    async with platform.running():
        welfare, members = platform.url("welfare"), platform.url("members")
        async with httpx.AsyncClient(timeout=20) as client:
            teacher = await person(client, members, "李梅", [])
            cadre = await person(client, members, "王芳", ["group_leader"])

            async def known() -> bool:
                r = await client.get(f"{welfare}/welfare/caps/{teacher['id']}/2026", headers=ADMIN)
                return r.status_code == 200

            await wait_until(known, 60, "welfare's member directory")
            year = datetime.now(UTC).year
            r = await client.post(
                f"{welfare}/funds/budgets/main/{year}",
                headers=ADMIN,
                json={"lines": {"spend_activity_festival": 10_000_000}, "note": "委员会批准"},
            )
            assert r.status_code == 201, r.text
            r = await client.post(
                f"{welfare}/welfare/plans",
                headers=ADMIN,
                json={
                    "title": "端午节福利",
                    "festival": "dragon_boat",
                    "year": year,
                    "campuses": ["main"],
                    "standard_fen": 20_000,
                    "options": [
                        {
                            "code": "zongzi",
                            "name": "粽子礼盒",
                            "price_fen": 20_000,
                            "form": "food",
                            "picture": "🍙",
                        },
                        {
                            "code": "tea",
                            "name": "碧螺春茶叶",
                            "price_fen": 18_000,
                            "form": "goods",
                            "picture": "🍵",
                        },
                    ],
                    "reference_date": (datetime.now(UTC) + timedelta(hours=8)).date().isoformat(),
                    "deadline": (datetime.now(UTC) + timedelta(days=5)).isoformat(),
                    "default_option": "zongzi",
                },
            )
            assert r.status_code == 201, r.text
            plan_id = r.json()["id"]
            for step in ("approval", "publication"):
                r = await client.post(f"{welfare}/welfare/plans/{plan_id}/{step}", headers=ADMIN)
                assert r.status_code == 200, r.text
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=FLAGS)
            try:
                yield {
                    "platform": platform,
                    "browser": browser,
                    "teacher": teacher,
                    "cadre": cadre,
                    "plan": plan_id,
                }
            finally:
                await browser.close()


async def sign_in(site: dict, who: str, viewport, next_url: str) -> Page:
    context = await site["browser"].new_context(
        viewport=viewport,
        base_url=site["platform"].url("web"),
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(20_000)
    page = await context.new_page()
    await submit_login(page, site[who]["staff_no"], PASSWORD, next_url)
    return page


async def test_a_member_chooses_a_gift_on_a_phone_and_the_cadre_issues_it(site: dict):
    page = await sign_in(site, "teacher", PHONE, "/m/welfare")
    await expect(page.locator("h1")).to_contain_text("我的福利")
    await expect(page.locator(".gift-tile")).to_have_count(2)
    await expect(page.locator(".gift-tile").nth(1)).to_contain_text("碧螺春茶叶")
    await expect(page.locator(".gift-tile").nth(1)).to_contain_text("180.00 元")
    assert await horizontal_overflow(page) == 0
    await guide_shot(page, "member-welfare")
    await page.click("text=碧螺春茶叶")
    await page.click("button:has-text('确认选择')")
    await expect(page.locator(".notice-ok")).to_contain_text("礼品已选择")
    await expect(page.locator("#main")).to_contain_text("已选择：碧螺春茶叶")
    assert await page.locator("input[value=tea]").is_checked()
    assert not await axe_violations(page)
    await guide_shot(page, "member-welfare-chosen")

    # The cadre's desk: the department's gifts issued, the sign-off sheet printed.
    desk = await sign_in(site, "cadre", DESK, f"/admin/welfare/{site['plan']}")
    await expect(desk.locator("h1")).to_contain_text("端午节福利")

    async def chosen_listed() -> bool:
        await desk.reload()
        return (
            "发放本部门" in await desk.content()
            and await desk.locator("td", has_text=re.compile("^1$")).count() > 0
        )

    await wait_until(chosen_listed, 30, "the choice on the desk")
    await desk.click("button:has-text('发放本部门')")
    await expect(desk.locator(".notice-ok")).to_contain_text("本批发放 1 份")
    await guide_shot(desk, "cadre-welfare-plan")
    await desk.click("a:has-text('签领单')")
    await expect(desk.locator("h1")).to_contain_text("签领单")
    await expect(desk.locator("table")).to_contain_text("李梅")
    await expect(desk.locator("table")).to_contain_text("碧螺春茶叶")
    await guide_shot(desk, "cadre-welfare-signoff")

    # Back on the phone: the gift waits for her receipt.
    await page.goto("/m/welfare")
    await page.click("button:has-text('确认签收')")
    await expect(page.locator(".notice-ok")).to_contain_text("已确认签收")
    await expect(page.locator("#main")).to_contain_text("合计 180.00 元")
