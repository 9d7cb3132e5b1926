"""收支汇总's pure pieces: the welfare API's budget-against-actual (by line and month) laid
out as lines × months 1–12, campuses added up line by line and month by month, and the rows
of its download (amounts as numbers in yuan, campus names neutralised)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from services.web.org import Org
from services.web.pages.funds_summary import (
    ADDED_UP,
    ALL,
    HEADER,
    Summary,
    added,
    block_of,
    sheet_rows,
)
from services.welfare.funds.api import budget_public
from services.welfare.funds.chart import current_chart
from services.welfare.funds.domain import LedgerState, figures
from services.welfare.funds.handlers import Summary as Found
from shared.export import csv_bytes

YEAR = 2095
FESTIVAL = "spend_activity_festival"
CULTURE = "spend_activity_culture_sports"
ALLOCATION = "income_allocation"


def entry(kind: str, line: str, fen: int, day: str, **more: Any) -> dict[str, Any]:
    return {"kind": kind, "line": line, "amount_fen": fen, "occurred_on": day, **more}


def answer(campus: str, entries: list[dict[str, Any]], state: LedgerState) -> dict[str, Any]:
    """What GET /funds/budgets/{campus}/{year} answers, made by the welfare service's code."""
    found = Found(state, figures(entries, state, current_chart()), len(entries) + 1)
    return budget_public(campus, YEAR, found).model_dump(mode="json")


MAIN = answer(
    "main",
    [
        entry("payment", FESTIVAL, 12_800, f"{YEAR}-03-01"),
        entry("income", ALLOCATION, 100_000, f"{YEAR}-03-10"),
        entry("payment", FESTIVAL, 30_000, f"{YEAR}-04-15"),
        # the March payment reversed in May: May's figure is negative, March's stays
        entry("reversal", FESTIVAL, 12_800, f"{YEAR}-05-02", reverses=1, reverses_kind="payment"),
    ],
    LedgerState(
        adopted=True,
        budget={FESTIVAL: 500_000, CULTURE: 200_000},
        spent={FESTIVAL: 30_000},
        income={ALLOCATION: 100_000},
        balance_fen=70_000,
    ),
)
EAST = answer(
    "east",
    [entry("payment", FESTIVAL, 7_000, f"{YEAR}-04-20")],
    LedgerState(
        adopted=True, budget={FESTIVAL: 300_000}, spent={FESTIVAL: 7_000}, balance_fen=-7_000
    ),
)


def test_a_campus_reads_as_lines_by_month_with_budget_remaining_and_use():
    block = block_of(YEAR, MAIN)
    rows = {r.code: r for r in block.rows}
    festival = rows[FESTIVAL]
    assert festival.name == "节日慰问" and festival.parent == "spend_activity"
    assert festival.months == (0, 0, 12_800, 30_000, -12_800, 0, 0, 0, 0, 0, 0, 0)
    assert (festival.budget_fen, festival.actual_fen) == (500_000, 30_000)
    assert (festival.remaining_fen, festival.used_pct) == (470_000, 6.0)
    heading = rows["spend_activity"]  # the heading sums its sub-lines
    assert (heading.budget_fen, heading.actual_fen) == (700_000, 30_000)
    assert heading.months[3] == 30_000
    income = rows[ALLOCATION]
    assert income.months[2] == 100_000 and income.remaining_fen is None and income.used_pct is None
    for row in block.rows:  # the months add up to the year
        assert sum(row.months) == row.actual_fen, row.code
    spent, received = block.total("spending"), block.total("income")
    assert (spent.budget_fen, spent.actual_fen, spent.months[4]) == (700_000, 30_000, -12_800)
    assert received.actual_fen == 100_000 and block.balance_fen == 70_000


def test_campuses_add_up_line_by_line_and_month_by_month():
    together = added([block_of(YEAR, MAIN), block_of(YEAR, EAST)])
    festival = {r.code: r for r in together.rows}[FESTIVAL]
    # April: main's 300.00 and east's 70.00; March and May are main's alone.
    assert festival.months[2:5] == (12_800, 37_000, -12_800)
    assert (festival.budget_fen, festival.actual_fen) == (800_000, 37_000)
    assert festival.used_pct == 4.6  # 37,000 of 800,000, as the service rounds it
    assert together.campus == ALL and together.adopted
    assert together.total("spending").actual_fen == 37_000
    assert together.balance_fen == 63_000
    assert [r.code for r in together.rows] == [r.code for r in block_of(YEAR, MAIN).rows]
    assert not added([]).rows and not added([]).adopted


def test_the_download_lists_each_campus_then_all_added_up_with_amounts_as_numbers():
    blocks = [block_of(YEAR, MAIN), block_of(YEAR, EAST)]
    found = Summary(YEAR, ALL, ["main", "east"], blocks, added(blocks))
    org = Org({"main": {"name": "本部"}, "east": {"name": '=HYPERLINK("http://x","东")'}})
    rows = sheet_rows(found, org)
    assert {r[0] for r in rows} == {"本部", '=HYPERLINK("http://x","东")', ADDED_UP}
    assert all(len(r) == len(HEADER) for r in rows)
    may = HEADER.index("5月（元）")
    main_festival = next(r for r in rows if r[0] == "本部" and r[1] == FESTIVAL)
    assert main_festival[2:5] == ["节日慰问", "支出", Decimal("5000.00")]
    assert main_festival[may] == Decimal("-128.00") and main_festival[-1] == 6.0
    total = next(r for r in rows if r[0] == ADDED_UP and r[2] == "支出合计")
    assert total[HEADER.index("4月（元）")] == Decimal("370.00")
    assert total[HEADER.index("实际合计（元）")] == Decimal("370.00")
    income = next(r for r in rows if r[0] == ADDED_UP and r[1] == ALLOCATION)
    assert income[HEADER.index("预算（元）")] is None and income[-2:] == [None, None]

    written = list(csv.reader(io.StringIO(csv_bytes(HEADER, rows).decode("utf-8-sig"))))
    east = next(r for r in written if r[1] == FESTIVAL and r[0].startswith("'"))
    assert east[0] == "'" + '=HYPERLINK("http://x","东")'  # a campus name runs no formula
    assert next(r for r in written if r[0] == "本部" and r[1] == FESTIVAL)[may] == "-128.00"


def test_one_campus_downloads_its_own_lines_only():
    block = block_of(YEAR, EAST)
    rows = sheet_rows(Summary(YEAR, "east", ["east"], [block], block), Org())
    assert {r[0] for r in rows} == {"east"}
