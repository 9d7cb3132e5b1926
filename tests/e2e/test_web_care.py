"""Condolences and birthdays in a real browser against the real services as processes: a
cadre sees a case the platform raised by itself (a member retired → 退休慰问) on the desk and
records a visit (approving is the chair's: no button), and a donor checked in at a blood
drive among the drive's donors (events → welfare), and this month's birthday benefits; a member
on a 375 px phone chooses this month's birthday gift (confirmed) and applies for a condolence
for themself."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright, expect

from shared.timeutil import local_today
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

SERVICES = ("members", "events", "welfare", "web")  # events: the blood drive's door
PASSWORD = "wo-de-mima-8"


@dataclass
class Site:
    platform: Platform
    browser: Browser
    cadre: str  # staff numbers
    member: str
    retiree_name: str


async def person(client: httpx.AsyncClient, members: str, staff_no: str, **over) -> str:
    body = {"name": "王芳", "gender": "female", "birth_date": "1985-05-01", **over}
    return await member_who_signs_in(client, members, PASSWORD, staff_no=staff_no, **body)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(infra, tmp_path_factory) -> AsyncIterator[Site]:
    executable = chromium_or_skip()
    platform = Platform(infra, tmp_path_factory.mktemp("care"), services=SERVICES)
    async with platform.running():
        tag = uuid.uuid4().hex[:5].upper()
        members, welfare = platform.url("members"), platform.url("welfare")
        admin = bearer("e2e-admin", ["admin"], ["*"])
        today = local_today()
        async with httpx.AsyncClient(timeout=20) as client:
            await person(client, members, f"C{tag}1", name="王芳", roles=["group_leader"])
            born = f"1980-{today.month:02d}-03"
            member = await person(client, members, f"C{tag}2", name="李梅", birth_date=born)
            r = await client.post(
                f"{members}/members",
                headers=admin,
                json={
                    "staff_no": f"C{tag}3",
                    "name": "张老师",
                    "campus": "main",
                    "department": "艺术系",
                },
            )
            retiree = r.json()["id"]
            r = await client.post(
                f"{members}/members/{retiree}/retire", headers=admin, json={"on": today.isoformat()}
            )
            assert r.status_code == 200, r.text

            async def raised() -> bool:
                r = await client.get(
                    f"{welfare}/cases", headers=admin, params={"member_id": retiree}
                )
                return r.status_code == 200 and r.json()["total"] == 1

            await wait_until(raised, 60, "the retirement case raised by welfare")

            async def known() -> bool:
                r = await client.get(
                    f"{welfare}/cases", headers=bearer(member, ["member"], ["main"])
                )
                return r.status_code == 200

            await wait_until(known, 30, "welfare answering the member")

            # The birthday run of this month (the job does it on the 1st).
            async def offered() -> bool:
                month = f"{today:%Y-%m}"
                r = await client.post(
                    f"{welfare}/birthdays/runs", headers=admin, json={"month": month}
                )
                assert r.status_code == 200, r.text
                mine = await client.get(
                    f"{welfare}/birthdays/mine", headers=bearer(member, ["member"], ["main"])
                )
                return len(mine.json()) == 1

            await wait_until(offered, 60, "the member's birthday benefit")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=FLAGS)
            try:
                yield Site(platform, browser, f"C{tag}1", f"C{tag}2", "张老师")
            finally:
                await browser.close()


async def login(site: Site, viewport, staff_no: str, next_url: str):
    context = await site.browser.new_context(
        viewport=viewport,
        base_url=site.platform.url("web"),
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(20_000)
    page = await context.new_page()
    await sign_in(page, staff_no, PASSWORD, next_url)
    return context, page


async def test_cadre_sees_the_automatically_raised_case_and_records_a_visit(site: Site):
    context, page = await login(site, DESK, site.cadre, "/admin/care")
    row = page.locator("tr.case", has_text=site.retiree_name)
    await expect(row).to_contain_text("退休慰问")
    await expect(row).to_contain_text("退休自动登记")
    await expect(row).to_contain_text("待审批")
    await shot(page, "care-desk")
    await row.locator("a").click()
    await expect(page.locator("h1")).to_contain_text("退休慰问")
    # A group leader is a cadre, not the chair: approving is the chair's, so no button for it.
    await expect(page.locator("#main")).to_contain_text("待主席审批")
    await expect(page.locator("button:has-text('批准')")).to_have_count(0)
    await page.fill("input[name=visitors]", "王芳，工会小组")
    await page.fill("input[name=visited_on]", local_today().isoformat())
    await page.fill("input[name=brought]", "纪念品")
    await page.fill("textarea[name=notes]", "身体健康，感谢工会")
    await page.click("button:has-text('记录走访')")
    await expect(page.locator("#main")).to_contain_text("身体健康，感谢工会", timeout=30_000)
    await context.close()


async def donor_checked_in(site: Site, name: str, title: str) -> None:
    """A member signed up for a blood drive and checked in at its door by a cadre, over the
    APIs; back once welfare has raised the donor's case (and knows the donor's name)."""
    members, events = site.platform.url("members"), site.platform.url("events")
    welfare = site.platform.url("welfare")
    admin = bearer("e2e-admin", ["admin"], ["*"])
    tomorrow = local_today() + timedelta(days=1)
    async with httpx.AsyncClient(timeout=20) as client:
        body = {
            "staff_no": f"D{uuid.uuid4().hex[:6].upper()}",
            "name": name,
            "campus": "main",
            "department": "体育部",
        }
        r = await client.post(f"{members}/members", headers=admin, json=body)
        assert r.status_code == 201, r.text
        donor = r.json()["id"]
        drive = {
            "kind": "blood_donation",
            "title": title,
            "campus": "main",
            "venue": "行政楼前广场",
            "starts_at": f"{tomorrow.isoformat()}T09:00:00+08:00",
            "ends_at": f"{tomorrow.isoformat()}T12:00:00+08:00",
        }
        r = await client.post(f"{events}/activities", headers=admin, json=drive)
        assert r.status_code == 201, r.text
        drive_id = r.json()["id"]
        r = await client.post(f"{events}/activities/{drive_id}/publish", headers=admin)
        assert r.status_code == 200, r.text
        signed: dict[str, Any] = {}

        async def signed_up() -> bool:  # once events has learnt the member
            r = await client.post(
                f"{events}/activities/{drive_id}/registrations",
                headers=bearer(donor, ["member"], ["main"]),
                json={"guests": 0},
            )
            assert r.status_code in (201, 422), r.text  # 422: member.not_found, not yet
            if r.status_code == 201:
                signed.update(r.json())
            return bool(signed)

        await wait_until(signed_up, 60, "the donor's sign-up")
        r = await client.post(
            f"{events}/activities/{drive_id}/checkins",
            headers=bearer("e2e-door", ["cadre"], ["main"]),
            json={"code": signed["code"]},
        )
        assert r.status_code == 200, r.text

        async def raised() -> bool:
            r = await client.get(f"{welfare}/cases", headers=admin, params={"source_ref": drive_id})
            items = r.json()["items"] if r.status_code == 200 else []
            return [c["member_name"] for c in items] == [name]

        await wait_until(raised, 60, "the donor's case raised by welfare")


async def test_cadre_sees_a_donor_checked_in_at_a_blood_drive_among_the_donors(site: Site):
    await donor_checked_in(site, "陈红梅", "春季无偿献血")
    context, page = await login(site, DESK, site.cadre, "/admin/care")
    row = page.locator("tr.donor", has_text="陈红梅")
    await expect(row).to_contain_text("无偿献血慰问：春季无偿献血")
    await expect(row).to_contain_text(local_today().isoformat())
    await expect(row).to_contain_text("待审批")
    # Only the donors: the retiree's case is in the list of all cases, not among them.
    await expect(page.locator("tr.donor", has_text=site.retiree_name)).to_have_count(0)
    # 生日福利 next door: this month's benefits of main (the member born this month), each
    # on the ledger or not; running a month is the chair's, so no button for a group leader.
    await page.click("a[href='/admin/care/birthdays']")
    await expect(page.locator("h1")).to_contain_text(f"生日福利（{local_today():%Y-%m}）")
    await expect(page.locator("tr.benefit").first).to_contain_text("记账")
    # Named for the cadre, and paid in its campus's batch: one entry per batch on the ledger.
    mine = page.locator("tr.benefit", has_text="李梅")
    await expect(mine).to_contain_text("birthdays:main:")
    batch = await mine.locator("code").inner_text()
    await expect(page.locator("tr.batch", has_text=batch)).to_contain_text("记账")
    await expect(page.locator("button:has-text('生日福利')")).to_have_count(0)
    assert await axe_violations(page) == []
    await context.close()


async def test_member_chooses_the_birthday_gift_and_applies_for_a_case_on_a_phone(site: Site):
    context, page = await login(site, PHONE, site.member, "/m/care")
    await expect(page.locator("h1")).to_contain_text("慰问与生日福利")
    await page.check("input[value=books]")
    await page.click("button:has-text('确认选择')")
    await expect(page.locator("#main")).to_contain_text("礼品：购书卡")
    await expect(page.locator("[role=status]")).to_contain_text("已选择，届时按所选礼品发放")
    await page.select_option("select[name=kind]", label="结婚慰问")
    await page.fill("input[name=occurred_on]", local_today().isoformat())
    await page.fill("input[name=summary]", "本人结婚")
    await page.fill("input[name=amount]", "500")
    await page.click("button:has-text('提交申请')")
    await expect(page.locator("#main")).to_contain_text("慰问申请已提交")
    mine = page.locator("li", has_text="结婚慰问")
    await expect(mine).to_contain_text("待审批")
    await expect(mine).to_contain_text("500.00 元 · 本人申请")
    assert not await horizontal_overflow(page)
    assert await axe_violations(page) == []
    await shot(page, "care-phone")
    await context.close()
