"""Events the members service publishes about dues (会费), on `members.dues`.

Dues paid are the union's income: welfare posts each payment once to 会费收入 and each
reversal once against it. The events carry what a ledger needs — member id, campus, month,
amount and the payment's id — and no other personal data (no name, no salary base).
Their Kafka key is the member id, so a payment and its reversal arrive in order.
(A module of its own, beside `members.py`, so the dues contract can be read on its own.)
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from shared.events import IntegrationEvent


class DuesPaid(IntegrationEvent):
    """A dues payment was recorded against a member's monthly bill (缴纳会费)."""

    type = "members.dues.paid.v1"
    topic = "members.dues"
    summary = "会费缴纳已登记"

    payment_id: str = Field(description="the payment's id (its dues ledger entry): unique")
    member_id: str = Field(description="member id")
    campus: str = Field(description="campus code of the bill")
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="the month the dues are for")
    amount_fen: int = Field(gt=0, description="amount paid (fen)")
    paid_on: date = Field(description="date paid (Asia/Shanghai): decides the fiscal year")


class DuesPaymentReversed(IntegrationEvent):
    """A dues payment was reversed (冲正): the payment stays on record, this puts it back."""

    type = "members.dues.payment_reversed.v1"
    topic = "members.dues"
    summary = "会费缴纳已冲正"

    reversal_id: str = Field(description="the reversal's id (its dues ledger entry)")
    payment_id: str = Field(description="the payment it reverses")
    member_id: str = Field(description="member id")
    campus: str = Field(description="campus code of the bill")
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="the month the dues are for")
    amount_fen: int = Field(gt=0, description="amount put back (fen)")
    reversed_on: date = Field(description="date of the reversal (Asia/Shanghai)")
