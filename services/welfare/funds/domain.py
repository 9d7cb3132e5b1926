"""The union's books as pure rules: budgets, income, payments, reversals and the proof.

A refusal that depends on the ledger's state (no budget yet, not enough left on the line) is
a Conflict (409), like a dues payment above what is owed: the same request may succeed on
another day. Input that no state makes right is Invalid (422).

One ledger (账簿) per campus and fiscal year (the calendar year, as the State's). Every entry
of it — the budget's adoption, an amendment, an income, a payment, a reversal — carries the
running state after it (budget, spent and income per line, the cash balance), the hash of the
entry before it and its own hash. So the state of an entry follows from the entry before it
and the entry itself (`apply`), and `verify` can prove a whole ledger: no number missing, no
link broken, no field altered, every balance the one the rules give.

Nothing here does I/O; `store.py` appends entries under their sequence number as `_id`.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.welfare.funds.chart import Chart, LineKind
from shared.errors import Conflict, DomainError, Invalid

MAX_FEN = 10_000_000_000  # 1 亿元: more than a school union moves in a year, in one entry
THRESHOLD_PCT = 90  # a line this much used is announced once (welfare.budget.threshold_reached)
GENESIS = "0" * 64  # the "previous hash" of entry 1


class EntryKind(StrEnum):
    budget_adopted = "budget_adopted"
    budget_amended = "budget_amended"
    income = "income"
    payment = "payment"
    reversal = "reversal"


ENTRY_ZH = {
    EntryKind.budget_adopted: "预算批准",
    EntryKind.budget_amended: "预算调整",
    EntryKind.income: "收入",
    EntryKind.payment: "支出",
    EntryKind.reversal: "冲正",
}


def fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def chain_of(campus: str, year: int) -> str:
    return f"{campus}:{year}"


def entry_id(chain: str, seq: int) -> str:
    return f"{chain}#{seq:09d}"


class LedgerState(BaseModel):
    """What the ledger stands at after an entry (all fen)."""

    model_config = ConfigDict(frozen=True)

    adopted: bool = False
    budget: dict[str, int] = {}  # spending line → budget
    spent: dict[str, int] = {}  # spending line → payments less their reversals
    income: dict[str, int] = {}  # income line → income less its reversals
    balance_fen: int = 0  # income less spending: the cash the ledger accounts for

    def remaining(self, line: str) -> int:
        return self.budget.get(line, 0) - self.spent.get(line, 0)


def _plus(values: dict[str, int], line: str, fen: int) -> dict[str, int]:
    return {**values, line: values.get(line, 0) + fen}


def _amount(amount_fen: int) -> int:
    if not isinstance(amount_fen, int) or not 0 < amount_fen <= MAX_FEN:
        raise Invalid(
            "funds.bad_amount", "金额须为 1 分至 1 亿元之间的整数（分）", amount_fen=amount_fen
        )
    return amount_fen


# -- the rules: each takes the state before and gives the state after, or refuses --------------


def adopt(state: LedgerState, lines: dict[str, int], chart: Chart) -> LedgerState:
    """预算批准: the year's budget per spending line, once per ledger."""
    if state.adopted:
        raise Conflict("funds.budget_adopted", "本年度预算已批准；如需变更请提交预算调整")
    if not lines:
        raise Invalid("funds.empty_budget", "预算至少要有一个支出科目")
    for code, fen in lines.items():
        chart.postable(code, LineKind.spending)
        if not isinstance(fen, int) or not 0 <= fen <= MAX_FEN:
            raise Invalid(
                "funds.bad_amount", f"科目「{chart.name_of(code)}」的预算金额无效", line=code
            )
    return state.model_copy(update={"adopted": True, "budget": {**state.budget, **lines}})


