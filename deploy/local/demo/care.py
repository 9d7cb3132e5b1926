"""welfare's condolence demo (慰问): cases at every step, a visit, a hardship file, birthdays.

Over welfare's HTTP API, as the people concerned would: a cadre raises, the chair approves,
finance pays (posted to the ledger: only when this year's budget has the line — the funds
demo adopts it — otherwise the case stays approved), a cadre records a visit. Cases have no
natural key, so a case of the same member and kind that exists already is left as it is:
seeding twice adds nothing. Blood donors are not seeded here: the events demo checks donors
in at a drive that has taken place (events.seed_donors), and welfare raises their cases by
itself from the attendance records (events → welfare over Kafka).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date

import httpx

from deploy.local.demo.client import SeedError, admin_token
from deploy.local.demo.members import demo_members


@dataclass(frozen=True)
class DemoCase:
    member: int  # index into the main campus's active demo members
    kind: str
    amount_fen: int
    summary: str
    steps: tuple[str, ...]  # of approve, pay, decline, visit


DEMO_CASES: tuple[DemoCase, ...] = (
    DemoCase(10, "illness", 50_000, "住院慰问", ("visit",)),
    DemoCase(11, "marriage", 80_000, "新婚慰问", ("approve",)),
    DemoCase(12, "childbirth", 80_000, "生育慰问", ("approve", "pay")),
    DemoCase(13, "death_relative", 100_000, "直系亲属去世慰问", ("approve", "pay", "visit")),
    DemoCase(14, "hardship", 200_000, "困难帮扶", ("approve",)),
    DemoCase(15, "festival_visit", 50_000, "春节走访慰问", ()),
    DemoCase(16, "marriage", 80_000, "新婚慰问（重复登记）", ("decline",)),
)


def _main_members() -> list[str]:
    from services.members.membership.domain import member_id_for

    return [
        member_id_for(m.body["staff_no"])
        for m in demo_members()
        if m.body["campus"] == "main" and not m.body.get("as_applicant") and not m.then
    ]


async def seed(
    welfare_url: str,
    today: date | None = None,
    timeout_s: float = 15,
    wait_s: float = 60,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[int, int]:
    """Returns (cases added, already there); raises SeedError on any other answer.
    (`transport`: the welfare app in process, for the test.)"""
    today = today or date.today()
    headers = {"Authorization": f"Bearer {admin_token()}"}
    people = _main_members()
    added = existing = 0
    client = httpx.AsyncClient(base_url=welfare_url, timeout=timeout_s, transport=transport)
    async with client:
        for demo in DEMO_CASES:
            member = people[demo.member]
            found = await client.get(
                "/cases", params={"member_id": member, "kind": demo.kind}, headers=headers
            )
            if found.status_code != 200:
                raise SeedError(f"GET /cases: {found.text[:300]}")
            if found.json()["total"]:
                existing += 1
                continue
            body = {
                "member_id": member,
                "kind": demo.kind,
                "amount_fen": demo.amount_fen,
                "summary": demo.summary,
                "occurred_on": today.replace(day=1).isoformat(),
            }
            deadline = asyncio.get_running_loop().time() + wait_s
            while True:
                made = await client.post("/cases", json=body, headers=headers)
                if made.status_code == 201:
                    break
                late = asyncio.get_running_loop().time() > deadline
                if made.status_code != 404 or late:
                    raise SeedError(f"POST /cases: {made.text[:300]}")
                await asyncio.sleep(0.5)  # welfare has not learnt this member yet
            added += 1
            case_id = made.json()["id"]
            await _steps(client, headers, case_id, demo, today)
        await _hardship(client, headers, people[17])
        runs = await client.post(
            "/birthdays/runs", json={"month": f"{today:%Y-%m}"}, headers=headers
        )
        if runs.status_code != 200:
            raise SeedError(f"birthdays: {runs.text[:300]}")
    return added, existing


async def _steps(
    client: httpx.AsyncClient, headers: dict[str, str], case_id: str, demo: DemoCase, today: date
) -> None:
    for step in demo.steps:
        url = f"/cases/{case_id}"
        if step == "visit":
            body = {
                "visitors": ["工会主席", "部门工会小组长"],
                "visited_on": today.isoformat(),
                "brought": "水果篮、慰问金",
                "notes": "家属情绪稳定，已转达学校关心；需要时联系工会。",
            }
            answer = await client.post(f"{url}/visits", json=body, headers=headers)
        elif step == "pay":
            answer = await client.post(f"{url}/pay", json={"voucher_no": "演示"}, headers=headers)
            unpaid = ("funds.no_budget", "funds.over_budget")
            if answer.status_code == 409 and answer.json().get("code") in unpaid:
                # No money on the line this year (the funds demo budgets it; a budget adopted
                # by hand may not, or be spent): the case stays approved, as it would waiting
                # for the money.
                continue
        elif step == "decline":
            answer = await client.post(f"{url}/decline", json={"note": "重复登记"}, headers=headers)
        else:
            answer = await client.post(f"{url}/{step}", json={}, headers=headers)
        if answer.status_code not in (200, 201):
            raise SeedError(f"{step} {case_id}: {answer.text[:300]}")


async def _hardship(client: httpx.AsyncClient, headers: dict[str, str], member: str) -> None:
    body = {"member_id": member, "level": "special", "reason": "配偶重病，子女就学，家庭收入低"}
    opened = await client.post("/hardship", json=body, headers=headers)
    if opened.status_code == 409:
        return
    if opened.status_code != 201:
        raise SeedError(f"hardship: {opened.text[:300]}")
    help_ = {"given_on": date.today().isoformat(), "what": "送温暖慰问金", "amount_fen": 100_000}
    answer = await client.post(f"/hardship/{opened.json()['id']}/help", json=help_, headers=headers)
    if answer.status_code != 200:
        raise SeedError(f"hardship help: {answer.text[:300]}")
