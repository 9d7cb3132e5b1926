"""The funds and dues pages in a real browser (Playwright driving Debian's Chromium) against
the real services as processes, on the real Kafka and MongoDB-wire server.

One platform for the module (members, events, welfare, notify and web) and one browser. The
chair has adopted this year's budget and finance has billed this month's dues (over the
APIs); then, in file order: finance records a member's dues payment and sees it arrive in
the ledger as income (members → Kafka → welfare), records a payment and reverses it; the
auditor reads the same pages with no button that changes anything and reads the check's
answer; a member reads 经费公开 and their paid dues on a 375 px phone. Screenshots go to
test-output/web/; the guide's (docs/guide/) are also copied into docs/guide/img/ when
GONGHUI_DOCS_SCREENSHOTS=1.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from shared.timeutil import local_today
from tests.e2e.browser import DESK, FLAGS, PHONE, chromium_or_skip, horizontal_overflow, sign_in
from tests.e2e.conftest import Platform, bearer
from tests.e2e.test_web_browser import guide_shot
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.e2e

SERVICES = ("members", "events", "welfare", "notify", "web")
INITIAL = "Chushi-2026"
CHOSEN = "wo-de-mima-7"
YEAR = local_today().year
MONTH = local_today().isoformat()[:7]


@dataclass
class Person:
    id: str
    staff_no: str
    name: str


@dataclass
class Site:
    platform: Platform
    browser: Browser
    people: dict[str, Person]
    csp_refusals: list[str]

    async def context(self, viewport: Any = DESK) -> BrowserContext:
        context = await self.browser.new_context(
            viewport=viewport,
            base_url=self.platform.url("web"),
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(20_000)

        def watch(page: Page) -> None:
            page.on(
                "console",
                lambda m: (
                    self.csp_refusals.append(m.text)
                    if "Content Security Policy" in m.text
                    else None
                ),
            )

        context.on("page", watch)
        return context

    async def login(self, context: BrowserContext, who: str, next_url: str) -> Page:
        page = await context.new_page()
        await sign_in(page, self.people[who].staff_no, CHOSEN, next_url)
        return page


async def seed(platform: Platform) -> dict[str, Person]:
    """Finance, an auditor and a member with a salary base (so billed), the budget adopted
    by the chair and this month's dues billed by finance, over the APIs."""
    admin = bearer("e2e-admin", ["admin"], ["*"])
    tag = uuid.uuid4().hex[:5].upper()
    plan = {
        "finance": ("赵会计", ["finance"], None),
        "auditor": ("孙审计", ["auditor"], None),
        "member": ("周老师", [], 800_000),
    }
    people: dict[str, Person] = {}
    members = platform.url("members")
    async with httpx.AsyncClient(timeout=20) as client:
        for i, (key, (name, roles, salary)) in enumerate(plan.items()):
            staff_no = f"F{tag}{i}"
            body: dict[str, Any] = {
                "staff_no": staff_no,
                "name": name,
                "campus": "main",
                "department": "艺术系",
                "gender": "female",
                "birth_date": "1984-03-01",
                "email": f"{staff_no.lower()}@school.local",
                "roles": roles,
            }
            if salary:
                body["salary_base_fen"] = salary
            r = await client.post(f"{members}/members", headers=admin, json=body)
            assert r.status_code == 201, r.text
            people[key] = Person(r.json()["id"], staff_no, name)
            r = await client.put(
                f"{members}/members/{people[key].id}/password",
                headers=admin,
                json={"password": INITIAL},
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

        budget = {
            "lines": {
                "spend_activity_festival": 5_000_000,
                "spend_activity_culture_sports": 3_000_000,
                "spend_rights_hardship": 1_000_000,
            },
            "note": "教代会暨工会委员会批准",
        }
        r = await client.post(
            f"{platform.url('welfare')}/funds/budgets/main/{YEAR}", headers=admin, json=budget
        )
        assert r.status_code == 201, r.text
        finance = bearer(people["finance"].id, ["finance"], ["main"])

        async def billed() -> bool:  # the member list catches up with the new member first
            r = await client.post(
                f"{members}/dues/bills/generate", headers=finance, json={"month": MONTH}
            )
            assert r.status_code == 200, r.text
            return r.json()["billed"] + r.json()["already"] >= 1

        await wait_until(billed, 60, "this month's bill of the new member")
    return people


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(infra, tmp_path_factory) -> AsyncIterator[Site]:
    executable = chromium_or_skip()
    platform = Platform(infra, tmp_path_factory.mktemp("funds"), services=SERVICES)
    async with platform.running():
        people = await seed(platform)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=FLAGS)
            try:
                yield Site(platform, browser, people, [])
            finally:
                await browser.close()


