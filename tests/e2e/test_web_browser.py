"""The web front end in a real browser (Playwright driving Debian's Chromium) against the real
services as processes, on the real Kafka and MongoDB-wire server.

One platform for the module (members, events, notify and web; welfare is not needed) and
one browser; each test opens its own browser contexts (a phone at 375 px, a desk at
1280 px), so cookies never leak between people. The tests run in file order: the sign-up
fills the activity that the waitlist test then needs, and the check-in desk checks in the
member the waitlist promoted. Each saves screenshots under test-output/web/; those the
members' and cadres' guide shows (docs/guide/) are also copied into docs/guide/img/ when
GONGHUI_DOCS_SCREENSHOTS=1 (run this file with it after the pages change, look, commit).
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import segno
from PIL import Image
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)
from pymongo import AsyncMongoClient

from services.web.sessions import key_of
from shared.timeutil import SHANGHAI, local_today, utcnow
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

WEB_SERVICES = ("members", "events", "notify", "web")
GUIDE_IMG = Path(__file__).resolve().parents[2] / "docs" / "guide" / "img"
INITIAL = "Chushi-2026"
CHOSEN = "wo-de-mima-7"


@dataclass
class Person:
    key: str
    id: str
    staff_no: str
    name: str
    campus: str


@dataclass
class Site:
    platform: Platform
    browser: Browser
    people: dict[str, Person]
    outing: str  # capacity 2, one guest each: A with a guest fills it
    women: str  # 仅限女教职工
    seen_html: list[str] = field(default_factory=list)
    # What the browser refused under the pages' Content-Security-Policy (console errors).
    csp_refusals: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.platform.url("web")

    async def context(self, viewport: ViewportSize = PHONE) -> BrowserContext:
        context = await self.browser.new_context(
            viewport=viewport, base_url=self.url, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        context.set_default_timeout(20_000)

        def watch(page: Page) -> None:
            def note(message: Any) -> None:
                if "Content Security Policy" in message.text:
                    self.csp_refusals.append(f"{page.url}: {message.text}")

            page.on("console", note)

        context.on("page", watch)
        return context

    async def login(
        self, context: BrowserContext, who: str, password: str = CHOSEN, next_url: str = "/m"
    ) -> Page:
        page = await context.new_page()
        await sign_in(page, self.people[who].staff_no, password, next_url)
        return page

    async def keep(self, page: Page) -> str:
        html = await page.content()
        self.seen_html.append(html)
        return html


async def guide_shot(page: Page, name: str, guide: str) -> None:
    """A screenshot under test-output/web/ (`name`) that the guide also shows (`guide`)."""
    path = await shot(page, name)
    if os.environ.get("GONGHUI_DOCS_SCREENSHOTS") == "1":
        GUIDE_IMG.mkdir(parents=True, exist_ok=True)
        # 256 colours: a third of the bytes, and the text reads the same.
        Image.open(path).convert("RGB").quantize(256).save(
            GUIDE_IMG / f"{guide}.png", optimize=True
        )


async def seed(platform: Platform) -> tuple[dict[str, Person], str, str]:
    """People and activities, made over the APIs as an admin and a cadre would."""
    admin = bearer("e2e-admin", ["admin"], ["*"])
    tag = uuid.uuid4().hex[:5].upper()
    plan = {
        "cadre": ("王芳", "main", "female", ["group_leader"]),
        "a": ("李梅", "main", "female", []),
        "b": ("张伟", "main", "male", []),
        "north_cadre": ("赵北", "north", "male", ["group_leader"]),
        "north": ("钱北", "north", "female", []),
    }
    people: dict[str, Person] = {}
    members = platform.url("members")
    async with httpx.AsyncClient(timeout=20) as client:
        for i, (key, (name, campus, gender, roles)) in enumerate(plan.items()):
            staff_no = f"W{tag}{i}"
            r = await client.post(
                f"{members}/members",
                headers=admin,
                json={
                    "staff_no": staff_no,
                    "name": name,
                    "campus": campus,
                    "department": "艺术系",
                    "gender": gender,
                    "birth_date": "1985-05-01",
                    "email": f"{staff_no.lower()}@school.local",
                    "roles": roles,
                },
            )
            assert r.status_code == 201, r.text
            person = Person(key, r.json()["id"], staff_no, name, campus)
            people[key] = person
            r = await client.put(
                f"{members}/members/{person.id}/password", headers=admin, json={"password": INITIAL}
            )
            assert r.status_code == 200, r.text
            if key == "a":
                continue  # 李梅 makes her first sign-in in the browser
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

        cadre = bearer(people["cadre"].id, ["cadre"], ["main"])
        starts = (
            (utcnow() + timedelta(days=10))
            .astimezone(SHANGHAI)
            .replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=None)
        )
        ids = []
        for title, extra in (
            ("春季踏青", {"capacity": 2, "guests_max": 1, "kind": "outing"}),
            ("女职工插花沙龙", {"eligibility": {"gender": "female"}, "kind": "celebration"}),
        ):
            r = await client.post(
                f"{platform.url('events')}/activities",
                headers=cadre,
                json={
                    "title": title,
                    "campus": "main",
                    "venue": "校园东门",
                    "starts_at": starts.isoformat(timespec="minutes"),
                    "ends_at": (starts + timedelta(hours=3)).isoformat(timespec="minutes"),
                    **extra,
                },
            )
            assert r.status_code == 201, r.text
            activity = r.json()["id"]
            r = await client.post(
                f"{platform.url('events')}/activities/{activity}/publish", headers=cadre
            )
            assert r.status_code == 200, r.text
            ids.append(activity)

        # The childcare survey round of main is open: 李梅 is asked about her children.
        r = await client.post(
            f"{members}/childcare/rounds",
            headers=cadre,
            json={"campus": "main", "survey_date": local_today().isoformat()},
        )
        assert r.status_code in (200, 201), r.text

        # events learns of the members from Kafka (members.member): wait until it knows them.
        for key in ("a", "b"):
            as_member = bearer(people[key].id, ["member"], ["main"])

            async def known(as_member=as_member) -> bool:
                r = await client.get(
                    f"{platform.url('events')}/activities/{ids[0]}/eligibility", headers=as_member
                )
                return r.status_code == 200

            await wait_until(known, 60, "events' member directory")
    return people, ids[0], ids[1]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(infra, tmp_path_factory) -> AsyncIterator[Site]:
    executable = chromium_or_skip()
    platform = Platform(infra, tmp_path_factory.mktemp("web"), services=WEB_SERVICES)
    async with platform.running():
        people, outing, women = await seed(platform)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=FLAGS)
            try:
                yield Site(platform, browser, people, outing, women)
            finally:
                await browser.close()


async def test_member_first_sign_in_signs_up_with_a_guest_and_sees_the_qr(site: Site):
    context = await site.context()
    page = await site.login(context, "a", password=INITIAL)
    # First sign-in: members asks for a password of her own.
    await expect(page).to_have_url(re.compile(r"/login/password$"))
    await guide_shot(page, "1-first-password", "member-first-password")
    await page.fill("#new_password", CHOSEN)
    await page.fill("#repeat", CHOSEN)
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_contain_text("李梅，您好")
    await guide_shot(page, "1-member-home", "member-home")

    cookies = {c["name"]: c for c in await context.cookies()}
    session = cookies["gh_session"]
    assert session["httpOnly"] and session["sameSite"] in ("Lax", "Strict")

    await page.goto("/m/activities")
    await expect(page.locator("h2.month").first).to_be_visible()
    await site.keep(page)
    await guide_shot(page, "1-member-activities", "member-activities")
    await page.click("text=春季踏青")
    await expect(page.locator(".ok")).to_contain_text("您符合报名条件")
    await page.select_option("#guests", "1")
    await page.click("button:has-text('我要报名')")
    await expect(page.locator(".notice-ok")).to_contain_text("报名成功")
    await expect(page.locator("#mine")).to_contain_text("同行家属 1 人")
    await site.keep(page)
    await guide_shot(page, "1-member-signed-up", "member-signed-up")

    await page.click("text=出示签到二维码")
    image = page.locator("figure.qr img")
    await expect(image).to_be_visible()
    assert (await image.get_attribute("src") or "").startswith("data:image/png;base64,")
    code = (await page.locator(".code.big").inner_text()).strip()
    assert re.fullmatch(r"[A-Z2-9]{6}", code)
    await site.keep(page)
    await guide_shot(page, "1-member-qr", "member-qr")
    # Offline once loaded: the image is in the page, nothing to fetch.
    await context.set_offline(True)
    assert await image.evaluate("img => img.complete && img.naturalWidth > 200")
    await context.set_offline(False)

    # The women-only activity states its rule, and she may come.
    await page.goto(f"/m/activities/{site.women}")
    await expect(page.locator("#main")).to_contain_text("本活动仅限女教职工")
    # The campus by its name (members' org), never its code: events only knows "main".
    await expect(page.locator("#main")).to_contain_text("校区：main校区")
    await expect(page.locator(".ok")).to_contain_text("您符合报名条件")
    await page.goto("/m/profile")
    await expect(page.locator("dl.facts").first).to_contain_text("main校区")
    await context.close()


async def test_member_states_her_children_for_the_open_childcare_round(site: Site):
    context = await site.context()
    page = await site.login(context, "a")
    await page.click("text=请填写")
    await expect(page.locator("h1")).to_have_text("我的资料")
    await page.click("text=子女信息有变化？重新填写")
    await page.fill("#name_0", "李小雨")
    await page.fill("#birth_0", "2021-09-01")
    await page.select_option("#care_0", "kindergarten")
    await page.fill("#institution_0", "学校附属幼儿园")
    await page.click("button:has-text('保存并确认')")
    await expect(page.locator(".notice-ok")).to_contain_text("子女信息已确认")
    await expect(page.locator("#main")).to_contain_text("李小雨，2021年9月1日 出生，学校附属幼儿园")
    await site.keep(page)
    await guide_shot(page, "1-childcare", "member-childcare")
    await context.close()


async def test_full_activity_waitlists_the_next_member_and_promotes_on_cancel(site: Site):
    b_context = await site.context()
    b = await site.login(b_context, "b")
    await b.goto(f"/m/activities/{site.women}")
    await expect(b.locator(".refuse")).to_contain_text("本活动仅限女教职工参加")
    await site.keep(b)
    await guide_shot(b, "2-ineligible", "member-ineligible")

    await b.goto(f"/m/activities/{site.outing}")
    await b.click("button:has-text('名额已满，报名候补')")
    await expect(b.locator(".notice-ok")).to_contain_text("候补名单")
    await expect(b.locator(".wait")).to_contain_text("您排在第 1 位")
    await guide_shot(b, "2-waitlisted", "member-waitlisted")

    a_context = await site.context()
    a = await site.login(a_context, "a")
    await a.goto(f"/m/activities/{site.outing}")
    await a.click("button:has-text('取消报名')")
    await expect(a.locator(".notice-ok")).to_contain_text("已取消报名")
    await a_context.close()

    async def promoted() -> bool:
        await b.reload()
        return await b.locator("#mine .ok").count() > 0

    await wait_until(promoted, 60, "the waitlisted member promoted")
    await expect(b.locator("#mine")).to_contain_text("报名成功")
    await b.goto("/m/registrations")
    await expect(b.locator("#main")).to_contain_text("春季踏青")
    await site.keep(b)
    await guide_shot(b, "2-promoted-registrations", "member-registrations")
    await b_context.close()


async def test_cadre_checks_in_by_typed_code_and_the_second_time_is_yellow(site: Site):
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.get(
            f"{site.platform.url('events')}/activities/{site.outing}/registrations/"
            f"{site.people['b'].id}",
            headers=bearer(site.people["b"].id, ["member"], ["main"]),
        )
        code = r.json()["code"]
    context = await site.context()  # a phone at the door
    page = await site.login(context, "cadre", next_url=f"/admin/activities/{site.outing}/desk")
    await expect(page.locator("h1")).to_have_text("签到台")
    # The camera button is Alpine's (its CSP build): it shows, with its label, under the CSP.
    await expect(page.locator(".scanner button")).to_have_text("用摄像头扫码")
    await page.fill("#code", code.lower())
    await page.click("#codeform button[type=submit]")
    answer = page.locator("#answer .answer")
    await expect(answer).to_have_attribute("data-tone", "green")
    await expect(page.locator("#code")).to_have_value("")  # emptied for the next (desk.js)
    await expect(answer).to_contain_text("已签到")
    await expect(answer).to_contain_text("张伟")
    await expect(page.locator(f"#tick-{site.people['b'].id}")).to_contain_text("已签到")
    await guide_shot(page, "3-desk-green", "desk-green")

    await page.fill("#code", code)
    await page.click("#codeform button[type=submit]")
    await expect(answer).to_have_attribute("data-tone", "yellow")
    await expect(answer).to_contain_text(re.compile(r"已于 \d\d:\d\d 由 王芳 签到"))
    await guide_shot(page, "3-desk-yellow", "desk-yellow")

    await page.fill("#code", "ZZZZZZ")
    await page.click("#codeform button[type=submit]")
    await expect(answer).to_have_attribute("data-tone", "red")
    await expect(answer).to_contain_text("不是本活动的签到码")
    assert await horizontal_overflow(page) <= 0

    # The camera's fallback decoder (jsQR, vendored from npm) reads the member's QR as the
    # events service draws it: the same PNG, decoded from a canvas as desk.js does.
    png = io.BytesIO()
    segno.make(code, error="m", micro=False).save(png, kind="png", scale=10, border=4)
    uri = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    decoded = await page.evaluate(
        """async (uri) => {
          const img = new Image(); img.src = uri; await img.decode();
          const canvas = document.createElement("canvas");
          canvas.width = img.width; canvas.height = img.height;
          const ctx = canvas.getContext("2d"); ctx.drawImage(img, 0, 0);
          const found = jsQR(ctx.getImageData(0, 0, img.width, img.height).data, img.width, img.height);
          return found && found.data;
        }""",
        uri,
    )
    assert decoded == code
    await context.close()


BAD_CSV = (
    "工号,姓名,性别,出生日期,校区,部门,手机\n"
    "N{tag}1,周一,女,1990-01-02,main,艺术系,13800000001\n"
    "T#003,王五,男,1990-01-02,main,艺术系,13800000002\n"
    "N{tag}3,赵六,男,1990-01-02,main,美术系,13800000003\n"
    "N{tag}4,钱七,女,1990-01-02,main,艺术系,1391234\n"
)


async def test_cadre_imports_a_csv_with_bad_rows_and_sees_the_row_report(site: Site, tmp_path):
    csv = tmp_path / "新教师.csv"
    csv.write_text(BAD_CSV.format(tag=uuid.uuid4().hex[:4].upper()), encoding="utf-8")
    context = await site.context(DESK)
    page = await site.login(context, "cadre", next_url="/admin/imports")
    await page.set_input_files("#file", str(csv))
    await page.click("button:has-text('上传并检查')")
    await expect(page.locator("#summary")).to_be_visible(timeout=60_000)
    report = page.locator("#report")
    await expect(report).to_contain_text("工号「T#003」格式不正确")
    await expect(report).to_contain_text("美术系")
    await expect(report).to_contain_text("1391234")
    await expect(report.locator("tr.outcome-create")).to_have_count(1)
    assert await horizontal_overflow(page) <= 0
    await guide_shot(page, "4-import-report", "import-report")

    await page.check("input[name=only_valid]")
    await page.click("button:has-text('确认写入')")
    await expect(page.locator("#summary")).to_be_visible(timeout=60_000)
    await expect(page.locator("#summary")).to_contain_text("导入完成")
    await shot(page, "4-import-committed")
    await context.close()


async def test_cadre_drafts_publishes_changes_and_cancels_an_activity(site: Site):
    context = await site.context(DESK)
    page = await site.login(context, "cadre", next_url="/admin/activities/new")
    starts = (utcnow() + timedelta(days=20)).astimezone(SHANGHAI)
    await page.fill("input[name=title]", "羽毛球友谊赛")
    await page.select_option("select[name=kind]", "competition")
    await page.fill("input[name=venue]", "体育馆")
    await page.fill("input[name=starts_at]", starts.strftime("%Y-%m-%dT14:00"))
    await page.fill("input[name=ends_at]", starts.strftime("%Y-%m-%dT17:00"))
    await page.fill("input[name=capacity]", "16")
    await page.click("button:has-text('保存为草稿')")
    await expect(page.locator("h1")).to_contain_text("草稿")
    await page.click("button:has-text('发布')")
    await expect(page.locator(".notice-ok")).to_contain_text("已发布")
    await page.click("text=修改")
    await page.fill("input[name=venue]", "新体育馆")
    await page.fill("input[name=capacity]", "20")
    await page.click("button:has-text('保存修改')")
    await expect(page.locator(".notice-ok")).to_contain_text("已保存修改")
    await expect(page.locator("#main")).to_contain_text("新体育馆")
    await expect(page.locator("#main")).to_contain_text("名额 20")
    await guide_shot(page, "5-activity-admin", "activity-admin")
    await page.fill("input[name=reason]", "场馆检修")
    await page.click("button:has-text('取消活动')")
    await expect(page.locator(".notice-ok")).to_contain_text("活动已取消")
    await context.close()


async def test_cadre_reads_the_plan_by_month_and_moves_an_overdue_item_on(site: Site):
    """main's plans of last year (every month past: an unfinished item is overdue whatever
    the date) and of this year, made over the API as a cadre would; the desk shows the months,
    says 已逾期 in words, and a status change redraws the item's month in place."""
    year = local_today().year
    cadre = bearer(site.people["cadre"].id, ["cadre"], ["main"])
    events = site.platform.url("events")
    async with httpx.AsyncClient(timeout=20) as client:
        for plan_year, items in (
            (year - 1, [(3, "妇女节系列活动", "女工委员会"), (9, "教师节慰问", "工会办公室")]),
            (year, [(12, "年度工作总结", "工会主席")]),
        ):
            r = await client.post(
                f"{events}/plans", headers=cadre, json={"year": plan_year, "campus": "main"}
            )
            assert r.status_code == 201, r.text
            plan_id = r.json()["id"]
            for month, title, owner in items:
                r = await client.post(
                    f"{events}/plans/{plan_id}/items",
                    headers=cadre,
                    json={"month_from": month, "title": title, "owner": owner},
                )
                assert r.status_code == 201, r.text
            last = r.json()["id"]
            r = await client.post(
                f"{events}/plans/{plan_id}/items/{last}/links",
                headers=cadre,
                json={"kind": "activity", "id": site.outing},
            )
            assert r.status_code == 200, r.text

    context = await site.context(DESK)
    page = await site.login(context, "cadre", next_url=f"/admin/plan?year={year - 1}")
    await expect(page.locator("h1")).to_contain_text(f"{year - 1} 年度工作计划")
    march = page.locator("#month-3")
    await expect(march.locator("h2")).to_have_text("3月")
    await expect(march.locator("#item-01")).to_contain_text("已逾期")
    await expect(march.locator(".plan-summary")).to_contain_text("已逾期 1")
    link = page.locator(f"#item-02 a[href='/admin/activities/{site.outing}']")
    await expect(link).to_have_text("春季踏青")
    await guide_shot(page, "7-plan-admin", "plan-admin")
    await page.select_option("#status-01", "done")
    await page.click("#item-01 button:has-text('改状态')")
    await expect(march.locator(".notice-ok")).to_contain_text("已更新第 01 项")
    await expect(march.locator("#item-01")).to_contain_text("已完成")
    await expect(march.locator("#item-01")).not_to_contain_text("已逾期")
    await expect(march.locator(".plan-summary")).to_contain_text("已完成 1")
    assert "#item" not in page.url  # redrawn in place (htmx), not a new page
    await page.select_option("#status-01", "planned")  # a done item only reopens to 进行中
    await page.click("#item-01 button:has-text('改状态')")
    await expect(march.locator(".notice-error")).to_contain_text("不能改为「计划中」")
    # Without htmx the form posts and the browser is sent back to the item.
    csrf = await page.locator("#item-02 input[name=csrf]").input_value()
    posted = await context.request.post(
        f"/admin/plan/pl-{year - 1}-main/items/02/status",
        form={"csrf": csrf, "status": "in_progress"},
        max_redirects=0,
    )
    assert posted.status == 303
    assert posted.headers["location"].endswith(f"plan=pl-{year - 1}-main#item-02")
    await page.reload()
    await expect(page.locator("#item-01")).to_contain_text("已完成")
    await expect(page.locator("#item-02")).to_contain_text("进行中")
    await context.close()

    # A member reads this year's plan of their campus, read-only, with the activity linked.
    member = await site.context()
    page = await site.login(member, "b", next_url="/m/plan")
    await expect(page.locator("h1")).to_contain_text(f"{year} 年工会工作计划")
    await expect(page.locator("#main")).to_contain_text("年度工作总结")
    await expect(page.locator(f"a[href='/m/activities/{site.outing}']")).to_contain_text("春季踏青")
    assert await page.locator("select[name=status]").count() == 0
    await site.keep(page)
    await guide_shot(page, "7-plan-member", "plan-member")
    refused = await member.request.get("/admin/plan")
    assert refused.status == 403
    await member.close()


