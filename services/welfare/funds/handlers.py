"""Funds use cases: adopt and amend budgets, post income and payments, reverse, read, check.

Who may: the chair (admin) adopts and amends a campus's budget; finance posts and reverses on
its campuses; finance and the auditor read. Every use case names its ledger's campus, and
`Principal.require` checks the caller holds it, so no query reaches another campus.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.welfare.funds.chart import Chart, LineKind
from services.welfare.funds.domain import (
    Check,
    EntryKind,
    LedgerState,
    LineFigures,
    adopt,
    amend,
    chain_of,
    figures,
    over_threshold,
    pay,
    receive,
    reverse,
    reversible,
)
from services.welfare.funds.store import Books, Draft, Posted
from shared.aggregate import Actor
from shared.auth import Principal, Role
from shared.envelope import CloudEvent
from shared.errors import Conflict, NotFound
from shared.events.dues import DuesPaid, DuesPaymentReversed
from shared.timeutil import local_today, utcnow_ms

DUES_LINE = "income_dues"


@dataclass(frozen=True)
class Funds:
    """What the funds use cases need: the books and the chart of accounts in force."""

    books: Books
    chart: Chart


@dataclass(frozen=True)
class Posting:
    """An income or a payment as finance records it."""

    line: str
    amount_fen: int
    cause: str  # 事由
    approved_by: str  # 审批人
    voucher_no: str  # 凭证号 of the school's finance office
    occurred_on: date | None
    key: str  # idempotency key of the form


def _state(previous: dict[str, Any] | None) -> LedgerState:
    return LedgerState.model_validate(previous["state"]) if previous else LedgerState()


def _fields(campus: str, year: int, kind: EntryKind, actor: Actor, **values: Any) -> dict[str, Any]:
    occurred = values.pop("occurred_on", None)
    return {
        "campus": campus,
        "year": year,
        "kind": kind.value,
        "line": None,
        "amount_fen": 0,
        "lines": None,
        "reverses": None,
        "reverses_kind": None,
        "cause": None,
        "cause_ref": None,
        "approved_by": None,
        "voucher_no": None,
        "reason": None,
        **values,
        "occurred_on": (occurred or local_today()).isoformat(),
        "by": actor.subject,
        "request": actor.request,
        "at": utcnow_ms(),
    }


def _in_year(day: date | None, year: int) -> date | None:
    if day is not None and day.year != year:
        raise Conflict(
            "funds.date_outside_year",
            f"日期 {day.isoformat()} 不在 {year} 年度内",
            occurred_on=day.isoformat(),
            year=year,
        )
    return day


def _same_request(posted: Posted, **expected: Any) -> dict[str, Any]:
    """A replayed key must be the same request: otherwise the key was reused by mistake."""
    entry = posted.entry
    if posted.replayed and any(entry.get(k) != v for k, v in expected.items()):
        raise Conflict(
            "funds.key_reused", "这个幂等键已用于另一笔记录", seq=entry["seq"], key=entry["key"]
        )
    return entry


# -- budgets ----------------------------------------------------------------------------------


async def adopt_budget(
    funds: Funds, user: Principal, campus: str, year: int, lines: dict[str, int], note: str
) -> Posted:
    """预算批准: once per campus and year (409 `funds.budget_adopted` after)."""
    user.require(Role.admin, campus=campus)
    actor = Actor.of(user)

    def decide(previous: dict[str, Any] | None) -> Draft:
        after = adopt(_state(previous), lines, funds.chart)
        fields = _fields(
            campus,
            year,
            EntryKind.budget_adopted,
            actor,
            amount_fen=sum(lines.values()),
            lines=dict(sorted(lines.items())),
            reason=note,
        )
        return Draft(fields, after)

    posted = await funds.books.post(chain_of(campus, year), f"budget:{campus}:{year}", decide)
    if posted.replayed:
        raise Conflict("funds.budget_adopted", "本年度预算已批准；如需变更请提交预算调整")
    return posted


async def amend_budget(
    funds: Funds,
    user: Principal,
    campus: str,
    year: int,
    line: str,
    change_fen: int,
    reason: str,
    key: str,
) -> Posted:
    """预算调整 of one line, with its reason; once per idempotency key."""
    user.require(Role.admin, campus=campus)
    actor = Actor.of(user)

    def decide(previous: dict[str, Any] | None) -> Draft:
        after = amend(_state(previous), line, change_fen, funds.chart)
        fields = _fields(
            campus,
            year,
            EntryKind.budget_amended,
            actor,
            line=line,
            amount_fen=change_fen,
            reason=reason,
        )
        return Draft(fields, after)

    posted = await funds.books.post(chain_of(campus, year), f"amend:{campus}:{year}:{key}", decide)
    _same_request(posted, kind=EntryKind.budget_amended.value, line=line, amount_fen=change_fen)
    return posted


# -- income and payments ----------------------------------------------------------------------


def posting_key(campus: str, year: int, posting: Posting) -> str:
    """The ledger key `post_entry` writes a form's income or payment under (`Books.by_key`)."""
    return f"post:{campus}:{year}:{posting.key}"


