"""Payments other welfare areas make to the ledger on their own (节日福利, 体检费, 互助保障保费,
慰问金): through
the books' `post`, so the same rules hold — within the line's budget, once per idempotency key
(an exam completed twice, an enrolment replayed, pays once), a hash-chained entry.

The caller has checked who may; the key names the cause (`exam:<booking>`,
`mutual_aid:<enrolment>`), so the entry of a cause can also be found again by it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.welfare.funds.chart import LineKind
from services.welfare.funds.domain import EntryKind, chain_of, pay
from services.welfare.funds.handlers import Funds, _fields, _maybe_announce, _state
from services.welfare.funds.store import Draft, Posted
from shared.aggregate import Actor


async def pay_benefit(
    funds: Funds,
    actor: Actor,
    *,
    campus: str,
    year: int,
    line: str,
    amount_fen: int,
    cause: str,
    cause_ref: str,
    approved_by: str,
    occurred_on: date,
    key: str,
    voucher_no: str | None = None,
) -> Posted:
    """记一笔福利支出 once per `key`; 409 `funds.no_budget` / `funds.over_budget` as any payment."""
    funds.chart.postable(line, LineKind.spending)

    def decide(previous: dict[str, Any] | None) -> Draft:
        after = pay(_state(previous), line, amount_fen, funds.chart)
        fields = _fields(
            campus,
            year,
            EntryKind.payment,
            actor,
            line=line,
            amount_fen=amount_fen,
            cause=cause,
            cause_ref=cause_ref,
            approved_by=approved_by,
            voucher_no=voucher_no,
            occurred_on=occurred_on,
        )
        return Draft(fields, after)

    posted = await funds.books.post(chain_of(campus, year), key, decide)
    await _maybe_announce(funds, posted.entry)  # the 90% warning, as any payment
    return posted


async def benefit_paid(funds: Funds, key: str) -> dict[str, Any] | None:
    """The ledger entry posted under `key` (None: not posted)."""
    return await funds.books.by_key(key)