async def test_access_rules_hold_in_the_browser(site: Site):
    # Five wrong passwords lock the account; the page says so to whoever then types the right
    # one (to a guesser a locked account answers like any staff number).
    locked = await site.context()
    page = await locked.new_page()
    await page.goto("/login")
    for password in ["not-her-password"] * 6 + [CHOSEN]:
        await page.fill("#staff_no", site.people["north"].staff_no)
        await page.fill("#password", password)
        await page.click("button[type=submit]")
        await expect(page.locator(".notice-error")).to_be_visible()
        if password != CHOSEN:
            await expect(page.locator(".notice-error")).to_contain_text("工号或密码不正确")
    await expect(page.locator(".notice-error")).to_contain_text("锁定")
    await locked.close()

    # A member cannot open /admin.
    member = await site.context()
    page = await site.login(member, "b")
    response = await page.goto("/admin/members")
    assert response is not None and response.status == 403
    await expect(page.locator("h1")).to_have_text("无权访问")

    # A form without its CSRF token is refused (and changes nothing).
    posted = await member.request.post(
        f"/m/activities/{site.women}/signup", form={"guests": "0"}, max_redirects=0
    )
    assert posted.status == 403
    forged = await member.request.post(
        f"/m/activities/{site.women}/signup", form={"guests": "0", "csrf": "forged"}
    )
    assert forged.status == 403
    await member.close()

    # A cadre of main does not see north's members, in the list or by address.
    desk = await site.context(DESK)
    page = await site.login(desk, "cadre", next_url="/admin/members")
    await page.goto(f"/admin/members?q={site.people['north'].name}")
    await expect(page.locator("h1")).to_contain_text("共 0 人")
    response = await page.goto(f"/admin/members/{site.people['north'].id}")
    assert response is not None and response.status == 404
    await page.goto("/admin/members")
    await expect(page.locator("table")).to_contain_text(site.people["a"].name)
    await site.keep(page)
    await guide_shot(page, "5-members-table", "members-table")
    await desk.close()

    # No page carries a bearer token (a JWT starts with eyJ; none has "Bearer").
    assert site.seen_html
    for html in site.seen_html:
        assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}", html)
        assert "Bearer" not in html