def amend(state: LedgerState, line: str, change_fen: int, chart: Chart) -> LedgerState:
    """预算调整: a line's budget up or down, never below what it has spent."""
    if not state.adopted:
        raise Conflict("funds.no_budget", "本年度预算尚未批准，不能调整")
    chart.postable(line, LineKind.spending)
    if change_fen == 0 or abs(change_fen) > MAX_FEN:
        raise Invalid("funds.bad_amount", "调整金额须为非零整数（分）", change_fen=change_fen)
    budget = state.budget.get(line, 0) + change_fen
    spent = state.spent.get(line, 0)
    if budget < spent:
        raise Conflict(
            "funds.budget_below_spent",
            f"「{chart.name_of(line)}」已支出 {fen_to_yuan(spent)} 元，"
            f"预算不能调减到 {fen_to_yuan(budget)} 元",
            line=line,
            spent_fen=spent,
            budget_fen=budget,
        )
    return state.model_copy(update={"budget": {**state.budget, line: budget}})


def receive(state: LedgerState, line: str, amount_fen: int, chart: Chart) -> LedgerState:
    """收入: always allowed (dues arrive before the budget is adopted, too)."""
    chart.postable(line, LineKind.income)
    fen = _amount(amount_fen)
    return state.model_copy(
        update={"income": _plus(state.income, line, fen), "balance_fen": state.balance_fen + fen}
    )


def pay(state: LedgerState, line: str, amount_fen: int, chart: Chart) -> LedgerState:
    """支出: only within what the line's budget has left."""
    chart.postable(line, LineKind.spending)
    fen = _amount(amount_fen)
    if not state.adopted:
        raise Conflict("funds.no_budget", "本年度预算尚未批准，不能支出")
    remaining = state.remaining(line)
    if fen > remaining:
        raise Conflict(
            "funds.over_budget",
            f"「{chart.name_of(line)}」预算 {fen_to_yuan(state.budget.get(line, 0))} 元，"
            f"已支出 {fen_to_yuan(state.spent.get(line, 0))} 元，"
            f"余额 {fen_to_yuan(remaining)} 元，不足支付 {fen_to_yuan(fen)} 元",
            line=line,
            budget_fen=state.budget.get(line, 0),
            spent_fen=state.spent.get(line, 0),
            remaining_fen=remaining,
            amount_fen=fen,
        )
    return state.model_copy(
        update={"spent": _plus(state.spent, line, fen), "balance_fen": state.balance_fen - fen}
    )


def reversible(target: dict[str, Any]) -> EntryKind:
    """The kind of entry a reversal may put back: an income or a payment, never a reversal
    (a wrong reversal is itself a mistake of the original: post it again) or a budget."""
    kind = EntryKind(target["kind"])
    if kind not in (EntryKind.income, EntryKind.payment):
        raise Conflict(
            "funds.not_reversible",
            f"「{ENTRY_ZH[kind]}」记录不能冲正",
            seq=target["seq"],
            current=kind.value,
        )
    return kind


def reverse(state: LedgerState, kind: EntryKind, line: str, amount_fen: int) -> LedgerState:
    """冲正: the opposite of the original, on its line."""
    if kind is EntryKind.payment:
        return state.model_copy(
            update={
                "spent": _plus(state.spent, line, -amount_fen),
                "balance_fen": state.balance_fen + amount_fen,
            }
        )
    return state.model_copy(
        update={
            "income": _plus(state.income, line, -amount_fen),
            "balance_fen": state.balance_fen - amount_fen,
        }
    )


def apply(state: LedgerState, entry: dict[str, Any], chart: Chart) -> LedgerState:
    """The state after `entry`, by the same rules that allowed it (the check replays them)."""
    kind = EntryKind(entry["kind"])
    if kind is EntryKind.budget_adopted:
        return adopt(state, dict(entry["lines"]), chart)
    if kind is EntryKind.budget_amended:
        return amend(state, entry["line"], entry["amount_fen"], chart)
    if kind is EntryKind.income:
        return receive(state, entry["line"], entry["amount_fen"], chart)
    if kind is EntryKind.payment:
        return pay(state, entry["line"], entry["amount_fen"], chart)
    return reverse(state, EntryKind(entry["reverses_kind"]), entry["line"], entry["amount_fen"])


