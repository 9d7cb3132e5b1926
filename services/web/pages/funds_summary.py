"""收支汇总 under /admin/funds/summary: budget against actual per line and month (1–12) of one
campus, or of all the caller's campuses added up, and the same as CSV and Excel.

The figures are the welfare service's, asked as the signed-in person (GET
/funds/budgets/{campus}/{year} for one campus, GET /funds/summary/{year} for every campus
the caller holds): finance, the auditor and the chair read them, the service refuses the
others. A month is the month of an entry's date (北京时间); a reversal counts negative in
its own month. Here several campuses are only added up, line by line and month by month.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from services.web.context import StaffVisit, Visit
from services.web.org import Org
from services.web.pages.funds import YearQuery, my_campuses
from shared.export import Value, csv_bytes, xlsx_bytes
from shared.timeutil import local_today

router = APIRouter()

ALL = "*"  # every campus of the caller's, added up
CampusOrAll = Annotated[str | None, Query(pattern=r"^([a-z][a-z0-9-]{0,31}|\*)$")]
MONTHS = tuple(range(1, 13))
KINDS = {"spending": "支出", "income": "收入"}
ADDED_UP = "全部校区合计"
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Row:
    """A line of the chart (or a total of lines): its budget and actual, in all and per month
    (fen). A spending line has a budget; an income line only its actual."""

    code: str
    name: str
    kind: str  # spending | income
    parent: str | None  # None: a top line (a heading sums its sub-lines)
    budget_fen: int
    actual_fen: int
    months: tuple[int, ...]  # January … December

    @property
    def remaining_fen(self) -> int | None:
        return self.budget_fen - self.actual_fen if self.kind == "spending" else None

    @property
    def used_pct(self) -> float | None:
        """预算使用率 (%), as the welfare service rounds it; none without a budget."""
        if self.kind != "spending" or self.budget_fen <= 0:
            return None
        return round(self.actual_fen * 100 / self.budget_fen, 1)

    def plus(self, other: Row) -> Row:
        return Row(
            self.code,
            self.name,
            self.kind,
            self.parent,
            self.budget_fen + other.budget_fen,
            self.actual_fen + other.actual_fen,
            tuple(a + b for a, b in zip(self.months, other.months, strict=True)),
        )


@dataclass(frozen=True)
class Block:
    """The summary of one campus, or (campus ALL) of several added up."""

    campus: str
    adopted: bool
    rows: tuple[Row, ...]  # in the chart's order

    def lines(self, kind: str) -> list[Row]:
        return [r for r in self.rows if r.kind == kind]

    def total(self, kind: str) -> Row:
        """支出合计 / 收入合计: the top lines added up (a heading already holds its sub-lines)."""
        zero = Row("", f"{KINDS[kind]}合计", kind, None, 0, 0, (0,) * len(MONTHS))
        for row in self.lines(kind):
            if row.parent is None:
                zero = zero.plus(row)
        return zero

    @property
    def balance_fen(self) -> int:
        return self.total("income").actual_fen - self.total("spending").actual_fen


def block_of(year: int, found: dict[str, Any]) -> Block:
    """A campus's summary as the welfare API gives it (by_month keyed YYYY-MM)."""
    rows = tuple(
        Row(
            code=line["code"],
            name=line["name"],
            kind=line["kind"],
            parent=line["parent"],
            budget_fen=line["budget_fen"],
            actual_fen=line["actual_fen"],
            months=tuple(line["by_month"].get(f"{year}-{m:02d}", 0) for m in MONTHS),
        )
        for line in found["lines"]
    )
    return Block(found["campus"], found["adopted"], rows)


def added(blocks: list[Block]) -> Block:
    """Several campuses as one: each line's budget, actual and months summed."""
    rows: dict[str, Row] = {}
    for block in blocks:
        for row in block.rows:
            rows[row.code] = rows[row.code].plus(row) if row.code in rows else row
    adopted = bool(blocks) and all(b.adopted for b in blocks)
    return Block(ALL, adopted, tuple(rows.values()))


