"""Surveys and the suggestion box in a real browser (Playwright driving Debian's Chromium)
against the real services as processes: a member answers the summer survey on a 375 px phone
(and reads it in 长辈版: large text, large targets), writes an anonymous suggestion; a cadre
reads the results chart on the desk and replies; the member reads the reply."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from shared.timeutil import utcnow
from tests.e2e.browser import (
    DESK,
    FLAGS,
    PHONE,
    SMALL_TARGETS,
    SMALL_TEXT,
    axe_violations,
    chromium_or_skip,
    horizontal_overflow,
    shot,
    sign_in,
)
from tests.e2e.conftest import Platform, bearer
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.e2e

SERVICES = ("members", "events", "notify", "web")
INITIAL, CHOSEN = "Chushi-2026", "wo-de-mima-7"


@dataclass
class Site:
    platform: Platform
    browser: Browser
    staff: dict[str, str]  # who -> staff number
    survey: str

    async def login(self, who: str, viewport: Any = PHONE, next_url: str = "/m") -> Page:
        context: BrowserContext = await self.browser.new_context(
            viewport=viewport,
            base_url=self.platform.url("web"),
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(20_000)
        page = await context.new_page()
        await sign_in(page, self.staff[who], CHOSEN, next_url)
        return page


async def seed(platform: Platform) -> tuple[dict[str, str], str]:
    admin = bearer("e2e-admin", ["admin"], ["*"])
    tag = uuid.uuid4().hex[:5].upper()
    people = {"cadre": ("高萍", ["group_leader"]), "teacher": ("张颖", [])}
    staff: dict[str, str] = {}
    ids: dict[str, str] = {}
    members = platform.url("members")
    async with httpx.AsyncClient(timeout=20) as client:
        for i, (who, (name, roles)) in enumerate(people.items()):
            staff_no = f"V{tag}{i}"
            r = await client.post(
                f"{members}/members",
                headers=admin,
                json={
                    "staff_no": staff_no,
                    "name": name,
                    "campus": "main",
                    "department": "艺术系",
                    "gender": "female",
                    "birth_date": "1985-05-01",
                    "roles": roles,
                },
            )
            assert r.status_code == 201, r.text
            ids[who], staff[who] = r.json()["id"], staff_no
            r = await client.put(
                f"{members}/members/{ids[who]}/password", headers=admin, json={"password": INITIAL}
            )
            assert r.status_code == 200, r.text
            r = await client.post(
                f"{members}/auth/login", json={"staff_no": staff_no, "password": INITIAL}
            )
            token = r.json()["password_token"]
            r = await client.post(
                f"{members}/auth/password",
                headers={"Authorization": f"Bearer {token}"},
                json={"new_password": CHOSEN},
            )
            assert r.status_code == 200, r.text
        cadre = bearer(ids["cadre"], ["cadre"], ["main"])
        events = platform.url("events")
        body = {
            "title": "暑期教工活动意见征集",
            "campus": "main",
            "opens_at": (utcnow() - timedelta(minutes=5)).isoformat(),
            "closes_at": (utcnow() + timedelta(days=10)).isoformat(),
            "questions": [
                {"kind": "single", "title": "最想参加的活动", "options": ["疗休养", "读书会"]},
                {
                    "kind": "multiple",
                    "title": "方便的时间",
                    "options": ["7月上旬", "7月下旬", "8月"],
                    "max_choices": 2,
                },
                {"kind": "rating", "title": "去年活动满意度", "scale": 5},
                {"kind": "ranking", "title": "地点排序", "options": ["苏州", "杭州"]},
                {"kind": "text", "title": "其他建议", "required": False},
            ],
        }
        r = await client.post(f"{events}/surveys", headers=cadre, json=body)
        assert r.status_code == 201, r.text
        survey = r.json()["id"]
        r = await client.post(f"{events}/surveys/{survey}/publish", headers=cadre)
        assert r.status_code == 200, r.text

        as_teacher = bearer(ids["teacher"], ["member"], ["main"])

        async def known() -> bool:
            r = await client.get(f"{events}/me/surveys", headers=as_teacher)
            return r.status_code == 200 and any(
                m["survey"]["id"] == survey and m["not_asked"] is None for m in r.json()
            )

        await wait_until(known, 60, "events' member directory")
    return staff, survey


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(infra, tmp_path_factory) -> AsyncIterator[Site]:
    executable = chromium_or_skip()
    platform = Platform(infra, tmp_path_factory.mktemp("voice"), services=SERVICES)
    async with platform.running():
        staff, survey = await seed(platform)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=FLAGS)
            try:
                yield Site(platform, browser, staff, survey)
            finally:
                await browser.close()


async def test_a_member_answers_the_survey_on_a_phone(site: Site):
    page = await site.login("teacher")
    await page.goto("/m")
    await page.click("text=问卷与意见征集")
    await page.click("text=暑期教工活动意见征集")
    await expect(page.locator("h1")).to_have_text("暑期教工活动意见征集")
    assert await horizontal_overflow(page) <= 0
    assert not await axe_violations(page)
    await page.check("input[name=q1][value='1']")
    await page.check("input[name=q2][value='0']")
    await page.check("input[name=q2][value='1']")
    await page.check("input[name=q3][value='4']")
    await page.select_option("select[name=q4_0]", "2")
    await page.select_option("select[name=q4_1]", "1")
    await page.fill("textarea[name=q5]", "希望组织亲子活动")
    await shot(page, "voice-1-survey-phone")
    await page.click("button:has-text('提交')")
    await expect(page.locator(".notice-ok")).to_contain_text("已提交")
    await page.goto("/m/surveys")
    await expect(page.locator(".badge-mine")).to_contain_text("我已填写")
    # 长辈版: the same survey in large text, every control large enough for a finger.
    await page.click("button:has-text('长辈版')")
    await expect(page.locator("html")).to_have_class("large")
    await page.goto(f"/m/surveys/{site.survey}")
    assert not await page.evaluate(SMALL_TEXT)
    assert not await page.evaluate(SMALL_TARGETS)
    assert await horizontal_overflow(page) <= 0
    await shot(page, "voice-2-survey-large")
    await page.context.close()


async def test_the_activities_page_leads_to_the_calendar_feed(site: Site):
    page = await site.login("teacher")
    await page.goto("/m/activities")
    await page.click("text=订阅活动日历")
    await expect(page.locator("h1")).to_have_text("订阅活动日历")
    url = await page.locator(".copyable code").inner_text()
    assert "/calendar/main/" in url and url.endswith(".ics")
    assert (await page.get_attribute("a:has-text('在手机日历中订阅')", "href") or "").startswith(
        "webcal://"
    )
    assert await horizontal_overflow(page) <= 0
    await page.context.close()


async def test_a_cadre_reads_the_results_chart_and_answers_a_suggestion(site: Site):
    member = await site.login("teacher")
    await member.goto("/m/suggestions")
    await member.fill("#title", "读书会")
    await member.fill("#body", "希望每月一次读书会")
    await member.check("input[name=anonymous]")
    await member.click("button:has-text('提交')")
    await expect(member.locator(".notice-ok")).to_contain_text("已提交")

    desk = await site.login("cadre", DESK, next_url="/admin")
    await desk.goto(f"/admin/surveys/{site.survey}")
    chart = desk.locator("#result-q1 figure.chart")
    await expect(chart).to_be_visible()
    await expect(chart.locator("svg rect.bar")).to_have_count(2)
    await expect(chart).to_contain_text("1 人（100.0%）")
    await expect(desk.locator("#result-q3")).to_contain_text("平均分 4")
    await shot(desk, "voice-3-results-desk")
    await desk.goto("/admin/suggestions")
    card = desk.locator("li.card", has_text="希望每月一次读书会")
    await expect(card).to_contain_text("匿名")
    assert site.staff["teacher"] not in await card.inner_text()
    await card.locator("textarea[name=text]").fill("下月起每月第二周举办")
    await card.locator("button:has-text('发送答复')").click()
    await expect(desk.locator(".notice-ok")).to_contain_text("已答复")

    await member.goto("/m/suggestions")
    await expect(member.locator(".reply")).to_contain_text("下月起每月第二周举办")
    await member.context.close()
    await desk.context.close()