async def post_entry(
    funds: Funds, user: Principal, campus: str, year: int, kind: EntryKind, posting: Posting
) -> Posted:
    """记一笔收入或支出: a payment only within its line's remaining budget."""
    user.require(Role.finance, campus=campus)
    actor = Actor.of(user)
    rule: Callable[[LedgerState, str, int, Chart], LedgerState]
    if kind is EntryKind.income:
        funds.chart.postable(posting.line, LineKind.income)
        rule = receive
    else:
        funds.chart.postable(posting.line, LineKind.spending)
        rule = pay
    occurred_on = _in_year(posting.occurred_on, year) or _default_day(year)

    def decide(previous: dict[str, Any] | None) -> Draft:
        after = rule(_state(previous), posting.line, posting.amount_fen, funds.chart)
        fields = _fields(
            campus,
            year,
            kind,
            actor,
            line=posting.line,
            amount_fen=posting.amount_fen,
            cause=posting.cause,
            approved_by=posting.approved_by,
            voucher_no=posting.voucher_no,
            occurred_on=occurred_on,
        )
        return Draft(fields, after)

    key = posting_key(campus, year, posting)
    posted = await funds.books.post(chain_of(campus, year), key, decide)
    _same_request(posted, kind=kind.value, line=posting.line, amount_fen=posting.amount_fen)
    if kind is EntryKind.payment:
        await _maybe_announce(funds, posted.entry)
    return posted


def _default_day(year: int) -> date:
    today = local_today()
    if today.year != year:
        raise Conflict(
            "funds.date_required",
            f"记入 {year} 年度的账须写明日期（今天不在该年度内）",
            year=year,
        )
    return today


async def _maybe_announce(funds: Funds, entry: dict[str, Any]) -> None:
    state = LedgerState.model_validate(entry["state"])
    if over_threshold(state, entry["line"]):
        await funds.books.announce_threshold(entry)


async def reverse_entry(
    funds: Funds,
    user: Principal,
    campus: str,
    year: int,
    seq: int,
    reason: str,
    voucher_no: str | None,
    occurred_on: date | None,
) -> Posted:
    """冲正: an entry with the opposite effect, pointing at the original; once per original
    (409 `funds.already_reversed` the second time)."""
    user.require(Role.finance, campus=campus)
    day = _in_year(occurred_on, year) or _default_day(year)
    return await _reverse(funds, Actor.of(user), campus, year, seq, reason, voucher_no, day)


async def _reverse(
    funds: Funds,
    actor: Actor,
    campus: str,
    year: int,
    seq: int,
    reason: str,
    voucher_no: str | None,
    occurred_on: date,
    cause_ref: str | None = None,
) -> Posted:
    chain = chain_of(campus, year)
    target = await funds.books.kept_entry(chain, seq)
    if target is None:
        raise NotFound("funds.entry_not_found", f"账簿 {chain} 没有第 {seq} 笔记录", seq=seq)
    kind = reversible(target)

    def decide(previous: dict[str, Any] | None) -> Draft:
        after = reverse(_state(previous), kind, target["line"], target["amount_fen"])
        fields = _fields(
            campus,
            year,
            EntryKind.reversal,
            actor,
            line=target["line"],
            amount_fen=target["amount_fen"],
            reverses=seq,
            reverses_kind=kind.value,
            cause=f"冲正第 {seq} 笔：{target.get('cause') or ''}",
            cause_ref=cause_ref,
            voucher_no=voucher_no,
            reason=reason,
            occurred_on=occurred_on,
        )
        return Draft(fields, after)

    posted = await funds.books.post(chain, f"reverse:{chain}#{seq}", decide)
    if posted.replayed and cause_ref is None:
        raise Conflict(
            "funds.already_reversed",
            f"第 {seq} 笔已于第 {posted.entry['seq']} 笔冲正，不能重复冲正",
            seq=seq,
            reversal_seq=posted.entry["seq"],
        )
    return posted


