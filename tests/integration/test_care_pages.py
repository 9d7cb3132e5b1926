"""The care pages through web, on the real members and welfare services: a cadre records help
and the yearly review on a hardship file (a second review the same year refused in words,
changing nothing), and a member applies for a case for themself on the phone — only the
kinds welfare lets a member raise are offered, and a forged post of another is refused. The
birthday desk shows a month's benefits on the ledger or not (and why), runs the month for the
chair only, and the member's gift choice is confirmed on the phone."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from services.web.bootstrap import bootstrap as web_bootstrap
from services.web.settings import WebSettings
from shared.auth import mint_token
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.scheduler import JOBS
from shared.timeutil import local_today, utcnow
from shared.vocabulary.welfare import MEMBER_KINDS
from tests.integration.conftest import Stack, bearer, build_stack, close_stack, join
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration

ADMIN = bearer("care-admin", ["admin"], ["*"])
SERVICES = ("members", "welfare")


@dataclass
class Site:
    stack: Stack
    app: Any


@dataclass
class Browser:
    """One person's browser: the session cookie, and the CSRF token its forms carry."""

    web: httpx.AsyncClient
    csrf: str

    async def post(self, url: str, form: dict[str, str]) -> httpx.Response:
        return await self.web.post(url, data={"csrf": self.csrf, **form})


@pytest.fixture(scope="module")
async def site(infra) -> AsyncIterator[Site]:
    stack = await build_stack(infra, SERVICES)
    urls = {f"{n}_url": f"http://{n}" for n in SERVICES}
    settings = WebSettings.isolated(stack.prefix, infra.kafka_bootstrap, infra.mongo_url, **urls)
    transports = {n: httpx.ASGITransport(app=stack.runtimes[n].app) for n in SERVICES}
    try:
        yield Site(stack, web_bootstrap(settings, configure_logs=False, transports=transports))
    finally:
        await close_stack(stack)


async def browser(
    site: Site, subject: str, roles: list[str], campuses: list[str] | None = None
) -> Browser:
    """A browser signed in as sign-in makes a session (a token minted for the person)."""
    sessions = site.app.state.web.sessions
    campuses = campuses or ["main"]
    session = sessions.new(
        member_id=subject,
        roles=roles,
        campuses=campuses,
        access_token=mint_token(subject, roles, campuses),
        access_expires_at=utcnow() + timedelta(hours=1),
    )
    web = httpx.AsyncClient(transport=httpx.ASGITransport(app=site.app), base_url="http://web")
    web.cookies.set("gh_session", await sessions.create(session))
    return Browser(web, session.csrf)


async def member_in_welfare(stack: Stack) -> str:
    member = await join(stack, f"K{uuid.uuid4().hex[:7].upper()}", name="赵敏")
    directory = stack.welfare.db[MEMBER_DIRECTORY]

    async def known() -> bool:
        return await directory.find_one({"_id": member["id"]}) is not None

    await wait_until(known, 60, "the member in welfare's directory")
    return str(member["id"])


def section(page: str, file_id: str) -> str:
    """One file's part of the register's page."""
    start = page.index(f'<section class="card hardship-file" id="{file_id}"')
    return page[start : page.index("</section>", start)]


async def the_file(stack: Stack, file_id: str) -> dict[str, Any]:
    found = await stack.welfare_http.get(f"/hardship/{file_id}", headers=ADMIN)
    assert found.status_code == 200, found.text
    return dict(found.json())


