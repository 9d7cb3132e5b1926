"""Members' voice in a real browser (Playwright driving Debian's Chromium) against the real
services as processes: a member votes in a 师德标兵 campaign on a 375 px phone, and a
representative drafts a proposal there; a cadre reads the campaign on the desk and imports
the congress session's representatives from the members' congress terms, closes the vote
into the 公示 and prints the recommendation form, and, as the proposal committee, accepts
(立案) a proposal, assigns it to a department and records the reply its proposer then reads.

Its own small platform (members, events, notify, web) and people, so it runs alone:
`.venv/bin/python -m pytest tests/e2e/test_web_congress.py`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Locator, Page, ViewportSize, expect

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
SESSION_TITLE = "第五届教代会第三次会议"


@dataclass
class Site:
    platform: Platform
    browser: Browser
    people: dict[str, tuple[str, str]]  # key -> (member id, staff no)
    campaign: str
    session: str
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> its cookies

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
        """Signed in through the form the first time; later, still signed in, as a person who
        comes back is (a sign-in costs seconds of a loaded machine)."""
        page = await context.new_page()
        if who in self.cookies:
            web = self.platform.url("web")
            cookies = self.cookies[who].items()
            await context.add_cookies([{"name": n, "value": v, "url": web} for n, v in cookies])
            await page.goto("/m")
        else:
            await sign_in(page, self.people[who][1], PASSWORD, "/m")
            self.cookies[who] = {c["name"]: c["value"] for c in await context.cookies()}
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
                    "title": SESSION_TITLE,
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


async def test_a_cadre_closes_the_vote_and_prints_the_recommendation_form(site: Site):
    today = utcnow().astimezone(SHANGHAI).date()
    until = today + timedelta(days=5)
    context = await site.context(DESK)
    page = await site.login(context, "cadre")
    await page.goto(f"/admin/commendations/{site.campaign}")
    await expect(page.locator("h1 .badge")).to_have_text("投票")
    await page.select_option("select[name=to]", label="截止投票并公示")
    await page.fill("input[name=publicity_from]", today.isoformat())
    await page.fill("input[name=publicity_until]", until.isoformat())
    await page.click("button:has-text('确定')")
    await expect(page.locator("h1 .badge")).to_have_text("公示")
    await page.reload()  # the phase, the dates and the list are the service's, not the form's
    await expect(page.locator("h1 .badge")).to_have_text("公示")
    await expect(page.locator("#main")).to_contain_text(f"公示 {today} 至 {until}")
    listed = page.locator("h2:has-text('公示名单') + ul li")
    await expect(listed).to_have_count(2)  # 2 places: 陈静 and 吴敏 (1 vote each), not 周强 (0)
    await expect(listed.filter(has_text="陈静")).to_contain_text("1 票")
    await expect(listed.filter(has_text="吴敏")).to_contain_text("1 票")
    await expect(page.locator("svg[aria-label='1 票']")).to_have_count(2)
    await shot(page, "voice-desk-publicity")

    await page.click("a:has-text('打印推荐审批表')")
    await expect(page.locator("h1")).to_contain_text("推荐审批表")
    forms = page.locator("table.print-form")
    await expect(forms).to_have_count(2)
    await expect(forms.filter(has_text="陈静")).to_contain_text("师德标兵")
    await expect(forms.filter(has_text="吴敏")).to_contain_text("爱岗敬业")
    assert "周强" not in await page.locator("#main").inner_text()
    await shot(page, "voice-desk-print")
    await context.close()


async def submitted_proposal(site: Site) -> str:
    """陈静's proposal, co-signed by 李梅, submitted and endorsed by 李梅 as the head of the
    main delegation: waiting for the proposal committee. Its id."""
    events = site.platform.url("events")
    as_c1 = bearer(site.people["c1"][0], ["member"], ["main"])
    as_voter = bearer(site.people["voter"][0], ["member"], ["main"])
    cadre = bearer(site.people["cadre"][0], ["cadre"], ["main"])
    voter = site.people["voter"][0]
    async with httpx.AsyncClient(timeout=20) as client:
        await _ok(
            await client.post(
                f"{events}/congress/sessions/{site.session}/representatives",
                json={"member_ids": [voter], "head": voter},
                headers=cadre,
            )
        )
        body = {
            "title": "关于延长图书馆开放时间的提案",
            "reasons": "晚间备课查资料不便",
            "measures": "工作日开放至 21:30",
            "department": "图书馆",
        }
        made = await _ok(
            await client.post(
                f"{events}/congress/sessions/{site.session}/proposals", json=body, headers=as_c1
            )
        )
        url = f"{events}/congress/proposals/{made['id']}"
        await _ok(await client.post(f"{url}/cosign", headers=as_voter))
        await _ok(await client.post(f"{url}/submit", headers=as_c1))
        endorsed = await _ok(await client.post(f"{url}/endorse", headers=as_voter))
    assert endorsed["status"] == "endorsed", endorsed
    return made["id"]


async def reload_until_shown(page: Page, where: Locator, text: str) -> None:
    """Reload, as a person would, until `where` shows `text`: a register is a list view,
    which has a change made elsewhere within a second or so."""

    async def shown() -> bool:
        if text in " ".join(await where.all_inner_texts()):
            return True
        await page.reload()
        return False

    await wait_until(shown, 20, f"{text!r} on {page.url}")


async def test_the_proposal_committee_accepts_assigns_and_records_the_reply(site: Site):
    proposal = await submitted_proposal(site)
    due = utcnow().astimezone(SHANGHAI).date() + timedelta(days=14)
    context = await site.context(DESK)
    page = await site.login(context, "cadre")
    await page.goto(f"/admin/congress/{site.session}")
    row = page.locator(f"#p-{proposal}")
    await reload_until_shown(page, row.locator(".badge"), "代表团已审核")
    await expect(row).to_contain_text("李梅")  # the co-signer
    await row.locator("select[name=decision]").select_option(label="立案")
    await row.locator("button:has-text('提交审查意见')").click()
    await expect(row.locator(".badge")).to_have_text("已立案")
    assert not await axe_violations(page)
    await expect(row.locator("input[name=department]")).to_have_value("图书馆")
    await row.locator("input[name=department]").fill("图书馆与信息中心")
    await row.locator("input[name=due_on]").fill(due.isoformat())
    await row.locator("button:has-text('交办')").click()
    await expect(row.locator(".badge")).to_have_text("已交办")
    await expect(row).to_contain_text("图书馆与信息中心")
    await expect(row.locator(".muted", has_text="前")).to_have_text(f"{due} 前")

    await page.click("a:has-text('承办部门答复')")
    await page.wait_for_url(f"**/admin/congress/{site.session}/replies")
    card = page.locator(f"section#p-{proposal}")
    await reload_until_shown(page, card, "图书馆与信息中心")
    await expect(card).to_contain_text(f"图书馆与信息中心 · {due} 前答复")
    await card.locator("textarea[name=text]").fill("自下学期起工作日开放至 21:30")
    await card.locator("button:has-text('提交答复')").click()
    await page.wait_for_url(re.compile(rf"/replies\?changed={proposal}"))
    await expect(page.locator(f"section#p-{proposal}")).to_have_count(0)
    answered = page.locator("h2:has-text('已答复') + ul li", has_text="关于延长图书馆开放时间")
    await expect(answered.locator(".badge")).to_have_text("已答复")
    await page.click(f"a:has-text('{SESSION_TITLE}')")
    await page.wait_for_url(f"**/admin/congress/{site.session}")
    await reload_until_shown(page, row.locator(".badge"), "已答复")
    await expect(row.locator("form")).to_have_count(0)  # nothing left for the committee
    await shot(page, "voice-desk-proposal-replied")
    await context.close()

    phone = await site.context(PHONE)
    mine = await site.login(phone, "c1")
    await mine.goto(f"/m/proposals/{proposal}")
    await expect(mine.locator("h1 + p .badge")).to_have_text("已答复")
    reply = mine.locator("section.card", has_text="承办部门答复")
    await expect(reply).to_contain_text("自下学期起工作日开放至 21:30")
    await expect(mine.locator("legend")).to_have_text("对答复的评价")
    assert await horizontal_overflow(mine) <= 0
    await phone.close()