# -- payments other welfare areas make: posted by `benefits.pay_benefit`, put back here --------


async def reverse_for(
    funds: Funds, actor: Actor, posted: dict[str, Any], reason: str, cause_ref: str
) -> Posted:
    """Put back a payment `benefits.pay_benefit` made (its entitlement turned out void); once."""
    day = local_today()
    year = posted["year"]
    return await _reverse(
        funds,
        actor,
        posted["campus"],
        year,
        posted["seq"],
        reason,
        None,
        day if day.year == year else date(year, 12, 31),
        cause_ref=cause_ref,
    )


# -- dues are income --------------------------------------------------------------------------


async def on_dues_paid(event: DuesPaid, envelope: CloudEvent, funds: Funds) -> None:
    """A dues payment is income (会费收入) of its campus in the year it was paid; posted once
    per payment id, however often the event is delivered."""
    actor = Actor.system(envelope)
    year = event.paid_on.year

    def decide(previous: dict[str, Any] | None) -> Draft:
        after = receive(_state(previous), DUES_LINE, event.amount_fen, funds.chart)
        fields = _fields(
            event.campus,
            year,
            EntryKind.income,
            actor,
            line=DUES_LINE,
            amount_fen=event.amount_fen,
            cause=f"会费收入（{event.month}）",
            cause_ref=f"members.dues:{event.payment_id}",
            approved_by="会费登记",
            occurred_on=event.paid_on,
        )
        return Draft(fields, after)

    await funds.books.post(chain_of(event.campus, year), f"dues:{event.payment_id}", decide)


async def on_dues_payment_reversed(
    event: DuesPaymentReversed, envelope: CloudEvent, funds: Funds
) -> None:
    """A dues reversal puts its income back, in the ledger the income was posted to; once
    (a reversal finance already made by hand counts)."""
    income = await funds.books.by_key(f"dues:{event.payment_id}")
    if income is None:
        # Payment and reversal share a partition (the member's key), so the payment came
        # first; if it is not here it was never published (before dues had events): the
        # retries end in the dead-letter topic, for a person to look at and replay.
        raise NotFound(
            "funds.dues_income_missing",
            f"会费缴纳 {event.payment_id} 未记入台账，无法冲正",
            payment_id=event.payment_id,
        )
    year = income["year"]
    day = event.reversed_on if event.reversed_on.year == year else date(year, 12, 31)
    await _reverse(
        funds,
        Actor.system(envelope),
        income["campus"],
        year,
        income["seq"],
        "会费缴纳冲正",
        None,
        day,
        cause_ref=f"members.dues:{event.reversal_id}",
    )


# -- reading ----------------------------------------------------------------------------------


def require_reader(user: Principal, campus: str) -> None:
    user.require(Role.finance, Role.auditor, campus=campus)


async def check_ledger(funds: Funds, user: Principal, campus: str, year: int) -> Check:
    require_reader(user, campus)
    return await funds.books.check(chain_of(campus, year))


@dataclass(frozen=True)
class Summary:
    state: LedgerState
    lines: list[LineFigures]
    entries: int


async def summary(funds: Funds, user: Principal, campus: str, year: int) -> Summary:
    require_reader(user, campus)
    entries = await funds.books.entries(chain_of(campus, year))
    state = _state(entries[-1] if entries else None)
    return Summary(state, figures(entries, state, funds.chart), len(entries))


async def year_summaries(funds: Funds, user: Principal, year: int) -> list[tuple[str, Summary]]:
    """Every campus of the caller's with a ledger that year: one query for which, scoped."""
    user.require(Role.finance, Role.auditor)
    campuses = await funds.books.campuses(year, user.campus_filter())
    return [(campus, await summary(funds, user, campus, year)) for campus in campuses]


async def public_states(funds: Funds, user: Principal, year: int) -> list[tuple[str, LedgerState]]:
    """经费公开: the state after the last entry of each ledger of the caller's campuses that
    year (budget, spent and income per line; no entry, no person); role: member."""
    user.require(Role.member)
    campuses = await funds.books.campuses(year, user.campus_filter())
    return [(c, _state(await funds.books.last(chain_of(c, year)))) for c in campuses]
