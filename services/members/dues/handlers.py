"""Dues use cases: generate a month's bills, record and reverse payments, read and report."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.members.dues.domain import (
    Arrears,
    Bill,
    Entry,
    EntryKind,
    NotBilled,
    PaymentMethod,
    account_of,
    arrears,
    bill_for,
    check_not_own_bill,
    month_of,
)
from services.members.dues.sheets import SheetError, read_payments
from services.members.dues.store import BillFilter, BillsFound, Ledger
from services.members.membership.domain import Member, MemberStatus, member_id_for
from services.members.membership.store import MemberRegistry
from shared.aggregate import Actor
from shared.audit import AuditLog
from shared.auth import Principal
from shared.claims import entry_id
from shared.errors import Conflict, Forbidden, NotFound
from shared.events.dues import DuesPaid, DuesPaymentReversed
from shared.parsing import fen_to_yuan
from shared.scheduler import JobRun
from shared.timeutil import as_local, local_today

log = logging.getLogger(__name__)

BILL_NOT_FOUND = "dues.bill_not_found"
MAX_MEMBERS = 100_000  # a school's union, many times over


def bill_missing(month: str, member_id: str) -> NotFound:
    return NotFound(BILL_NOT_FOUND, f"未找到 {month} 的会费账单", month=month, member_id=member_id)


# -- bills ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unbilled:
    member: Member
    reason: NotBilled


@dataclass
class Generation:
    month: str
    billed: int = 0  # new bills written by this run
    already: int = 0  # bills that existed (an earlier run, or another replica right now)
    billed_fen: int = 0  # the sum of the new bills
    not_billed: list[Unbilled] = field(default_factory=list)


async def generate_bills(
    month: str,
    members: MemberRegistry,
    ledger: Ledger,
    actor: Actor,
    scope: dict[str, Any],
    today: date | None = None,
) -> Generation:
    """Bill every active member in `scope` for the month, once each (see `Ledger.open_bill`).

    Safe to run again and at the same time as another run: every bill is a unique insert.
    Members and their salary bases (sealed at rest, opened by the aggregate store) are read
    from the list view in one query, not with two lookups per member (one of them for a
    version that does not exist yet, which scans on FerretDB/SQLite). The view follows each
    change within a second, so a member enrolled or given a salary base in the very second of
    the run is billed by the next run of the month (running it again bills only them).
    """
    if month > month_of(today or local_today()):
        raise Conflict("dues.month_not_begun", f"{month} 还没有到，不能生成会费账单", month=month)
    query = {**scope, "status": MemberStatus.active.value}
    found = await members.store.find(query, sort=[("_id", 1)], limit=MAX_MEMBERS)
    result = Generation(month)
    limit = asyncio.Semaphore(8)

    async def one(member: Member) -> None:
        async with limit:
            due = bill_for(member, month, ledger.policy)
            if due is None:
                return
            if isinstance(due, NotBilled):
                result.not_billed.append(Unbilled(member, due))
                return
            if await ledger.open_bill(member, month, due, actor):
                result.billed += 1
                result.billed_fen += due
            else:
                result.already += 1

    await asyncio.gather(*(one(m) for m in found))
    result.not_billed.sort(key=lambda u: (u.member.campus, u.member.staff_no))
    return result


async def audit_generation(audit: AuditLog, actor: Actor, campus: str, done: Generation) -> None:
    await audit.record(
        actor,
        "dues.generate",
        done.month,
        campus,
        billed=done.billed,
        already=done.already,
        billed_fen=done.billed_fen,
        not_billed=[u.member.id for u in done.not_billed],
    )


def monthly_job(members: MemberRegistry, ledger: Ledger, audit: AuditLog) -> Any:
    """The scheduled run: every campus, the month of the slot (1st of the month, 06:00)."""

    async def run(job: JobRun) -> None:
        actor = Actor("system", f"job:{job.job}@{job.slot}#{job.attempt}")
        done = await generate_bills(job.slot, members, ledger, actor, {})
        if done.billed or done.not_billed:
            await audit_generation(audit, actor, "*", done)
        log.info(
            "dues bills for %s: %d billed (%s 元), %d already, %d without a salary base",
            job.slot,
            done.billed,
            fen_to_yuan(done.billed_fen),
            done.already,
            len(done.not_billed),
        )

    return run


async def visible_bill(ledger: Ledger, user: Principal, month: str, member_id: str) -> Entry:
    """The month's bill; not found when it does not exist or is of another campus."""
    found = await ledger.bill(month, member_id)
    if found is None or (user.subject != member_id and not user.can_access(found.campus)):
        raise bill_missing(month, member_id)
    return found


