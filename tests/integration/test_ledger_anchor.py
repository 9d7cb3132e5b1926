"""The ledger check against what the ledger published (real Kafka and MongoDB wire): entries
deleted from the end, a ledger rewritten with every hash computed again, a run of deleted
numbers longer than a read window, and a sealed entry's row changed after sealing.

Someone who can change the database can also compute the hashes again: only the last entry
published on Kafka, which they cannot change, tells a rewritten ledger from the real one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.welfare.funds.chart import current_chart
from services.welfare.funds.domain import (
    EntryKind,
    LedgerState,
    Start,
    block_hash,
    entry_hash,
    entry_id,
    pack,
    sealed_block,
    unpack,
    verify,
    verify_blocks,
)
from services.welfare.funds.handlers import Funds, Posting, post_entry
from services.welfare.funds.store import BLOCKS, LEDGER, Books, published_head
from shared.principal import Principal
from tests.integration.conftest import Stack, build_stack, close_stack
from tests.integration.test_welfare_funds import (
    FESTIVAL,
    YEAR,
    adopt,
    auditor,
    campus,
    check,
    ledger,
    pay,
)
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def funds(infra) -> AsyncIterator[Stack]:
    s = await build_stack(infra, ["welfare"])
    try:
        yield s
    finally:
        await close_stack(s)


async def anchored_at(stack: Stack, c: str, seq: int) -> None:
    """Wait until the check has compared the ledger with its published entry `seq`."""

    async def published() -> bool:
        return (await check(stack, c)).get("anchored_seq") == seq

    await wait_until(published, what=f"entry {seq} of {c} published")


def small_books(stack: Stack, block: int) -> Books:
    """Books sealing every `block` entries, reading the stack's published entries."""
    head = published_head(stack.bootstrap, stack.topic("welfare.ledger"))
    return Books(
        stack.welfare.db, stack.welfare.outbox, chart=current_chart(), block=block, anchor=head
    )


async def pay_directly(books: Books, c: str, n: int) -> None:
    mine = Funds(books, current_chart())
    user = Principal("fin-a", frozenset({"finance"}), frozenset({c}))
    for i in range(n):
        posting = Posting(FESTIVAL, 100 + i, "慰问品", "李主席", f"记-{i}", None, f"{c}-{i:05d}")
        await post_entry(mine, user, c, YEAR, EntryKind.payment, posting)


async def test_entries_deleted_from_the_end_are_caught(funds: Stack):
    stack, c = funds, campus()
    await adopt(stack, c, {FESTIVAL: 100_000})
    for amount in (10_000, 20_000, 30_000):
        assert (await pay(stack, c, amount)).status_code == 201
    await anchored_at(stack, c, 4)
    answer = await check(stack, c)
    assert answer["intact"] is True and "与已发布的台账事件（第 4 笔）核对一致" in answer["answer"]

    # The last two payments deleted: numbers 1..2 still run without a gap, every hash still
    # links; before, only an auditor comparing the head hash by hand could tell.
    for seq in (3, 4):
        await stack.welfare.db[LEDGER].delete_one({"_id": entry_id(f"{c}:{YEAR}", seq)})
    found = await check(stack, c)
    assert found["intact"] is False
    assert (3, "funds.check.cut_off") in {(f["seq"], f["code"]) for f in found["findings"]}
    assert "已发布的台账事件记到第 4 笔，账簿只到第 2 笔" in found["answer"]