async def test_a_cadre_records_help_and_the_yearly_review_on_the_register(site: Site):
    member_id = await member_in_welfare(site.stack)
    cadre = await browser(site, "care-cadre", ["cadre", "member"])
    year, today = local_today().year, local_today().isoformat()
    try:
        opened = await cadre.post(
            "/admin/care/hardship",
            {"member_id": member_id, "level": "special", "reason": "大病致困"},
        )
        assert opened.status_code == 303, opened.text
        file_id = f"h-{member_id}"
        page = (await cadre.web.get(opened.headers["location"])).text
        assert f'action="/admin/care/hardship/{file_id}/help"' in section(page, file_id)
        # Named as cases name them: the member's name is the label, not the bare id.
        assert f'<a href="#{file_id}">赵敏</a>' in page
        assert f'<h2 id="{file_id}-title">赵敏 · 特别困难 · 在档</h2>' in page
        assert f">{member_id}<" not in page and f">{member_id} ·" not in page
        assert f'name="year" required min="2000" max="2100" value="{year}"' in page

        help_ = {"given_on": today, "what": "春节慰问金", "amount": "500.5", "case_id": ""}
        given = await cadre.post(f"/admin/care/hardship/{file_id}/help", help_)
        assert given.status_code == 303, given.text
        shown = await cadre.web.get(given.headers["location"])
        assert shown.status_code == 200 and "已记录帮扶" in shown.text
        row = re.search(r"<tr><td>([^<]*)</td><td>春节慰问金</td><td>([^<]*)</td>", shown.text)
        assert row is not None and row.groups() == (today, "500.50")
        # A typo in the amount: said in words, nothing recorded.
        typo = await cadre.post(
            f"/admin/care/hardship/{file_id}/help", {**help_, "amount": "12.345"}
        )
        assert typo.status_code == 422 and "帮扶金额「12.345」最多两位小数" in typo.text
        assert 'value="12.345"' in section(typo.text, file_id)  # what was typed, kept
        [recorded] = (await the_file(site.stack, file_id))["help"]
        assert (recorded["what"], recorded["amount_fen"]) == ("春节慰问金", 50050)

        review = {"year": str(year), "outcome": "keep", "note": "仍需帮扶"}
        reviewed = await cadre.post(f"/admin/care/hardship/{file_id}/reviews", review)
        assert reviewed.status_code == 303, reviewed.text
        shown = await cadre.web.get(reviewed.headers["location"])
        assert f"<strong>{year} 年度</strong> · 继续帮扶 · 仍需帮扶" in section(shown.text, file_id)

        again = {"year": str(year), "outcome": "close", "note": "已脱困"}
        refused = await cadre.post(f"/admin/care/hardship/{file_id}/reviews", again)
        assert refused.status_code == 409 and f"{year} 年度已复核" in refused.text
        after = await the_file(site.stack, file_id)
        assert [(r["year"], r["outcome"]) for r in after["reviews"]] == [(year, "keep")]
        assert after["status"] == "open"

        # Last year's review closes the file: no form welfare would refuse is left on it.
        closing = {"year": str(year - 1), "outcome": "close", "note": "收入稳定"}
        closed = await cadre.post(f"/admin/care/hardship/{file_id}/reviews", closing)
        assert closed.status_code == 303, closed.text
        part = section((await cadre.web.get(closed.headers["location"])).text, file_id)
        assert "赵敏 · 特别困难 · 已脱困</h2>" in part and "收入稳定" in part
        assert "<form" not in part
    finally:
        await cadre.web.aclose()


KIND_OPTIONS = re.compile(r'<select id="case-kind" name="kind" required>(.*?)</select>', re.S)


async def test_a_member_applies_for_a_case_for_themself_on_the_phone(site: Site):
    member_id = await member_in_welfare(site.stack)
    phone = await browser(site, member_id, ["member"])
    today = local_today().isoformat()
    try:
        page = await phone.web.get("/m/care")
        assert page.status_code == 200 and "申请慰问" in page.text
        [options] = KIND_OPTIONS.findall(page.text)
        assert set(re.findall(r'value="([a-z_]+)"', options)) == set(MEMBER_KINDS)
        assert "death_member" not in options and "会员去世慰问" not in options

        form = {"kind": "illness", "occurred_on": today, "summary": "住院治疗", "amount": "300"}
        sent = await phone.post("/m/care/cases", form)
        assert sent.status_code == 303 and sent.headers["location"] == "/m/care?raised=1"
        mine = (await phone.web.get("/m/care?raised=1")).text
        assert "慰问申请已提交，请等待工会审批" in mine
        assert '<strong>生病住院慰问</strong> · <span class="badge">待审批</span>' in mine
        assert f"{today} · 300.00 元 · 本人申请" in mine
        found = await site.stack.welfare_http.get(
            "/cases", params={"member_id": member_id}, headers=ADMIN
        )
        [case] = found.json()["items"]
        assert (case["kind"], case["source"], case["raised_by"]) == ("illness", "member", member_id)
        assert (case["amount_fen"], case["summary"]) == (30000, "住院治疗")

        # A kind reserved for cadres, posted by hand: welfare's refusal on the page, no case.
        forged = await phone.post("/m/care/cases", {**form, "kind": "death_member"})
        assert forged.status_code == 403 and "「会员去世慰问」由工会干部登记" in forged.text
        again = await site.stack.welfare_http.get(
            "/cases", params={"member_id": member_id}, headers=ADMIN
        )
        assert again.json()["total"] == 1
    finally:
        await phone.web.aclose()