def over_threshold(state: LedgerState, line: str, pct: int = THRESHOLD_PCT) -> bool:
    budget = state.budget.get(line, 0)
    return budget > 0 and state.spent.get(line, 0) * 100 >= budget * pct


# -- the hash chain ---------------------------------------------------------------------------

# Every field that says what an entry is. `at` is kept to the millisecond, as BSON keeps it.
HASHED = (
    "chain",
    "campus",
    "year",
    "seq",
    "kind",
    "line",
    "amount_fen",
    "lines",
    "reverses",
    "reverses_kind",
    "cause",
    "cause_ref",
    "approved_by",
    "voucher_no",
    "occurred_on",
    "reason",
    "key",
    "by",
    "at",
    "state",
    "prev_hash",
)


def _moment(value: Any) -> str:
    """JSON for what JSON has no type for: a moment to the millisecond (as BSON keeps it,
    whether it comes back with a time zone or not), a date as ISO text."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not part of a ledger entry")


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of the entry's fields. Empty fields are left out, so a field added to HASHED
    later (the payee of part 2's payments) leaves every older entry's hash as it was."""
    payload = {name: entry[name] for name in HASHED if entry.get(name) is not None}
    text = json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_moment
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sealed(entry: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """The entry with its link to the previous one and its own hash."""
    linked = {**entry, "prev_hash": previous["hash"] if previous else GENESIS}
    return {**linked, "hash": entry_hash(linked)}


@dataclass(frozen=True)
class Finding:
    seq: int
    code: str
    message: str


@dataclass
class Check:
    """What `verify` found: intact when there are no findings."""

    chain: str
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    state: LedgerState = field(default_factory=LedgerState)
    findings: list[Finding] = field(default_factory=list)
    reversed_seqs: frozenset[int] = frozenset()
    # Compared with the last entry the ledger published (outside the database): its number
    # when it matched, or why there was nothing to compare with.
    anchored_seq: int | None = None
    unanchored: str | None = None

    @property
    def intact(self) -> bool:
        return not self.findings

    def say(self) -> str:
        """The answer in words, for the auditor."""
        if self.intact:
            anchor = (
                f"与已发布的台账事件（第 {self.anchored_seq} 笔）核对一致。"
                if self.anchored_seq is not None
                else f"未能与已发布的台账事件核对末尾（{self.unanchored}），请核对末笔哈希。"
            )
            return (
                f"账簿 {self.chain} 完整：共 {self.entries} 笔记录，序号连续，"
                f"每笔的余额都由上一笔推出，未发现改动；{anchor}"
                f"末笔哈希 {self.head_hash[:16]}…"
            )
        return f"账簿 {self.chain} 发现 {len(self.findings)} 处问题：" + "；".join(
            f"第 {f.seq} 笔 {f.message}" for f in self.findings[:20]
        )


@dataclass(frozen=True)
class Start:
    """Where a check of part of a ledger begins: after a sealed block (or at the start)."""

    seq: int = 1
    prev_hash: str = GENESIS
    state: LedgerState = field(default_factory=LedgerState)
    reversed_seqs: frozenset[int] = frozenset()
    # what a reversal after the start may point at: seq → (kind, line, amount_fen)
    reversible: dict[int, tuple[Any, Any, Any]] = field(default_factory=dict)


def verify(
    chain: str, entries: list[dict[str, Any]], chart: Chart, start: Start | None = None
) -> Check:
    """Prove a ledger from its entries (in any order): numbers 1..n, each linked to the one
    before, each hash what its fields give, each state what the rules give from the one
    before, no entry reversed twice. Findings name the entry and what is wrong with it;
    after a finding the check goes on from the stored state, so one altered row is reported
    once, not as the ruin of everything after it. `start`: the entries continue a sealed
    block (its last hash and state), not the beginning."""
    start = start or Start()
    check = Check(chain)
    by_seq = sorted(entries, key=lambda e: e.get("seq", 0))
    previous_hash, state, expected = start.prev_hash, start.state, start.seq
    reversed_seqs: set[Any] = set(start.reversed_seqs)
    seen: dict[Any, dict[str, Any]] = {}  # this part's entries; before it: start.reversible
    for entry in by_seq:
        seq = entry.get("seq", 0)
        while expected < seq:
            check.findings.append(Finding(expected, "funds.check.missing", "缺失（序号不连续）"))
            expected += 1
        expected = seq + 1
        if entry.get("_id") != entry_id(chain, seq) or entry.get("chain") != chain:
            check.findings.append(Finding(seq, "funds.check.misplaced", "不属于本账簿"))
        if entry.get("prev_hash") != previous_hash:
            check.findings.append(Finding(seq, "funds.check.broken_link", "与上一笔的链接不符"))
        if entry_hash(entry) != entry.get("hash"):
            check.findings.append(Finding(seq, "funds.check.altered", "内容与其哈希不符（被改动）"))
        try:
            after = apply(state, entry, chart)
        except (DomainError, KeyError, ValueError, TypeError) as exc:
            check.findings.append(Finding(seq, "funds.check.rule_broken", f"不符合记账规则：{exc}"))
            after = None
        stored = _stored_state(entry)
        if after is not None and after != stored:
            check.findings.append(
                Finding(seq, "funds.check.balance_mismatch", "余额不能由上一笔推出")
            )
        if entry.get("kind") == EntryKind.reversal.value:
            target = entry.get("reverses")
            if target in reversed_seqs:
                check.findings.append(Finding(seq, "funds.check.reversed_twice", "重复冲正"))
            reversed_seqs.add(target)
            if not _reverses(seen.get(target) or _before(start, target), entry):
                check.findings.append(
                    Finding(seq, "funds.check.bad_reversal", f"冲正与第 {target} 笔原记录不符")
                )
        seen[seq] = entry
        state = stored or after or state
        previous_hash = entry.get("hash", "")
    check.entries = len(by_seq)
    check.head_seq = start.seq - 1
    check.head_hash = start.prev_hash
    if by_seq:
        check.head_seq = by_seq[-1].get("seq", 0)
        check.head_hash = by_seq[-1].get("hash", "")
    check.state = state
    check.reversed_seqs = frozenset(reversed_seqs)
    return check


# -- sealed blocks ----------------------------------------------------------------------------
#
# Reading a document costs FerretDB about as much as its values (it converts each one), so a
# year of 100,000 entries takes the check tens of seconds to read, however it is projected.
# Every BLOCK entries, once they are proven (this module's `verify`), are sealed into one
# block document: their exact contents as one text, the state and hash after the last of
# them, and a hash over the previous block's hash and the text. The block is then the
# ledger's record of those entries (every reader reads it: the check, the summary, the list,
# the export), read as one value each; the check proves the chain of blocks by their hashes
# and replays only the entries after the last block.


def pack(entries: list[dict[str, Any]]) -> bytes:
    """Entries as one compressed text, exactly as they hash (moments to the millisecond)."""
    text = json.dumps(
        [{k: v for k, v in e.items() if k != "outbox"} for e in entries],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=_moment,
    )
    return zlib.compress(text.encode("utf-8"), 6)


def unpack(packed: bytes) -> list[dict[str, Any]]:
    """The entries of a block, their moments as UTC datetimes again (as the database gives)."""
    found = json.loads(zlib.decompress(packed).decode("utf-8"))
    for entry in found:
        if isinstance(entry.get("at"), str):
            entry["at"] = datetime.fromisoformat(entry["at"]).replace(tzinfo=UTC)
    return found


SUMMED = ("first", "last", "head_hash", "state", "reversed")  # a block's own fields it hashes


def block_hash(previous: str, block: dict[str, Any]) -> str:
    """Over the previous block's hash, the block's own fields and its packed entries."""
    own = json.dumps({k: block.get(k) for k in SUMMED}, sort_keys=True, separators=(",", ":"))
    packed = bytes(block.get("packed") or b"")
    return hashlib.sha256(f"{previous}\n{own}\n".encode() + packed).hexdigest()


def sealed_block(
    chain: str, number: int, entries: list[dict[str, Any]], proven: Check, previous: str
) -> dict[str, Any]:
    """The block document of entries already proven by `verify` (`proven`)."""
    block = {
        "_id": f"{chain}@{number:06d}",
        "chain": chain,
        "number": number,
        "first": entries[0]["seq"],
        "last": entries[-1]["seq"],
        "packed": pack(entries),
        "head_hash": proven.head_hash,
        "state": proven.state.model_dump(),
        "reversed": sorted(proven.reversed_seqs),
        "prev": previous,
    }
    return {**block, "hash": block_hash(previous, block)}


@dataclass
class Blocks:
    """What the chain of blocks proved: findings, where the entries after them start, how
    many entries they hold, and the intact blocks (unpacked only when asked)."""

    findings: list[Finding]
    start: Start
    count: int
    blocks: list[dict[str, Any]]

    def entries(self) -> list[dict[str, Any]]:
        return [e for b in self.blocks for e in unpack(b["packed"])]

    def originals(self, seqs: set[int]) -> dict[int, tuple[Any, Any, Any]]:
        """What reversals after the blocks point at: (kind, line, amount) of those entries,
        unpacking only the blocks that hold them."""
        out: dict[int, tuple[Any, Any, Any]] = {}
        for block in self.blocks:
            if any(block["first"] <= seq <= block["last"] for seq in seqs):
                for e in unpack(block["packed"]):
                    if e["seq"] in seqs and e.get("kind") in (
                        EntryKind.income.value,
                        EntryKind.payment.value,
                    ):
                        out[e["seq"]] = (e.get("kind"), e.get("line"), e.get("amount_fen"))
        return out


def verify_blocks(chain: str, blocks: list[dict[str, Any]]) -> Blocks:
    """Prove the chain of blocks by their hashes alone (each was proven entry by entry when
    sealed): numbered 1..n, each over the one before, its contents what its hash says. The
    hashes need no secret, so a rewritten chain of blocks is told from the real one by the
    block hash published when it was sealed (`anchored`)."""
    findings: list[Finding] = []
    previous, seq, count = GENESIS, 1, 0
    state, reversed_seqs, head = LedgerState(), frozenset[int](), GENESIS
    for number, block in enumerate(sorted(blocks, key=lambda b: b.get("number", 0)), 1):
        first = block.get("first", 0)
        if block.get("number") != number or first != seq:
            findings.append(Finding(seq, "funds.check.missing", "缺失（封存块不连续）"))
        if block.get("prev") != previous or block_hash(previous, block) != block.get("hash"):
            findings.append(
                Finding(first, "funds.check.altered", f"封存块 {number} 与其哈希不符（被改动）")
            )
        try:
            state = LedgerState.model_validate(block["state"])
            count += block["last"] - first + 1
        except (KeyError, ValueError, TypeError):
            findings.append(Finding(first, "funds.check.altered", f"封存块 {number} 无法读取"))
        reversed_seqs = frozenset(block.get("reversed") or ())
        head = block.get("head_hash", "")
        previous, seq = block.get("hash", ""), block.get("last", seq) + 1
    return Blocks(findings, Start(seq, head, state, reversed_seqs), count, blocks)


def entry_in(block: dict[str, Any], seq: int) -> dict[str, Any] | None:
    """Entry `seq` as the block keeps it (None: not in this block)."""
    if not block.get("first", 0) <= seq <= block.get("last", -1):
        return None
    return next((e for e in unpack(bytes(block["packed"])) if e.get("seq") == seq), None)


@dataclass(frozen=True)
class Anchor:
    """What a ledger last published on Kafka (outside the database): its last entry's number
    and hash, and its last sealed block's number and hash (either None: none found)."""

    seq: int | None = None
    hash: str | None = None
    block: int | None = None
    block_hash: str | None = None


def anchored(
    check: Check, anchor: Anchor, hash_at: dict[int, str], blocks: list[tuple[int, str]]
) -> None:
    """Compare the checked ledger with what it published. The published last entry is past
    the ledger's end: entries were deleted from the end. Its hash differs from the entry
    under its number, or a published block's from the block under its number: the ledger
    was rewritten, its hashes computed again. An entry or block written but not published
    yet is no finding (the relay is behind). `hash_at`: the entry hashes the check read;
    `blocks`: each block's first entry and hash, in order."""
    if anchor.block is not None and anchor.block <= len(blocks):
        first, held = blocks[anchor.block - 1]
        if held != anchor.block_hash:
            check.findings.append(
                Finding(
                    first,
                    "funds.check.anchor_mismatch",
                    f"封存块 {anchor.block} 与封存时发布的哈希不符（被改写）",
                )
            )
    if anchor.seq is None:
        return
    if anchor.seq > check.head_seq:
        check.findings.append(
            Finding(
                check.head_seq + 1,
                "funds.check.cut_off",
                f"缺失：已发布的台账事件记到第 {anchor.seq} 笔，账簿只到第 {check.head_seq} 笔"
                "（末尾被删）",
            )
        )
    elif anchor.seq in hash_at and hash_at[anchor.seq] != anchor.hash:
        check.findings.append(
            Finding(anchor.seq, "funds.check.anchor_mismatch", "与已发布的台账事件不符（被改写）")
        )
    elif check.intact:
        check.anchored_seq = anchor.seq


def _before(start: Start, seq: Any) -> dict[str, Any] | None:
    """An entry before `start` (sealed) as a reversal compares with it."""
    found = start.reversible.get(seq) if isinstance(seq, int) else None
    return None if found is None else dict(zip(("kind", "line", "amount_fen"), found, strict=True))


def _reverses(original: dict[str, Any] | None, reversal: dict[str, Any]) -> bool:
    """A reversal puts back an earlier entry of its kind, line and amount."""
    return original is not None and all(
        original.get(mine) == reversal.get(theirs)
        for mine, theirs in (
            ("kind", "reverses_kind"),
            ("line", "line"),
            ("amount_fen", "amount_fen"),
        )
    )


def _stored_state(entry: dict[str, Any]) -> LedgerState | None:
    try:
        return LedgerState.model_validate(entry.get("state") or {})
    except ValueError:
        return None


# -- budget against actual --------------------------------------------------------------------


@dataclass(frozen=True)
class LineFigures:
    code: str
    name: str
    kind: LineKind
    parent: str | None
    budget_fen: int
    actual_fen: int  # spent (spending) or received (income), reversals deducted
    by_month: dict[str, int]  # YYYY-MM → actual that month

    @property
    def remaining_fen(self) -> int:
        return self.budget_fen - self.actual_fen

    @property
    def used_pct(self) -> float | None:
        if self.kind is not LineKind.spending or self.budget_fen <= 0:
            return None
        return round(self.actual_fen * 100 / self.budget_fen, 1)


def figures(entries: list[dict[str, Any]], state: LedgerState, chart: Chart) -> list[LineFigures]:
    """Budget and actual per line (headings sum their sub-lines), and actual per month."""
    months: dict[str, dict[str, int]] = {}
    for entry in entries:
        kind = EntryKind(entry["kind"])
        if kind not in (EntryKind.income, EntryKind.payment, EntryKind.reversal):
            continue
        sign = -1 if kind is EntryKind.reversal else 1
        month = str(entry.get("occurred_on") or "")[:7]
        line_months = months.setdefault(entry["line"], {})
        line_months[month] = line_months.get(month, 0) + sign * entry["amount_fen"]
    out: list[LineFigures] = []
    for line in chart.lines:
        members = [c.code for c in chart.children(line.code)] or [line.code]
        actual_of = state.spent if line.kind is LineKind.spending else state.income
        by_month: dict[str, int] = {}
        for code in members:
            for month, fen in months.get(code, {}).items():
                by_month[month] = by_month.get(month, 0) + fen
        out.append(
            LineFigures(
                code=line.code,
                name=line.name,
                kind=line.kind,
                parent=line.parent,
                budget_fen=sum(state.budget.get(c, 0) for c in members),
                actual_fen=sum(actual_of.get(c, 0) for c in members),
                by_month=dict(sorted(by_month.items())),
            )
        )
    return out
