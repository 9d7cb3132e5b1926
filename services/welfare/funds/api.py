"""Funds routes (经费): the chart, budgets, the ledger, the check, summaries and exports.

The ledger has no route that edits or deletes an entry: a correction is a reversal
(`POST …/entries/{seq}/reversal`), itself a new entry.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, Field, JsonValue

from services.welfare.deps import CampusCode, Year
from services.welfare.funds.chart import KIND_ZH, LINE_CODE, LineKind, current_chart
from services.welfare.funds.domain import ENTRY_ZH, MAX_FEN, EntryKind, chain_of, figures
from services.welfare.funds.handlers import (
    Funds,
    Posting,
    Summary,
    adopt_budget,
    amend_budget,
    check_ledger,
    post_entry,
    public_states,
    require_reader,
    reverse_entry,
    summary,
    year_summaries,
)
from services.welfare.funds.sheets import to_csv, to_xlsx
from services.welfare.funds.store import Posted
from shared.auth import CurrentUser, Principal
from shared.errors import NotFound
from shared.problems import PROBLEM_RESPONSES
from shared.public import PublicModel
from shared.runtime import provided
from shared.text import VISIBLE_TEXT
from shared.timeutil import as_local

FundsDep = Annotated[Funds, Depends(provided("funds"))]

router = APIRouter(prefix="/funds", responses=PROBLEM_RESPONSES, tags=["经费 funds"])

Seq = Annotated[int, Path(ge=1, le=1_000_000, description="账簿记录序号")]


# The leaf lines of the chart in force, stated in the schema, so a client knows them; the
# domain checks the same (a chart version is data: a new one changes this list, not code).
def _leaves(kind: LineKind) -> list[str]:
    return sorted(current_chart().leaves_codes(kind))


def _line_of(kind: LineKind) -> Any:
    codes: list[JsonValue] = [*_leaves(kind)]
    return Field(
        pattern=LINE_CODE,
        json_schema_extra={"enum": codes},
        description=f"{KIND_ZH[kind]}明细科目代码，见 GET /funds/chart",
    )


SpendingLine = Annotated[str, _line_of(LineKind.spending)]
IncomeLine = Annotated[str, _line_of(LineKind.income)]
IdempotencyKey = Field(
    min_length=8,
    max_length=64,
    pattern=r"^[A-Za-z0-9_.:-]+$",
    description="幂等键：表单生成一次，重复提交只记一笔",
)
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -- the chart --------------------------------------------------------------------------------


class LinePublic(BaseModel):
    code: str
    name: str
    kind: LineKind = Field(description="income 收入 / spending 支出")
    kind_label: str
    parent: str | None = Field(description="上级科目代码；空为一级科目")
    postable: bool = Field(description="可记账（明细科目）；否为汇总科目")


class ChartPublic(BaseModel):
    version: str
    effective: date
    source: str = Field(description="依据")
    note: str
    lines: list[LinePublic]


@router.get("/chart")
async def get_chart(funds: FundsDep, user: CurrentUser) -> ChartPublic:
    """The chart of accounts in force (收支科目), with its version and source; role: any
    signed-in user (经费公开)."""
    chart = funds.chart
    return ChartPublic(
        version=chart.version,
        effective=chart.effective,
        source=chart.source,
        note=chart.note,
        lines=[
            LinePublic(
                code=line.code,
                name=line.name,
                kind=line.kind,
                kind_label=KIND_ZH[line.kind],
                parent=line.parent,
                postable=chart.is_leaf(line.code),
            )
            for line in chart.lines
        ],
    )


# -- entries ----------------------------------------------------------------------------------


class EntryPublic(BaseModel):
    id: str
    campus: str
    year: int
    seq: int
    kind: EntryKind
    kind_label: str
    line: str | None
    line_name: str | None
    amount_fen: int = Field(description="金额（分）；预算调整为变动额，可为负")
    lines: dict[str, int] | None = Field(description="预算批准：各科目预算（分）")
    reverses: int | None = Field(description="冲正的原记录序号")
    cause: str | None = Field(description="事由")
    cause_ref: str | None = Field(description="来源，如 members.dues:<缴费编号>")
    approved_by: str | None = Field(description="审批人")
    voucher_no: str | None = Field(description="凭证号")
    reason: str | None = Field(description="预算说明、调整或冲正原因")
    occurred_on: date | None = Field(description="业务日期（北京时间）")
    by: str = Field(description="记账人")
    at: datetime = Field(description="记账时间（北京时间）")
    line_budget_fen: int | None = Field(description="记账后本科目预算（分）")
    line_spent_fen: int | None = Field(description="记账后本科目已支出（分）")
    balance_fen: int = Field(description="记账后结余（收入减支出，分）")
    prev_hash: str
    hash: str


def entry_public(entry: dict[str, Any], funds: Funds) -> EntryPublic:
    kind = EntryKind(entry["kind"])
    line = entry.get("line")
    state = entry["state"]
    spending = line is not None and line in funds.chart.leaves_codes(LineKind.spending)
    return EntryPublic(
        id=entry["_id"],
        campus=entry["campus"],
        year=entry["year"],
        seq=entry["seq"],
        kind=kind,
        kind_label=ENTRY_ZH[kind],
        line=line,
        line_name=funds.chart.name_of(line) if line else None,
        amount_fen=entry["amount_fen"],
        lines=entry.get("lines"),
        reverses=entry.get("reverses"),
        cause=entry.get("cause"),
        cause_ref=entry.get("cause_ref"),
        approved_by=entry.get("approved_by"),
        voucher_no=entry.get("voucher_no"),
        reason=entry.get("reason"),
        occurred_on=entry.get("occurred_on"),
        by=entry["by"],
        at=as_local(entry["at"]),
        line_budget_fen=state["budget"].get(line, 0) if spending else None,
        line_spent_fen=state["spent"].get(line, 0) if spending else None,
        balance_fen=state["balance_fen"],
        prev_hash=entry["prev_hash"],
        hash=entry["hash"],
    )


class Written(BaseModel):
    entry: EntryPublic
    replayed: bool = Field(description="同一请求重复提交：未新增记录")


WRITTEN: dict[int | str, dict[str, Any]] = {
    200: {"description": "重复提交：返回已记的那一笔", "model": Written}
}


def _written(posted: Posted, funds: Funds, response: Response) -> Written:
    if posted.replayed:
        response.status_code = status.HTTP_200_OK
    return Written(entry=entry_public(posted.entry, funds), replayed=posted.replayed)


# -- budgets ----------------------------------------------------------------------------------


class AdoptBudget(BaseModel):
    lines: dict[SpendingLine, Annotated[int, Field(ge=0, le=MAX_FEN)]] = Field(
        description="各支出明细科目的年度预算（分）", min_length=1, max_length=100
    )
    note: str = Field(
        min_length=1, max_length=200, pattern=VISIBLE_TEXT, description="说明，如会议批准文号"
    )


@router.post("/budgets/{campus}/{year}", status_code=status.HTTP_201_CREATED)
async def adopt(
    campus: CampusCode, year: Year, body: AdoptBudget, funds: FundsDep, user: CurrentUser
) -> Written:
    """预算批准: the year's budget of a campus per spending line, once (409
    `funds.budget_adopted` after; change it by amendments); role: admin (工会主席) of the
    campus."""
    posted = await adopt_budget(funds, user, campus, year, body.lines, body.note.strip())
    return Written(entry=entry_public(posted.entry, funds), replayed=False)


class Amendment(BaseModel):
    line: SpendingLine
    change_fen: int = Field(
        ge=-MAX_FEN,
        le=MAX_FEN,
        json_schema_extra={"not": {"const": 0}},
        description="预算变动（分）：正数调增，负数调减，不为 0",
    )
    reason: str = Field(min_length=1, max_length=200, pattern=VISIBLE_TEXT, description="调整原因")
    idempotency_key: str = IdempotencyKey


@router.post(
    "/budgets/{campus}/{year}/amendments", status_code=status.HTTP_201_CREATED, responses=WRITTEN
)
async def amend(
    campus: CampusCode,
    year: Year,
    body: Amendment,
    funds: FundsDep,
    user: CurrentUser,
    response: Response,
) -> Written:
    """预算调整 of one line with its reason, recorded on the ledger; never below what the line
    has spent (409 `funds.budget_below_spent`); role: admin (工会主席) of the campus."""
    posted = await amend_budget(
        funds,
        user,
        campus,
        year,
        body.line,
        body.change_fen,
        body.reason.strip(),
        body.idempotency_key,
    )
    return _written(posted, funds, response)


class LinePlan(PublicModel):
    code: str
    name: str
    kind: LineKind
    parent: str | None
    budget_fen: int
    actual_fen: int = Field(description="实际：支出科目为已支出，收入科目为已收入（扣除冲正）")
    remaining_fen: int = Field(description="预算余额（支出科目）")
    used_pct: float | None = Field(description="预算使用率（%）")
    by_month: dict[str, int] = Field(description="各月实际（分），键为 YYYY-MM")


class BudgetPublic(BaseModel):
    campus: str
    year: int
    adopted: bool = Field(description="预算已批准")
    entries: int = Field(description="账簿记录数")
    income_fen: int
    spent_fen: int
    balance_fen: int = Field(description="结余（收入减支出）")
    lines: list[LinePlan]


def budget_public(campus: str, year: int, found: Summary) -> BudgetPublic:
    return BudgetPublic(
        campus=campus,
        year=year,
        adopted=found.state.adopted,
        entries=found.entries,
        income_fen=sum(found.state.income.values()),
        spent_fen=sum(found.state.spent.values()),
        balance_fen=found.state.balance_fen,
        lines=[LinePlan.of(f) for f in found.lines],
    )


@router.get("/budgets/{campus}/{year}")
async def get_budget(
    campus: CampusCode, year: Year, funds: FundsDep, user: CurrentUser
) -> BudgetPublic:
    """Budget against actual per line (headings sum their sub-lines) and per month; role:
    finance or auditor of the campus."""
    return budget_public(campus, year, await summary(funds, user, campus, year))


class YearPublic(BaseModel):
    year: int
    campuses: list[BudgetPublic] = Field(description="调用者有权查看的各校区")


@router.get("/summary/{year}")
async def get_year(
    year: Annotated[int, Path(ge=2000, le=2100, description="预算年度（自然年）")],
    funds: FundsDep,
    user: CurrentUser,
) -> YearPublic:
    """Budget against actual of every campus the caller holds that has a ledger that year
    (by line and month); role: finance or auditor."""
    found = await year_summaries(funds, user, year)
    return YearPublic(
        year=year, campuses=[budget_public(campus, year, each) for campus, each in found]
    )


class PublicLine(BaseModel):
    code: str
    name: str
    parent: str | None = Field(description="上级科目代码；空为一级科目")
    budget_fen: int
    actual_fen: int = Field(description="已支出（扣除冲正）")
    used_pct: float | None = Field(description="预算使用率（%）")


class PublicCampus(BaseModel):
    campus: str
    adopted: bool = Field(description="预算已批准")
    budget_fen: int = Field(description="支出预算合计")
    spent_fen: int = Field(description="已支出合计")
    income_fen: int = Field(description="已收入合计")
    lines: list[PublicLine] = Field(description="支出科目（一级科目为其明细之和）")


class PublicYear(BaseModel):
    year: int
    campuses: list[PublicCampus] = Field(description="调用者所在校区")


@router.get("/public/{year}")
async def get_public(
    year: Annotated[int, Path(ge=2000, le=2100, description="预算年度（自然年）")],
    funds: FundsDep,
    user: CurrentUser,
) -> PublicYear:
    """经费公开: this year's budget against actual spending per line of the caller's
    campuses, totals only (no entry, no person); role: member."""
    found = await public_states(funds, user, year)
    campuses = []
    for campus, state in found:
        lines = [f for f in figures([], state, funds.chart) if f.kind is LineKind.spending]
        campuses.append(
            PublicCampus(
                campus=campus,
                adopted=state.adopted,
                budget_fen=sum(state.budget.values()),
                spent_fen=sum(state.spent.values()),
                income_fen=sum(state.income.values()),
                lines=[
                    PublicLine(
                        code=f.code,
                        name=f.name,
                        parent=f.parent,
                        budget_fen=f.budget_fen,
                        actual_fen=f.actual_fen,
                        used_pct=f.used_pct,
                    )
                    for f in lines
                ],
            )
        )
    return PublicYear(year=year, campuses=campuses)


# -- income and payments ----------------------------------------------------------------------


class PostingIn(BaseModel):
    line: str = Field(pattern=LINE_CODE, description="科目代码")
    amount_fen: int = Field(ge=1, le=MAX_FEN, description="金额（分），如 45.50 元为 4550")
    cause: str = Field(min_length=1, max_length=200, pattern=VISIBLE_TEXT, description="事由")
    approved_by: str = Field(
        min_length=1, max_length=50, pattern=VISIBLE_TEXT, description="审批人"
    )
    voucher_no: str = Field(
        min_length=1, max_length=50, pattern=VISIBLE_TEXT, description="财务凭证号"
    )
    occurred_on: date | None = Field(None, description="业务日期；默认今天（北京时间）")
    idempotency_key: str = IdempotencyKey

    def posting(self) -> Posting:
        """The posting as the use case takes it (texts trimmed)."""
        return Posting(
            line=self.line,
            amount_fen=self.amount_fen,
            cause=self.cause.strip(),
            approved_by=self.approved_by.strip(),
            voucher_no=self.voucher_no.strip(),
            occurred_on=self.occurred_on,
            key=self.idempotency_key,
        )


class IncomeIn(PostingIn):
    line: IncomeLine


class PaymentIn(PostingIn):
    line: SpendingLine


@router.post(
    "/ledgers/{campus}/{year}/income", status_code=status.HTTP_201_CREATED, responses=WRITTEN
)
async def post_income(
    campus: CampusCode,
    year: Year,
    body: IncomeIn,
    funds: FundsDep,
    user: CurrentUser,
    response: Response,
) -> Written:
    """记收入 on an income line, once per idempotency key; role: finance of the campus."""
    posted = await post_entry(funds, user, campus, year, EntryKind.income, body.posting())
    return _written(posted, funds, response)


@router.post(
    "/ledgers/{campus}/{year}/payments", status_code=status.HTTP_201_CREATED, responses=WRITTEN
)
async def post_payment(
    campus: CampusCode,
    year: Year,
    body: PaymentIn,
    funds: FundsDep,
    user: CurrentUser,
    response: Response,
) -> Written:
    """记支出 on a spending line, only within its remaining budget (409 `funds.over_budget`
    with budget, spent and remaining; 409 `funds.no_budget` before adoption), once per
    idempotency key; role: finance of the campus."""
    posted = await post_entry(funds, user, campus, year, EntryKind.payment, body.posting())
    return _written(posted, funds, response)


class ReversalIn(BaseModel):
    reason: str = Field(min_length=1, max_length=200, pattern=VISIBLE_TEXT, description="冲正原因")
    voucher_no: str | None = Field(
        None, min_length=1, max_length=50, pattern=VISIBLE_TEXT, description="冲正凭证号"
    )
    occurred_on: date | None = Field(None, description="冲正日期；默认今天（北京时间）")


@router.post("/ledgers/{campus}/{year}/entries/{seq}/reversal", status_code=status.HTTP_201_CREATED)
async def reverse(
    campus: CampusCode, year: Year, seq: Seq, body: ReversalIn, funds: FundsDep, user: CurrentUser
) -> Written:
    """冲正: a new entry with the opposite effect, pointing at entry `seq`, which stays as it
    was; once per entry (409 `funds.already_reversed`); only incomes and payments (409
    `funds.not_reversible`); role: finance of the campus."""
    voucher = body.voucher_no.strip() if body.voucher_no else None
    posted = await reverse_entry(
        funds, user, campus, year, seq, body.reason.strip(), voucher, body.occurred_on
    )
    return Written(entry=entry_public(posted.entry, funds), replayed=False)


# -- reading ----------------------------------------------------------------------------------


class EntryPage(BaseModel):
    total: int
    entries: list[EntryPublic]


@router.get("/ledgers/{campus}/{year}/entries")
async def list_entries(
    campus: CampusCode,
    year: Year,
    funds: FundsDep,
    user: CurrentUser,
    kind: Annotated[EntryKind | None, Query(description="记录类型")] = None,
    line: Annotated[str | None, Query(pattern=LINE_CODE, description="科目代码")] = None,
    month: Annotated[
        str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="业务月份 YYYY-MM")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EntryPage:
    """The ledger's entries in order, filtered by kind, line (a heading: its sub-lines) and
    month; role: finance or auditor of the campus."""
    require_reader(user, campus)
    lines = None
    if line is not None:
        lines = {c.code for c in funds.chart.children(line)} or {line}
    found = [
        e
        for e in await funds.books.entries(chain_of(campus, year))
        if (kind is None or e["kind"] == kind.value)
        and (lines is None or e.get("line") in lines)
        and (month is None or str(e.get("occurred_on") or "").startswith(month))
    ]
    page = found[offset : offset + limit]
    return EntryPage(total=len(found), entries=[entry_public(e, funds) for e in page])


@router.get("/ledgers/{campus}/{year}/entries/{seq}")
async def get_entry(
    campus: CampusCode, year: Year, seq: Seq, funds: FundsDep, user: CurrentUser
) -> EntryPublic:
    """One entry (from its sealed block once sealed); role: finance or auditor of the campus."""
    require_reader(user, campus)
    chain = chain_of(campus, year)
    entry = await funds.books.kept_entry(chain, seq)
    if entry is None:
        raise NotFound("funds.entry_not_found", f"账簿 {chain} 没有第 {seq} 笔记录", seq=seq)
    return entry_public(entry, funds)


class FindingPublic(BaseModel):
    seq: int
    code: str
    message: str


class CheckPublic(BaseModel):
    ledger: str
    intact: bool = Field(description="账簿完整、未被改动")
    entries: int
    head_seq: int = Field(description="末笔序号")
    head_hash: str = Field(description="末笔哈希：与台账事件或打印件上的核对，可发现末尾被删")
    anchored_seq: int | None = Field(
        description="已与消息队列上发布的第几笔台账事件核对一致（null：未能核对，见结论）"
    )
    balance_fen: int
    findings: list[FindingPublic]
    answer: str = Field(description="结论（中文）")


@router.get("/ledgers/{campus}/{year}/check")
async def check(campus: CampusCode, year: Year, funds: FundsDep, user: CurrentUser) -> CheckPublic:
    """账簿核验: numbers without gaps, each entry linked to the one before by its hash, no
    field altered, every balance what the rules give from the one before; role: finance or
    auditor of the campus."""
    found = await check_ledger(funds, user, campus, year)
    return CheckPublic(
        ledger=found.chain,
        intact=found.intact,
        entries=found.entries,
        head_seq=found.head_seq,
        head_hash=found.head_hash,
        anchored_seq=found.anchored_seq,
        balance_fen=found.state.balance_fen,
        findings=[FindingPublic(seq=f.seq, code=f.code, message=f.message) for f in found.findings],
        answer=found.say(),
    )


async def _export(
    campus: str, year: int, funds: Funds, user: Principal, fmt: Literal["csv", "xlsx"]
) -> Response:
    require_reader(user, campus)
    entries = await funds.books.entries(chain_of(campus, year))
    name = f"ledger-{campus}-{year}.{fmt}"
    if fmt == "csv":
        body, media = to_csv(entries, funds.chart), CSV
    else:
        body, media = to_xlsx(entries, funds.chart, f"{campus} {year} 经费台账"), XLSX
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=media, headers=headers)


@router.get(
    "/ledgers/{campus}/{year}/export.csv",
    response_class=Response,
    responses={200: {"content": {CSV: {}}, "description": "UTF-8 CSV（带 BOM）"}},
)
async def export_csv(
    campus: CampusCode, year: Year, funds: FundsDep, user: CurrentUser
) -> Response:
    """The whole ledger as CSV; role: finance or auditor of the campus."""
    return await _export(campus, year, funds, user, "csv")


@router.get(
    "/ledgers/{campus}/{year}/export.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "Excel 工作簿"}},
)
async def export_xlsx(
    campus: CampusCode, year: Year, funds: FundsDep, user: CurrentUser
) -> Response:
    """The whole ledger as XLSX; role: finance or auditor of the campus."""
    return await _export(campus, year, funds, user, "xlsx")