@dataclass(frozen=True)
class Summary:
    year: int
    campus: str  # the campus shown, or ALL
    campuses: list[str]  # the caller's, to choose from
    blocks: list[Block]  # each campus's (one; or every one with a ledger that year)
    shown: Block  # the campus's, or all of them added up

    @property
    def query(self) -> str:
        return f"campus={self.campus}&year={self.year}"


async def read(visit: Visit, campus: str | None, year: int | None) -> Summary:
    """The summary the page asked for; with no campus chosen, all of them when the caller
    holds more than one."""
    campuses = await my_campuses(visit)
    y = year or local_today().year
    c = campus or (ALL if len(campuses) > 1 else campuses[0])
    if c == ALL:
        found = await visit.get("welfare", f"/funds/summary/{y}")
        blocks = [block_of(y, each) for each in found["campuses"]]
        return Summary(y, c, campuses, blocks, added(blocks))
    block = block_of(y, await visit.get("welfare", f"/funds/budgets/{c}/{y}"))
    return Summary(y, c, campuses, [block], block)


@router.get("/admin/funds/summary")
async def summary(
    visit: StaffVisit, campus: CampusOrAll = None, year: YearQuery = None
) -> Response:
    """收支汇总: budget against actual per line and month of a campus, or of all mine added
    up with each campus's totals; read-only; role: finance, auditor or the chair."""
    found = await read(visit, campus, year)
    return visit.render(
        "funds/summary.html",
        s=found,
        campus=found.campus,
        year=found.year,
        campuses=found.campuses,
        months=MONTHS,
        section="funds",
    )


# -- the download -----------------------------------------------------------------------------

HEADER = [
    "校区",
    "科目代码",
    "科目",
    "类别",
    "预算（元）",
    *(f"{m}月（元）" for m in MONTHS),
    "实际合计（元）",
    "预算余额（元）",
    "使用率（%）",
]


def yuan(fen: int | None) -> Decimal | None:
    """Fen as yuan to the fen: a number in the file, shown with two decimals."""
    return None if fen is None else Decimal(fen).scaleb(-2)


def sheet_rows(found: Summary, org: Org) -> list[list[Value]]:
    """Each campus's lines and totals, then (all campuses) the same added up."""
    blocks = [*found.blocks, found.shown] if found.campus == ALL else found.blocks
    out: list[list[Value]] = []
    for block in blocks:
        where = ADDED_UP if block.campus == ALL else org.campus(block.campus)
        for kind, label in KINDS.items():
            for r in [*block.lines(kind), block.total(kind)]:
                budget = yuan(r.budget_fen) if kind == "spending" else None
                out.append(
                    [
                        where,
                        r.code,
                        r.name,
                        label,
                        budget,
                        *(yuan(m) for m in r.months),
                        yuan(r.actual_fen),
                        yuan(r.remaining_fen),
                        r.used_pct,
                    ]
                )
    return out


async def download(
    visit: Visit, campus: str | None, year: int | None, fmt: Literal["csv", "xlsx"]
) -> Response:
    found = await read(visit, campus, year)
    rows = sheet_rows(found, visit.known_org)
    name = f"funds-summary-{'all' if found.campus == ALL else found.campus}-{found.year}.{fmt}"
    if fmt == "csv":
        body, media = csv_bytes(HEADER, rows), CSV
    else:
        body, media = xlsx_bytes(f"{found.year} 收支汇总", HEADER, rows), XLSX
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(body, media_type=media, headers=headers)


@router.get("/admin/funds/summary.csv")
async def summary_csv(
    visit: StaffVisit, campus: CampusOrAll = None, year: YearQuery = None
) -> Response:
    """收支汇总 as CSV (each campus's lines by month, and all added up); role: finance,
    auditor or the chair."""
    return await download(visit, campus, year, "csv")


@router.get("/admin/funds/summary.xlsx")
async def summary_xlsx(
    visit: StaffVisit, campus: CampusOrAll = None, year: YearQuery = None
) -> Response:
    """收支汇总 as Excel (each campus's lines by month, and all added up); role: finance,
    auditor or the chair."""
    return await download(visit, campus, year, "xlsx")
