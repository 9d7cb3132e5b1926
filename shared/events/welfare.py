"""Events published by the welfare service (福利): `welfare.ledger` and `welfare.budget`.

Every entry of the union's books — a budget adopted or amended, an income, a payment, a
reversal — is announced once, with its sequence number and hash, so a subscriber (or an
auditor's own copy of the topic) holds the chain's head independently of the database.
No event carries personal data: a payment to a person names its cause, never the person.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from shared.events import IntegrationEvent


class LedgerEntryPosted(IntegrationEvent):
    """An entry was appended to a campus's ledger for a fiscal year (记账)."""

    type = "welfare.ledger.entry_posted.v1"
    topic = "welfare.ledger"
    summary = "经费台账记账"

    entry_id: str = Field(description="`<campus>:<year>#<seq>`: the entry's id")
    campus: str = Field(description="campus code")
    year: int = Field(description="fiscal year (calendar year)")
    seq: int = Field(ge=1, description="position in the ledger, 1, 2, 3 … without gaps")
    kind: str = Field(description="budget_adopted / budget_amended / income / payment / reversal")
    line: str | None = Field(description="line code of the chart of accounts (null: budget)")
    amount_fen: int = Field(description="amount (fen); an amendment's change may be negative")
    reverses: int | None = Field(None, description="seq of the entry a reversal puts back")
    occurred_on: date | None = Field(None, description="business date (Asia/Shanghai)")
    hash: str = Field(description="SHA-256 of the entry, linking the one before it")


class BudgetThresholdReached(IntegrationEvent):
    """A spending line has used 90% of its budget (预算使用达到预警线): announced once per
    line, year, campus and threshold, however many payments cross it together."""

    type = "welfare.budget.threshold_reached.v1"
    topic = "welfare.budget"
    summary = "预算科目使用达到预警线"

    campus: str = Field(description="campus code")
    year: int = Field(description="fiscal year")
    line: str = Field(description="line code")
    threshold_pct: int = Field(description="the threshold passed, in percent")
    budget_fen: int = Field(description="the line's budget when it was passed")
    spent_fen: int = Field(description="spent on the line when it was passed")
    seq: int = Field(description="the ledger entry that passed it")