async def bill_with_entries(ledger: Ledger, bill: Entry) -> Bill:
    return await ledger.chain(bill)


async def bills(ledger: Ledger, which: BillFilter, *, newest_first: bool = False) -> list[Bill]:
    return await ledger.bills(which, newest_first=newest_first)


async def bill_page(ledger: Ledger, which: BillFilter, offset: int, limit: int) -> BillsFound:
    return await ledger.page(which, offset, limit)


def report(found: list[Bill]) -> Arrears:
    return arrears(found)


# -- payments ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    entry: Entry
    replayed: bool  # the same request again: nothing new was recorded


async def record_payment(
    ledger: Ledger,
    audit: AuditLog,
    actor: Actor,
    bill: Entry,
    amount_fen: int,
    key: str,
    *,
    paid_on: date | None,
    method: PaymentMethod,
    note: str | None,
) -> Recorded:
    """缴费: take `amount_fen` off what the bill still owes, once per idempotency key."""
    check_not_own_bill(actor.subject, bill.member_id)
    entry, replayed = await ledger.append(
        bill,
        EntryKind.payment,
        -amount_fen,
        key,
        actor,
        paid_on=(paid_on or local_today()).isoformat(),
        method=method.value,
        note=note,
    )
    if entry is None:
        owed = (await bill_with_entries(ledger, bill)).owed_fen
        raise Conflict(
            "dues.overpaid",
            f"{bill.month} 尚欠 {fen_to_yuan(owed)} 元，不能登记 {fen_to_yuan(amount_fen)} 元",
            owed_fen=owed,
        )
    if replayed and (entry.kind is not EntryKind.payment or entry.amount_fen != -amount_fen):
        raise Conflict(
            "dues.key_reused",
            "这个幂等键已用于另一笔缴费登记",
            month=bill.month,
            seq=entry.seq,
        )
    await ledger.announce(entry, paid_event(entry))
    if not replayed:
        await audit.record(
            actor,
            "dues.payment",
            account_of(bill.month, bill.member_id),
            bill.campus,
            seq=entry.seq,
            amount_fen=amount_fen,
            method=method.value,
        )
    return Recorded(entry, replayed)


async def reverse_payment(
    ledger: Ledger, audit: AuditLog, actor: Actor, bill: Entry, seq: int, reason: str
) -> Recorded:
    """冲正: a new entry puts a payment back; the payment itself stays as it was. Once per
    payment (a second request answers with the first reversal)."""
    check_not_own_bill(actor.subject, bill.member_id)
    target = await ledger.entry(bill.month, bill.member_id, seq)
    if target is None:
        raise NotFound("dues.entry_not_found", f"{bill.month} 账单没有第 {seq} 笔记录", seq=seq)
    if target.kind is not EntryKind.payment:
        raise Conflict("dues.not_a_payment", "只能冲正缴费记录", seq=seq, current=target.kind.value)
    key = f"reverse:{account_of(bill.month, bill.member_id)}#{seq}"
    entry, replayed = await ledger.append(
        bill, EntryKind.reversal, -target.amount_fen, key, actor, reverses=seq, note=reason
    )
    assert entry is not None  # a reversal owes more; no floor refuses it
    await announce_reversal(ledger, entry, target)
    if not replayed:
        await audit.record(
            actor,
            "dues.reversal",
            account_of(bill.month, bill.member_id),
            bill.campus,
            seq=entry.seq,
            reverses=seq,
            amount_fen=entry.amount_fen,
            reason=reason,
        )
    return Recorded(entry, replayed)


