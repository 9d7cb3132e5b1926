"""Members' voice in a real browser (Playwright driving Debian's Chromium) against the real
services as processes: a member votes in a 师德标兵 campaign on a 375 px phone, and a
representative drafts a proposal there; a cadre reads the campaign on the desk and imports
the congress session's representatives from the members' congress terms.

Its own small platform (members, events, notify, web) and people, so it runs alone:
`.venv/bin/python -m pytest tests/e2e/test_web_congress.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from shared.timeutil import SHANGHAI, utcnow
from tests.e2e.browser import (
    DESK,
    FLAGS,
    PHONE,
    axe_violations,
    chromium_or_skip,
    horizontal_overflow,
    shot,
    sign_in,
)
from tests.e2e.conftest import Platform, bearer
from tests.e2e.people import member_who_signs_in
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.e2e

SERVICES = ("members", "events", "notify", "web")
PASSWORD = "wo-de-mima-7"
ADMIN = bearer("e2e-admin", ["admin"], ["*"])
TERM_2025_27 = {"term": "第五届", "start_year": 2025, "years": 3}


@dataclass
class Site:
    platform: Platform
    browser: Browser
    people: dict[str, tuple[str, str]]  # key -> (member id, staff no)
    campaign: str
    session: str

    async def context(self, viewport: ViewportSize = PHONE) -> BrowserContext:
        context = await self.browser.new_context(
            viewport=viewport,
            base_url=self.platform.url("web"),
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(20_000)
        return context

    async def login(self, context: BrowserContext, who: str) -> Page:
        page = await context.new_page()
        await sign_in(page, self.people[who][1], PASSWORD, "/m")
        return page


async def _ok(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


async def seed(platform: Platform) -> tuple[dict[str, tuple[str, str]], str, str]:
    tag = uuid.uuid4().hex[:5].upper()
    names = {"voter": "李梅", "cadre": "王芳", "c1": "陈静", "c2": "周强", "c3": "吴敏"}
    members, events = platform.url("members"), platform.url("events")
    people: dict[str, tuple[str, str]] = {}
    async with httpx.AsyncClient(timeout=20) as client:
        for i, (key, name) in enumerate(names.items()):
            staff_no = f"V{tag}{i}"
            body = {
                "staff_no": staff_no,
                "name": name,
                "email": f"{staff_no.lower()}@school.local",
                "roles": ["group_leader"] if key == "cadre" else [],
                # 周强's representative term covers the session's 2026: the one to import
                "congress_terms": [TERM_2025_27] if key == "c2" else [],
            }
            made = await member_who_signs_in(client, members, PASSWORD, **body)
            people[key] = (made, staff_no)
        cadre = bearer(people["cadre"][0], ["cadre"], ["main"])
        campaign = await _ok(
            await client.post(
                f"{events}/commendations",
                headers=cadre,
                json={
                    "title": "2026 年度师德标兵评选",
                    "year": 2026,
                    "campus": "main",
                    "categories": [
                        {
                            "name": "师德标兵",
                            "kind": "teacher_ethics",
                            "quotas": [{"campus": "main", "count": 2}],
                            "votes_per_voter": 2,
                        }
                    ],
                },
            )
        )
        cid = campaign["id"]

        async def nominate(key: str) -> bool:
            body = {"category_id": "c1", "member_id": people[key][0], "reasons": "爱岗敬业"}
            r = await client.post(
                f"{events}/commendations/{cid}/nominations", json=body, headers=cadre
            )
            return r.status_code == 201

        for key in ("c1", "c2", "c3"):  # events learns members from Kafka: wait for each
            await wait_until(partial(nominate, key), 60, "the member in events")
        for key in ("c1", "c2", "c3"):
            nid = f"{cid}-c1-{people[key][0]}"
            await _ok(
                await client.post(
                    f"{events}/commendations/{cid}/nominations/{nid}/review",
                    json={"decision": "shortlisted"},
                    headers=cadre,
                )
            )
        await _ok(
            await client.post(
                f"{events}/commendations/{cid}/phase", json={"to": "reviewing"}, headers=cadre
            )
        )
        closes = (utcnow() + timedelta(days=3)).astimezone(SHANGHAI).isoformat(timespec="minutes")
        await _ok(
            await client.post(
                f"{events}/commendations/{cid}/phase",
                json={"to": "voting", "voting_closes_at": closes},
                headers=cadre,
            )
        )
        session = await _ok(
            await client.post(
                f"{events}/congress/sessions",
                headers=cadre,
                json={
                    "title": "第五届教代会第三次会议",
                    "year": 2026,
                    "campus": "main",
                    "cosign_min": 1,
                    "proposals_until": closes,
                },
            )
        )
        reps = {"member_ids": [people["voter"][0], people["c1"][0]]}
        await _ok(
            await client.post(
                f"{events}/congress/sessions/{session['id']}/representatives",
                json=reps,
                headers=cadre,
            )
        )

        async def listed() -> bool:
            found = await client.get(f"{events}/commendations/{cid}", headers=cadre)
            return len(found.json()["candidates"]) == 3

        await wait_until(listed, 30, "the candidates in the view")
    return people, cid, session["id"]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(infra, tmp_path_factory) -> AsyncIterator[Site]:
    from playwright.async_api import async_playwright

    executable = chromium_or_skip()
    platform = Platform(infra, tmp_path_factory.mktemp("voice"), services=SERVICES)
    async with platform.running():
        people, campaign, session = await seed(platform)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=FLAGS)
            try:
                yield Site(platform, browser, people, campaign, session)
            finally:
                await browser.close()


async def test_a_member_votes_on_a_375_px_phone(site: Site):
    context = await site.context(PHONE)
    page = await site.login(context, "voter")
    await page.click("text=评选投票与教代会提案")
    await page.click("text=2026 年度师德标兵评选")
    await expect(page.locator("h1")).to_contain_text("师德标兵评选")
    await expect(page.locator("#main")).to_contain_text("我已投 0 / 2 票")
    assert await horizontal_overflow(page) <= 0
    assert not await axe_violations(page)
    await page.check("label:has-text('陈静') input")
    await page.check("label:has-text('吴敏') input")
    await shot(page, "voice-member-ballot")
    await page.click("button:has-text('投票')")
    await expect(page.locator(".notice-ok")).to_contain_text("投票成功")
    await expect(page.locator("#main")).to_contain_text("我已投 2 / 2 票")
    await expect(page.locator("#main")).to_contain_text("您在本类别的票已投完")
    assert await horizontal_overflow(page) <= 0
    await shot(page, "voice-member-voted")
    await context.close()

    async with httpx.AsyncClient(timeout=20) as client:
        found = await _ok(
            await client.get(
                f"{site.platform.url('events')}/commendations/{site.campaign}", headers=ADMIN
            )
        )
    votes = {c["name"]: c["votes"] for c in found["candidates"]}
    assert votes == {"陈静": 1, "周强": 0, "吴敏": 1}


async def test_a_representative_drafts_a_proposal_on_the_phone(site: Site):
    context = await site.context(PHONE)
    page = await site.login(context, "voter")
    await page.goto(f"/m/congress/{site.session}")
    await page.click("summary:has-text('起草新提案')")
    await page.fill("#title", "关于改善教工食堂午餐质量的提案")
    await page.fill("#reasons", "午餐品种单一")
    await page.fill("#measures", "每月公示菜单")
    await page.fill("#department", "后勤处")
    await page.click("button:has-text('保存草稿')")
    await expect(page.locator(".notice-ok")).to_contain_text("提案草稿已保存")
    await expect(page.locator("#need")).to_contain_text("还需 1 位代表附议")
    assert await horizontal_overflow(page) <= 0
    assert not await axe_violations(page)
    await shot(page, "voice-member-proposal")
    await context.close()


async def test_a_cadre_reads_the_campaign_on_the_desk(site: Site):
    context = await site.context(DESK)
    page = await site.login(context, "cadre")
    await page.goto(f"/admin/commendations/{site.campaign}")
    await expect(page.locator("h1")).to_contain_text("师德标兵评选")
    await expect(page.locator("table")).to_contain_text("陈静")
    await shot(page, "voice-desk-campaign")
    await page.goto(f"/admin/congress/{site.session}")
    await expect(page.locator("h1")).to_contain_text("教代会")
    await page.click("button:has-text('从代表任期导入')")
    await expect(page.locator(".notice-ok")).to_contain_text("新增 1 位代表，0 位此前已登记")
    await expect(page.locator("#main")).to_contain_text("代表（3）")
    await expect(page.locator("#main")).to_contain_text("周强（")
    await context.close()
