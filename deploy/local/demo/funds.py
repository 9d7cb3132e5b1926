"""welfare's demo data, the money side (经费): this year's budget of each campus per line
(adopted by the chair), a few incomes and payments recorded by the finance officer, and one
payment reversed, so a new user sees money flowing. The dues income comes by itself: every
demo dues payment (members.py) is announced on Kafka and welfare posts it to 会费收入.

Seeding twice changes nothing: a budget is adopted once (409 after), each income and payment
carries a fixed idempotency key (a repeat answers 200 with the entry already there), and an
entry is reversed once (409 after).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from deploy.local.demo.client import SeedError, admin_token, check
from deploy.local.demo.members import DEMO_CAMPUSES, demo_members

# 元 per line, per campus: a school union of about sixty members on two campuses.
BUDGETS: dict[str, dict[str, int]] = {
    "main": {
        "spend_activity_education": 20_000,
        "spend_activity_culture_sports": 60_000,
        "spend_activity_publicity": 10_000,
        "spend_activity_festival": 120_000,
        "spend_activity_birthday": 30_000,
        # the 慰问金 of condolence cases (services/welfare/cases/domain.py LINE): the care
        # demo pays two
        "spend_activity_other": 20_000,
        "spend_rights_hardship": 30_000,
        "spend_rights_warmth": 20_000,
        "spend_business_training": 15_000,
        "spend_business_meeting": 8_000,
    },
    "north": {
        "spend_activity_culture_sports": 20_000,
        "spend_activity_festival": 45_000,
        "spend_activity_birthday": 10_000,
        "spend_activity_other": 6_000,
        "spend_rights_hardship": 10_000,
    },
}

# (campus, kind, line, 元, month, day, cause, voucher); the payment marked * is reversed.
POSTINGS = [
    (
        "main",
        "income",
        "income_allocation",
        180_000,
        3,
        10,
        "学校按工资总额 2% 拨缴经费（上半年）",
        "收-0310",
    ),
    (
        "main",
        "income",
        "income_admin_subsidy",
        50_000,
        4,
        8,
        "学校行政补助（教职工活动）",
        "收-0408",
    ),
    ("north", "income", "income_allocation", 60_000, 3, 10, "学校拨缴经费（上半年）", "收-0311"),
    (
        "main",
        "payment",
        "spend_activity_festival",
        38_400,
        6,
        12,
        "端午节慰问品（粽子礼盒）",
        "记-0612",
    ),
    (
        "main",
        "payment",
        "spend_activity_culture_sports",
        6_500,
        5,
        20,
        "教职工篮球赛场地与奖品",
        "记-0520",
    ),
    (
        "main",
        "payment",
        "spend_activity_culture_sports",
        6_500,
        5,
        21,
        "教职工篮球赛场地与奖品*",
        "记-0521",
    ),
    ("main", "payment", "spend_rights_hardship", 5_000, 7, 3, "困难教职工帮扶", "记-0703"),
    ("main", "payment", "spend_business_training", 3_200, 9, 15, "工会干部培训", "记-0915"),
    ("north", "payment", "spend_activity_festival", 14_400, 6, 12, "端午节慰问品", "记-N0612"),
]


def tally(response: httpx.Response, added: int, existing: int) -> tuple[int, int]:
    return (added + 1, existing) if response.status_code == 201 else (added, existing + 1)


def _finance_token() -> str:
    """The demo finance officer (行政办公室), on both campuses."""
    from services.members.membership.domain import member_id_for
    from shared.auth import mint_token
    from shared.settings import DEV_PRIVATE_KEY

    officer = next(p for p in demo_members() if "finance" in p.body.get("roles", []))
    key = Path(os.environ.get("GONGHUI_AUTH_PRIVATE_KEY_FILE") or DEV_PRIVATE_KEY)
    subject = member_id_for(officer.body["staff_no"])
    return mint_token(subject, ["finance"], sorted(DEMO_CAMPUSES), private_key_file=key)


async def seed(
    welfare_url: str, timeout_s: float = 15, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[int, int]:
    """Returns (entries added, already there); raises SeedError on any other answer.
    (`transport`: the welfare app in process, for a test.)"""
    from shared.timeutil import local_today

    today = local_today()
    year = today.year
    chair = {"Authorization": f"Bearer {admin_token()}"}
    finance = {"Authorization": f"Bearer {_finance_token()}"}
    added = existing = 0
    client = httpx.AsyncClient(base_url=welfare_url, timeout=timeout_s, transport=transport)
    async with client:
        for campus, lines in BUDGETS.items():
            body = {
                "lines": {line: yuan * 100 for line, yuan in lines.items()},
                "note": f"{year} 年工会经费预算（工会委员会审议通过）",
            }
            response = await client.post(
                f"/funds/budgets/{campus}/{year}", json=body, headers=chair
            )
            check(response, f"adopt the {campus} budget")
            added, existing = tally(response, added, existing)
        for i, (campus, kind, line, yuan, month, day, cause, voucher) in enumerate(POSTINGS):
            occurred = min(date(year, month, day), today)
            posting: dict[str, Any] = {
                "line": line,
                "amount_fen": yuan * 100,
                "cause": cause.rstrip("*"),
                "approved_by": "工会主席",
                "voucher_no": voucher,
                "occurred_on": occurred.isoformat(),
                "idempotency_key": f"demo-{year}-{campus}-{i:02d}",
            }
            path = f"/funds/ledgers/{campus}/{year}/{'income' if kind == 'income' else 'payments'}"
            response = await client.post(path, json=posting, headers=finance)
            check(response, f"{kind} {voucher}")
            if response.status_code == 409:  # over budget after hand changes: leave it
                continue
            added, existing = tally(response, added, existing)
            if cause.endswith("*"):  # recorded twice by mistake: reversed, never edited
                seq = response.json()["entry"]["seq"]
                reversal = {"reason": "重复报销，冲正", "voucher_no": f"{voucher}-冲"}
                undo = await client.post(
                    f"/funds/ledgers/{campus}/{year}/entries/{seq}/reversal",
                    json=reversal,
                    headers=finance,
                )
                check(undo, f"reverse {voucher}")
                added, existing = tally(undo, added, existing)
    if added + existing == 0:
        raise SeedError("no funds demo data written")
    return added, existing