async def test_finance_records_dues_and_a_payment_and_sees_them_in_the_ledger(site: Site):
    context = await site.context()
    page = await site.login(context, "finance", "/admin/dues")
    member = site.people["member"]
    row = page.locator("tr", has_text=member.staff_no)
    await expect(row).to_contain_text("未缴")
    await guide_shot(page, "funds-1-dues", "finance-dues")
    await row.locator("button:has-text('登记')").click()
    await expect(page.locator(".notice-ok")).to_contain_text("缴费已登记")
    await expect(page.locator("h1")).to_contain_text(member.name)
    await expect(page.locator("dl.figures")).to_contain_text("已缴清")

    # The dues payment reaches the ledger as income (members → Kafka → welfare).
    ledger = f"/admin/funds/ledger?campus=main&year={YEAR}&line=income_dues"
    for _ in range(60):
        await page.goto(ledger)
        if await page.locator("td", has_text="会费收入").count():
            break
        await page.wait_for_timeout(1000)
    await expect(page.locator("tbody")).to_contain_text("会费登记")

    # A payment recorded on the form, seen in the ledger, then reversed (never edited).
    await page.goto(f"/admin/funds/ledger?campus=main&year={YEAR}")
    await page.select_option("#post-line", "spend_activity_festival")
    await page.fill("#post-amount", "12800.00")
    await page.fill("#post-cause", "端午节慰问品")
    await page.fill("#post-approved", "李主席")
    await page.fill("#post-voucher", "记-0612")
    await page.click("#post-form button[type=submit]")
    await expect(page.locator(".notice-ok")).to_contain_text("支出已记账")
    entry = page.locator("tr", has_text="端午节慰问品")
    await expect(entry).to_contain_text("12800.00")
    await expect(entry).to_contain_text("记-0612")
    await guide_shot(page, "funds-2-ledger", "finance-ledger")
    await page.goto(f"/admin/funds?campus=main&year={YEAR}")
    await expect(page.locator("svg.bar-chart").first).to_be_visible()
    await expect(page.locator("#main")).to_contain_text("支出 12800.00 元 / 预算 50000.00 元")
    await expect(page.locator("#main")).to_contain_text("会费收入（来自会员缴纳会费")
    await guide_shot(page, "funds-3-budgets", "finance-budgets")

    await page.goto(f"/admin/funds/ledger?campus=main&year={YEAR}")
    entry = page.locator("tr", has_text="端午节慰问品")
    await entry.locator("summary:has-text('冲正')").click()
    await entry.locator("input[name=reason]").fill("重复报销")
    await entry.locator("button:has-text('确认冲正')").click()
    await expect(page.locator(".notice-ok")).to_contain_text("已冲正")
    await expect(page.locator("tbody")).to_contain_text("重复报销")
    await expect(page.locator("tr", has_text="端午节慰问品").first).to_contain_text("已冲正")

    # One more that stays: the members' open books show it.
    await page.select_option("#post-line", "spend_activity_culture_sports")
    await page.fill("#post-amount", "6500")
    await page.fill("#post-cause", "教职工篮球赛")
    await page.fill("#post-approved", "李主席")
    await page.fill("#post-voucher", "记-0618")
    await page.click("#post-form button[type=submit]")
    await expect(page.locator("tr", has_text="教职工篮球赛")).to_contain_text("6500.00")
    assert not site.csp_refusals, site.csp_refusals
    await context.close()


async def test_the_auditor_reads_everything_and_changes_nothing(site: Site):
    context = await site.context()
    page = await site.login(context, "auditor", "/admin/funds")
    for url in (
        f"/admin/funds?campus=main&year={YEAR}",
        f"/admin/funds/ledger?campus=main&year={YEAR}",
        f"/admin/funds/check?campus=main&year={YEAR}",
        f"/admin/funds/summary?campus=main&year={YEAR}",
        "/admin/dues",
        "/admin/dues/arrears",
    ):
        await page.goto(url)
        await expect(page.locator("h1")).to_be_visible()
        # The only form that posts is sign-out (in the bar); the page itself posts nothing.
        assert await page.locator("main form[method=post]").count() == 0, url
        assert await page.locator("main button:not([type=submit])").count() == 0, url
        gets = page.locator("main form button[type=submit]")
        for i in range(await gets.count()):
            form = gets.nth(i).locator("xpath=ancestor::form")
            assert (await form.get_attribute("method")) == "get", url
    await page.goto(f"/admin/funds/summary?campus=main&year={YEAR}")  # 收支汇总, by month
    month = page.locator("#line-spend_activity_culture_sports td").nth(local_today().month)
    await expect(month).to_have_text("6500.00")
    await page.goto(f"/admin/funds/ledger?campus=main&year={YEAR}")
    await expect(page.locator("tbody")).to_contain_text("端午节慰问品")
    await expect(page.locator("a:has-text('导出 Excel')")).to_be_visible()
    await page.goto(f"/admin/funds/check?campus=main&year={YEAR}")
    answer = page.locator("#check-answer")
    await expect(answer).to_contain_text("完整")
    await expect(answer).to_contain_text(f"main:{YEAR}")
    await guide_shot(page, "funds-4-check", "auditor-check")
    # The export is the ledger itself.
    async with page.expect_download() as download:
        await page.click("a:has-text('导出 CSV')")
    path = await (await download.value).path()
    assert "端午节慰问品" in path.read_text(encoding="utf-8-sig")
    await context.close()


async def test_a_member_reads_the_open_books_and_their_dues_on_a_phone(site: Site):
    context = await site.context(PHONE)
    page = await site.login(context, "member", "/m")
    await page.click("text=经费公开")
    await expect(page.locator("h1")).to_contain_text("经费公开")
    await expect(page.locator("svg.bar-chart").first).to_be_visible()
    await expect(page.locator("#main")).to_contain_text(
        "文体活动 支出 6500.00 元 / 预算 30000.00 元"
    )
    text = await page.locator("#main").inner_text()
    for personal in ("教职工篮球赛", "李主席", "记-0618", site.people["finance"].name):
        assert personal not in text
    assert await horizontal_overflow(page) == 0
    await guide_shot(page, "funds-5-public", "member-funds")

    await page.goto("/m")
    await page.click("text=我的会费")
    await expect(page.locator("h1")).to_have_text("我的会费")
    bill = page.locator("li.card", has_text=MONTH)
    await expect(bill).to_contain_text("已缴清")
    await expect(page.locator("#main")).to_contain_text("会费已全部缴清")
    assert await horizontal_overflow(page) == 0
    await guide_shot(page, "funds-6-dues", "member-dues")
    assert re.search(r"缴费 \d+\.\d{2} 元", await bill.inner_text())
    assert not site.csp_refusals, site.csp_refusals
    await context.close()