BIRTHDAY_LINE = "spend_activity_birthday"  # 生日慰问
BENEFIT_ROW = re.compile(r'<tr class="benefit" id="([^"]+)">(.*?)</tr>', re.S)
BATCH_ROW = re.compile(r'<tr class="batch" id="[^"]+">(.*?)</tr>', re.S)


async def born_this_month(stack: Stack, campus: str) -> str:
    """An active member of `campus` whose birthday is in this (Shanghai) month."""
    member_id = f"m-bd{uuid.uuid4().hex[:8]}"
    doc = {
        "_id": member_id,
        "name": "寿星",
        "campus": campus,
        "status": "active",
        "birthday": f"{local_today().month:02d}-03",
        "sequence": "0000000001.000",
    }
    await stack.welfare.db[MEMBER_DIRECTORY].insert_one(doc)
    return member_id


def benefit_rows(page: str) -> dict[str, list[str]]:
    """The desk's list: each benefit's cells (member, campus, 元, gift, status, ledger, batch)."""
    return {i: re.findall(r"<td[^>]*>(.*?)</td>", row) for i, row in BENEFIT_ROW.findall(page)}


def batch_rows(page: str) -> list[list[str]]:
    """The desk's ledger batches: each one's cells (key, campus, 人数, 元, ledger)."""
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in BATCH_ROW.findall(page)]


def run_said(page: str) -> str:
    """What the page says of the run just made."""
    found = re.search(r'<section class="card" id="birthday-run"[^>]*>.*?<p>([^<]*)</p>', page, re.S)
    assert found is not None, page
    return found.group(1)


def counts(page: str) -> tuple[str, str, str]:
    found = re.search(r'<dl class="figures" id="birthday-counts">(.*?)</dl>', page, re.S)
    assert found is not None, page
    dd = re.findall(r"<dd>([^<]*)</dd>", found.group(1))
    return dd[0], dd[1], dd[2]