async def test_a_ledger_rewritten_with_its_hashes_computed_again_is_caught(funds: Stack):
    stack, c = funds, campus()
    await adopt(stack, c, {FESTIVAL: 100_000})
    books = small_books(stack, 3)
    await pay_directly(books, c, 6)  # entries 2..7: blocks 1-3 and 4-6, entry 7 a row
    chain = f"{c}:{YEAR}"
    head = published_head(stack.bootstrap, stack.topic("welfare.ledger"))

    async def published() -> bool:
        anchor = await head(chain, True)
        return anchor.seq == 7 and anchor.block == 2

    await wait_until(published, what="entry 7 and block 2 published")
    assert (await books.check(chain)).anchored_seq == 7

    # Entry 5's amount changed inside block 2, and the block's hash computed again: the
    # chain of blocks holds, entry 7 still links to the block's head.
    blocks = stack.welfare.db[BLOCKS]
    one = await blocks.find_one({"chain": chain, "number": 1})
    two = await blocks.find_one({"chain": chain, "number": 2})
    assert one is not None and two is not None
    held = unpack(two["packed"])
    assert held[1]["seq"] == 5
    held[1]["amount_fen"] = 1
    cheap = {**two, "packed": pack(held)}
    cheap["hash"] = block_hash(one["hash"], cheap)
    await blocks.replace_one({"_id": two["_id"]}, cheap)
    assert not verify_blocks(chain, [one, cheap]).findings  # in the database, all agrees
    found = await books.check(chain)
    assert {(f.seq, f.code) for f in found.findings} == {(4, "funds.check.anchor_mismatch")}
    assert "封存块 2 与封存时发布的哈希不符" in found.say()

    # Thorough: every entry of the block made to fit (hash and link), the block's head,
    # and entry 7's link and hash after it.
    previous = one["head_hash"]
    for entry in held:
        entry["prev_hash"] = previous
        entry["hash"] = previous = entry_hash(entry)
    first = LedgerState.model_validate(one["state"])
    proof = verify(chain, held, current_chart(), Start(4, one["head_hash"], first))
    await blocks.replace_one({"_id": two["_id"]}, sealed_block(chain, 2, held, proof, one["hash"]))
    row = await stack.welfare.db[LEDGER].find_one({"_id": entry_id(chain, 7)})
    assert row is not None
    row["prev_hash"] = previous
    row["hash"] = entry_hash(row)
    await stack.welfare.db[LEDGER].replace_one({"_id": row["_id"]}, row)
    found = await books.check(chain)
    assert {(f.seq, f.code) for f in found.findings} == {
        (4, "funds.check.anchor_mismatch"),
        (7, "funds.check.anchor_mismatch"),
    }
    assert found.anchored_seq is None


async def test_a_run_of_deleted_numbers_longer_than_a_read_window_hides_nothing(funds: Stack):
    stack, c = funds, campus()
    await adopt(stack, c, {FESTIVAL: 10_000_000})
    books = small_books(stack, 1000)
    await pay_directly(books, c, 130)  # entries 2..131
    chain = f"{c}:{YEAR}"
    await anchored_at(stack, c, 131)
    # 120 numbers gone in a row: reading by number used to stop at the first empty window
    # of 100 and never see entries 122..131 after it.
    await stack.welfare.db[LEDGER].delete_many({"chain": chain, "seq": {"$gte": 2, "$lte": 121}})
    found = await books.check(chain)
    assert found.head_seq == 131 and found.entries == 11
    missing = {f.seq for f in found.findings if f.code == "funds.check.missing"}
    assert missing == set(range(2, 122))
    # The entries after the run are read to the last published: the end is not cut off.
    assert not [f for f in found.findings if f.code == "funds.check.cut_off"]


async def test_a_sealed_entry_is_served_from_its_block_not_its_row(funds: Stack):
    stack, c = funds, campus()
    await adopt(stack, c, {FESTIVAL: 100_000})
    books = small_books(stack, 3)
    await pay_directly(books, c, 3)  # entries 2..4: block 1-3 sealed
    chain = f"{c}:{YEAR}"
    await wait_until(lambda: _sealed(stack, chain), what="block 1 sealed")
    await stack.welfare.db[LEDGER].update_one(
        {"_id": entry_id(chain, 2)}, {"$set": {"amount_fen": 99_999, "cause": "改过的"}}
    )
    url = f"{ledger(c)}/entries/2"
    got = await stack.welfare_http.get(url, headers=auditor(c))
    assert got.status_code == 200, got.text
    kept: dict[str, Any] = got.json()
    assert kept["amount_fen"] == 100 and kept["cause"] == "慰问品"


async def _sealed(stack: Stack, chain: str) -> bool:
    return await stack.welfare.db[BLOCKS].count_documents({"chain": chain}) >= 1
