"""The care pages through web, on the real members and welfare services: a cadre records help
and the yearly review on a hardship file (a second review the same year refused in words,
changing nothing), and a member applies for a case for themself on the phone — only the
kinds welfare lets a member raise are offered, and a forged post of another is refused."""

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


async def browser(site: Site, subject: str, roles: list[str]) -> Browser:
    """A browser signed in as sign-in makes a session (a token minted for the person)."""
    sessions = site.app.state.web.sessions
    session = sessions.new(
        member_id=subject,
        roles=roles,
        campuses=["main"],
        access_token=mint_token(subject, roles, ["main"]),
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
        assert f"{member_id} · 特别困难 · 已脱困</h2>" in part and "收入稳定" in part
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