async def test_an_expired_access_token_is_refreshed_once_for_requests_at_once(site: Site):
    """members ends a session whose refresh token is used twice: five page loads at once with
    a run-out access token must refresh it once, and the session must go on working."""
    context = await site.context()
    page = await site.login(context, "b")
    mongo: AsyncMongoClient = AsyncMongoClient(site.platform.infra.mongo_url)
    try:
        sessions = mongo[site.platform.db("web")]["sessions"]
        cookie = next(c["value"] for c in await context.cookies() if c["name"] == "gh_session")
        key = {"_id": key_of(cookie)}  # the session is stored under the cookie's SHA-256
        doc = await sessions.find_one(key)
        assert doc is not None
        old_refresh = doc["refresh_token"]
        await sessions.update_one(
            key, {"$set": {"access_expires_at": utcnow() - timedelta(minutes=1)}}
        )
        answers = await asyncio.gather(*(context.request.get("/m") for _ in range(5)))
        assert [a.status for a in answers] == [200] * 5
        texts = [await a.text() for a in answers]
        assert all("张伟，您好" in text for text in texts)
        doc = await sessions.find_one(key)
        assert doc is not None
        assert doc["refresh_token"] != old_refresh
        assert doc["access_expires_at"].replace(tzinfo=UTC) > utcnow() + timedelta(minutes=5)
    finally:
        await mongo.close()
    await page.goto("/m/registrations")  # still signed in
    await expect(page.locator("h1")).to_have_text("我的报名")
    await context.close()