async def announce_reversal(ledger: Ledger, reversal: Entry, payment: Entry) -> list[Entry]:
    """Announce a reversal, and its payment before it should a crash have left that out:
    welfare cannot put back income it never booked (it would dead-letter the reversal).
    Returns the entries this call announced."""
    announced = []
    if await ledger.announce(payment, paid_event(payment)):
        announced.append(payment)
    if await ledger.announce(reversal, reversal_event(reversal, payment)):
        announced.append(reversal)
    return announced


def _payment_id(entry: Entry) -> str:
    return entry_id(account_of(entry.month, entry.member_id), entry.seq)


def paid_event(entry: Entry) -> DuesPaid:
    """The event welfare books as 会费收入: ids, campus, month and amount, nothing personal."""
    return DuesPaid(
        payment_id=_payment_id(entry),
        member_id=entry.member_id,
        campus=entry.campus,
        month=entry.month,
        amount_fen=-entry.amount_fen,
        paid_on=entry.paid_on or as_local(entry.at).date(),
    )


def reversal_event(entry: Entry, payment: Entry) -> DuesPaymentReversed:
    return DuesPaymentReversed(
        reversal_id=_payment_id(entry),
        payment_id=_payment_id(payment),
        member_id=entry.member_id,
        campus=entry.campus,
        month=entry.month,
        amount_fen=entry.amount_fen,
        reversed_on=as_local(entry.at).date(),
    )


# -- a payment list from a file ---------------------------------------------------------------


@dataclass(frozen=True)
class RowOutcome:
    row: int
    staff_no: str
    month: str
    amount_fen: int | None
    outcome: str  # recorded / already / refused
    code: str | None = None
    message: str | None = None
    seq: int | None = None


@dataclass
class Imported:
    rows: list[RowOutcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def recorded_fen(self) -> int:
        return sum(r.amount_fen or 0 for r in self.rows if r.outcome == "recorded")


async def import_payments(
    data: bytes, ledger: Ledger, audit: AuditLog, actor: Actor, user: Principal
) -> Imported:
    """Record every good row of a payment list, each once however often the file is sent.

    A row's idempotency key is what it says — member, month, amount, date as written, and the
    how-manieth such row of the file it is — so re-importing a file, or a corrected copy of
    it, records nothing twice. Bad rows are reported with their row number and left out; a
    file that is not a payment list at all records nothing (409 `dues.unreadable_file`).
    """
    try:
        rows, errors = read_payments(data)
    except SheetError as exc:
        raise Conflict("dues.unreadable_file", f"文件无法读取：{exc}") from exc
    result = Imported(
        rows=[
            RowOutcome(
                e.row,
                e.staff_no,
                e.month,
                None,
                "refused",
                "dues.invalid_row",
                f"{e.column}：{e.message}",
            )
            for e in errors
        ]
    )
    for row in rows:
        bill = await ledger.bill(row.month, member_id_for(row.staff_no))
        if bill is None:  # a member from before ids were derived from the staff number
            bill = await ledger.bill_by_staff_no(row.month, row.staff_no)
        if bill is None or not user.can_access(bill.campus):
            result.rows.append(
                RowOutcome(
                    row.row,
                    row.staff_no,
                    row.month,
                    row.amount_fen,
                    "refused",
                    BILL_NOT_FOUND,
                    f"工号 {row.staff_no} 没有 {row.month} 的会费账单",
                )
            )
            continue
        account = account_of(row.month, bill.member_id)
        key = f"csv:{account}:{row.amount_fen}:{row.paid_on_text}:{row.occurrence}"
        try:
            done = await record_payment(
                ledger,
                audit,
                actor,
                bill,
                row.amount_fen,
                key,
                paid_on=row.paid_on,
                method=PaymentMethod.payroll,
                note=row.note,
            )
        except (Conflict, Forbidden) as exc:  # over-paid, a reused key, their own bill
            result.rows.append(
                RowOutcome(
                    row.row,
                    row.staff_no,
                    row.month,
                    row.amount_fen,
                    "refused",
                    exc.code,
                    exc.message,
                )
            )
            continue
        outcome = "already" if done.replayed else "recorded"
        result.rows.append(
            RowOutcome(
                row.row, row.staff_no, row.month, row.amount_fen, outcome, seq=done.entry.seq
            )
        )
    result.rows.sort(key=lambda r: r.row)
    return result