async def test_the_birthday_desk_shows_the_ledger_and_runs_the_month_for_the_chair(site: Site):
    stack, today = site.stack, local_today()
    month, year = today.isoformat()[:7], today.year
    # One campus has this year's budget for 生日慰问, the other none: its benefit is refused.
    funded, unfunded = f"b{uuid.uuid4().hex[:8]}", f"n{uuid.uuid4().hex[:8]}"
    adopted = await stack.welfare_http.post(
        f"/funds/budgets/{funded}/{year}",
        json={"lines": {BIRTHDAY_LINE: 1_000_000}, "note": "生日慰问预算"},
        headers=ADMIN,
    )
    assert adopted.status_code == 201, adopted.text
    # The month's scheduled run (at the stack's start, once it is due) done first: the runs
    # below are the page's, and their counts its own.
    [job] = [j for j in stack.welfare.scheduler.jobs if j.name == "welfare.birthdays"]
    if job.schedule.slot(utcnow()) == month:
        jobs = stack.welfare.db[JOBS]

        async def scheduled_run_done() -> bool:
            return await jobs.find_one({"_id": f"welfare.birthdays@{month}#done"}) is not None

        await wait_until(scheduled_run_done, 60, "the month's scheduled birthday run")
    paid, refused = await born_this_month(stack, funded), await born_this_month(stack, unfunded)
    paid_id, refused_id = f"b-{year}-{paid}", f"b-{year}-{refused}"
    chair = await browser(site, "care-chair", ["admin"], ["*"])
    cadre = await browser(site, "care-cadre-bd", ["cadre", "member"], [funded, unfunded])
    finance = await browser(site, "care-finance", ["finance", "member"], [funded])
    phone = await browser(site, paid, ["member"], [funded])
    people = (chair, cadre, finance, phone)
    try:
        desk = await chair.web.get("/admin/care/birthdays")
        assert desk.status_code == 200 and "运行本月生日福利" in desk.text
        assert f'<input type="month" name="month" value="{month}" required>' in desk.text
        assert counts(desk.text) == ("0 份", "0 份", "0 份")
        ran = await chair.post("/admin/care/birthdays/runs", {"month": month})
        assert ran.status_code == 200, ran.text
        said = "本月生日的在会会员 2 人；本次新发 2 份；年度限额已满未发 0 人；未记账 1 份。"
        assert run_said(ran.text) == said
        again = await chair.post("/admin/care/birthdays/runs", {"month": month})
        assert run_said(again.text) == said.replace("新发 2 份", "新发 0 份")

        # The cadre of both campuses: one benefit 已记账 with its entry, one 未记账 and why.
        async def both_listed() -> bool:
            page = await cadre.web.get("/admin/care/birthdays")
            return set(benefit_rows(page.text)) == {paid_id, refused_id}

        await wait_until(both_listed, 30, "the month's benefits on the cadre's desk")
        listed = await stack.welfare_http.get("/birthdays", params={"month": month}, headers=ADMIN)
        by_id = {b["id"]: b for b in listed.json()}
        seq = by_id[paid_id]["ledger_seq"]
        assert isinstance(seq, int)
        # Paid per batch (a campus's benefits of one run): each benefit shows its batch, the
        # entry's key, so the ledger's entry can be found from it; and the member's name.
        paid_batch = by_id[paid_id]["ledger_batch"]
        refused_batch = by_id[refused_id]["ledger_batch"]
        assert paid_batch.startswith(f"birthdays:{funded}:{month}:")
        assert refused_batch.startswith(f"birthdays:{unfunded}:{month}:")
        page = (await cadre.web.get(f"/admin/care/birthdays?month={month}")).text
        rows = benefit_rows(page)
        assert rows[paid_id] == [
            "寿星",
            funded,
            "200.00",
            "默认",
            "待选择",
            f"已记账 第 {seq} 笔",
            f"<code>{paid_batch}</code>",
        ]
        assert rows[refused_id] == [
            "寿星",
            unfunded,
            "200.00",
            "默认",
            "待选择",
            "未记账：本年度预算尚未批准，不能支出",
            f"<code>{refused_batch}</code>",
        ]
        assert sorted(batch_rows(page)) == sorted(
            [
                [f"<code>{paid_batch}</code>", funded, "1", "200.00", f"已记账 第 {seq} 笔"],
                [
                    f"<code>{refused_batch}</code>",
                    unfunded,
                    "1",
                    "200.00",
                    "未记账：本年度预算尚未批准，不能支出",
                ],
            ]
        )
        assert counts(page) == ("2 份", "0 份", "1 份")
        # No run button for a cadre: welfare runs a month for the school's admin only, and a
        # forged post is its refusal, in words, on the page.
        assert "/admin/care/birthdays/runs" not in page and "运行本月生日福利" not in page
        forged = await cadre.post("/admin/care/birthdays/runs", {"month": month})
        assert forged.status_code == 403 and "需要以下角色之一：admin" in forged.text
        # Finance reads the list too (the batches it finds on the ledger, traced to their
        # members), with no run button; a member not the desk at all.
        books = await finance.web.get(f"/admin/care/birthdays?month={month}")
        assert books.status_code == 200 and paid_batch in books.text
        assert refused_batch not in books.text, "finance of the funded campus only"
        assert "运行本月生日福利" not in books.text
        shut = await phone.web.get("/admin/care/birthdays")
        assert shut.status_code == 403 and "无权访问" in shut.text

        # The member's choice on the phone is confirmed after the redirect, not before.
        async def offered() -> bool:
            return f"{month} 生日慰问" in (await phone.web.get("/m/care")).text

        await wait_until(offered, 30, "the member's benefit on the phone")
        confirmed = "已选择，届时按所选礼品发放"
        assert confirmed not in (await phone.web.get("/m/care")).text
        chose = await phone.post(f"/m/care/birthdays/{paid_id}", {"gift": "books"})
        assert chose.status_code == 303 and chose.headers["location"] == "/m/care?chosen=1"
        shown = await phone.web.get("/m/care?chosen=1")
        assert confirmed in shown.text and "礼品：购书卡" in shown.text
        assert (await phone.web.get("/m/care?chosen=2")).status_code == 404

        async def chosen_on_the_desk() -> bool:
            page = (await cadre.web.get("/admin/care/birthdays")).text
            return counts(page) == ("2 份", "1 份", "1 份")

        await wait_until(chosen_on_the_desk, 30, "the choice on the cadre's desk")
        rows = benefit_rows((await cadre.web.get("/admin/care/birthdays")).text)
        assert rows[paid_id][3:6] == ["购书卡", "已选择", f"已记账 第 {seq} 笔"]
    finally:
        for person in people:
            await person.web.aclose()