MEMBER_PAGES = (
    "/m",
    "/m/activities",
    "/m/registrations",
    "/m/inbox",
    "/m/profile",
    "/m/plan",
    "/m/settings/notifications",  # notify-core
)


async def test_member_pages_fit_375_and_1280_and_pass_axe(site: Site):
    for viewport in (PHONE, DESK):
        context = await site.context(viewport)
        page = await site.login(context, "a")
        for path in (*MEMBER_PAGES, f"/m/activities/{site.outing}"):
            await page.goto(path)
            assert await horizontal_overflow(page) <= 0, (viewport, path)
            if viewport is PHONE:
                violations = await axe_violations(page)
                assert not violations, (path, violations)
                await site.keep(page)
        await context.close()


async def test_large_text_mode_sizes_hold(site: Site):
    context = await site.context()
    page = await site.login(context, "a")
    await page.click("button:has-text('长辈版')")
    await expect(page.locator("html")).to_have_class("large")
    for path in (*MEMBER_PAGES, f"/m/activities/{site.outing}", f"/m/activities/{site.women}"):
        await page.goto(path)
        small_text: list[Any] = await page.evaluate(SMALL_TEXT)
        assert not small_text, (path, small_text)
        small_targets: list[Any] = await page.evaluate(SMALL_TARGETS)
        assert not small_targets, (path, small_targets)
        assert not await axe_violations(page, ["color-contrast"]), path
        assert await horizontal_overflow(page) <= 0, path
    await page.goto(f"/m/activities/{site.outing}")
    await guide_shot(page, "6-large-text", "large-text")
    await context.close()


async def test_every_page_carries_the_security_headers_and_broke_no_policy(site: Site):
    async with httpx.AsyncClient(base_url=site.url, timeout=10) as client:
        for path in ("/login", "/login/link", "/static/app.js", "/nowhere"):
            response = await client.get(path)
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
            assert "frame-ancestors 'none'" in csp, path
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert response.headers["referrer-policy"] == "same-origin", path
            assert "strict-transport-security" not in response.headers  # plain http here
    # Every page the tests above opened ran under that policy, and the browser refused nothing.
    assert site.seen_html and not site.csp_refusals, site.csp_refusals


# -- notify-core: the inbox (unread first, mark all read) and my notification settings --------


async def test_member_reads_her_inbox_marks_all_read_and_sets_her_notifications(site: Site):
    b = site.people["b"]
    as_b = bearer(b.id, ["member"], ["main"])
    async with httpx.AsyncClient(base_url=site.platform.url("notify"), timeout=10) as notify:

        async def two_unread() -> bool:
            r = await notify.get("/inbox/unread-count", headers=as_b)
            return r.status_code == 200 and r.json()["unread"] >= 2

        await wait_until(two_unread, 60, "张伟's welcome and the published activity")
        unread = (await notify.get("/inbox/unread-count", headers=as_b)).json()["unread"]

    context = await site.context()  # a phone, 375 px
    page = await site.login(context, "b")
    await page.goto("/m/inbox")
    await expect(page.locator("h2").first).to_have_text(f"未读（{unread}）")
    first = page.locator("#unread li.card").first
    title = (await first.locator("strong").inner_text()).strip()
    await guide_shot(page, "7-member-inbox", "member-inbox")
    await first.locator("a.row-link").click()
    await expect(page.locator("h1")).to_have_text(title)
    await page.goto("/m/inbox")
    await expect(page.locator("h2").first).to_have_text(f"未读（{unread - 1}）")
    await expect(page.locator("#read")).to_contain_text(title)  # opened: now read
    assert await horizontal_overflow(page) <= 0
    await page.click("#read-all")
    await expect(page.locator(".notice-ok")).to_contain_text("全部消息已标为已读")
    await expect(page.locator("#unread")).to_contain_text("没有未读消息")
    await expect(page.locator("#read-all")).to_have_count(0)
    await site.keep(page)

    await page.click("text=通知设置")
    await expect(page.locator("h1")).to_have_text("通知设置")
    activity = page.locator("#cat-activity")
    await expect(activity.locator("input[value=wecom]")).to_be_checked()  # every channel at first
    # Reminders are a category of their own: the page lists what notify's API names.
    await expect(page.locator("#cat-reminder")).to_contain_text("活动、选礼与体检提醒")
    await activity.locator("input[value=wecom]").uncheck()
    await activity.locator("input[value=sms]").uncheck()
    await page.fill("#quiet_start", "23:00")
    await page.fill("#quiet_end", "06:30")
    await page.click("button:has-text('保存设置')")
    await expect(page.locator(".notice-ok")).to_contain_text("通知设置已保存")
    await expect(activity.locator("input[value=wecom]")).not_to_be_checked()
    await expect(activity.locator("input[value=inbox]")).to_be_checked()
    await expect(page.locator("#quiet_start")).to_have_value("23:00")
    assert await horizontal_overflow(page) <= 0
    assert not await axe_violations(page)
    await site.keep(page)
    await guide_shot(page, "7-member-notification-settings", "member-notification-settings")
    async with httpx.AsyncClient(base_url=site.platform.url("notify"), timeout=10) as notify:
        saved = (await notify.get("/me/notification-settings", headers=as_b)).json()
    assert saved["channels"]["activity"] == ["email", "inbox"]
    assert saved["quiet_hours"] == {"enabled": True, "start": "23:00", "end": "06:30"}
    await context.close()
