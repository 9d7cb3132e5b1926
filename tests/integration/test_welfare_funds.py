"""Union funds (经费) on the real Kafka and MongoDB wire: no route edits or deletes the
ledger, reversals, 20 concurrent spends never overdraw a line, the 90% warning published once
when concurrent spends cross it together, a row altered in the database caught by the check,
dues income posted once however often its event arrives, who may do what, and the check
against what the ledger published on Kafka (entries deleted from the end, a ledger rewritten
with its hashes computed again)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError
from jsonschema import Draft202012Validator, FormatChecker
from openpyxl import load_workbook

from services.members.membership.domain import JoinMember
from services.members.membership.domain import join as new_member
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
from services.welfare.funds.handlers import Funds, Posting, post_entry, reverse_entry
from services.welfare.funds.store import BLOCKS, LEDGER, Books, published_head
from shared.aggregate import Actor
from shared.envelope import CloudEvent
from shared.errors import Conflict
from shared.keyed_tail import Partitions, scan_back
from shared.principal import Principal
from tests.integration.conftest import Stack, bearer, build_stack, close_stack
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration

YEAR = 2026
FESTIVAL = "spend_activity_festival"
CULTURE = "spend_activity_culture_sports"
CHAIR = bearer("chair-1", ["admin"], ["*"])
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"


def conforms(event: dict[str, Any]) -> dict[str, Any]:
    """The event, after checking its data against the catalog's JSON Schema of its type."""
    schema = json.loads((SCHEMAS / f"{event['type']}.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])
    return event


def finance(campus: str) -> dict[str, str]:
    return bearer(f"fin-{campus}", ["finance"], [campus])


def auditor(campus: str) -> dict[str, str]:
    return bearer(f"aud-{campus}", ["auditor"], [campus])


def campus() -> str:
    """A campus of its own per test: the module shares one stack."""
    return f"c{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
async def funds(infra) -> AsyncIterator[Stack]:
    s = await build_stack(infra, ["members", "welfare"])
    try:
        yield s
    finally:
        await close_stack(s)


def base(c: str) -> str:
    return f"/funds/budgets/{c}/{YEAR}"


def ledger(c: str) -> str:
    return f"/funds/ledgers/{c}/{YEAR}"


async def adopt(stack: Stack, c: str, lines: dict[str, int]) -> Any:
    body = {"lines": lines, "note": "2026年第一次委员会会议批准"}
    return await stack.welfare_http.post(base(c), json=body, headers=CHAIR)


async def pay(
    stack: Stack, c: str, amount: int, line: str = FESTIVAL, key: str | None = None, **over: Any
) -> Any:
    body = {
        "line": line,
        "amount_fen": amount,
        "cause": "端午节慰问品",
        "approved_by": "李主席",
        "voucher_no": f"记-{uuid.uuid4().hex[:6]}",
        "occurred_on": "2026-06-10",
        "idempotency_key": key or uuid.uuid4().hex,
        **over,
    }
    headers = over.pop("headers", None) or finance(c)
    body.pop("headers", None)
    return await stack.welfare_http.post(f"{ledger(c)}/payments", json=body, headers=headers)


async def check(stack: Stack, c: str) -> dict[str, Any]:
    response = await stack.welfare_http.get(f"{ledger(c)}/check", headers=auditor(c))
    assert response.status_code == 200, response.text
    return response.json()


async def test_no_route_edits_or_deletes_a_ledger_entry(funds: Stack):
    paths = (await funds.welfare_http.get("/openapi.json")).json()["paths"]
    funds_paths = {p: set(ops) for p, ops in paths.items() if p.startswith("/funds")}
    assert funds_paths, "the funds routes are in the OpenAPI document"
    for path, methods in funds_paths.items():
        assert methods <= {"get", "post"}, f"{path} offers {methods}"
    writes = sorted(p for p, m in funds_paths.items() if "post" in m and "/ledgers/" in p)
    # Posting adds an entry; the only way to undo one is a reversal, itself a new entry.
    assert writes == [
        "/funds/ledgers/{campus}/{year}/entries/{seq}/reversal",
        "/funds/ledgers/{campus}/{year}/income",
        "/funds/ledgers/{campus}/{year}/payments",
    ]


async def test_budget_adopted_once_amended_with_a_reason_and_roles_kept(funds: Stack):
    stack, c = funds, campus()
    assert (await pay(stack, c, 100)).json()["code"] == "funds.no_budget"
    refused = await stack.welfare_http.post(
        base(c), json={"lines": {FESTIVAL: 1}, "note": "x"}, headers=finance(c)
    )
    assert refused.status_code == 403 and refused.json()["code"] == "auth.forbidden"
    adopted = await adopt(stack, c, {FESTIVAL: 500_000, CULTURE: 200_000})
    assert adopted.status_code == 201, adopted.text
    assert adopted.json()["entry"]["seq"] == 1
    again = await adopt(stack, c, {FESTIVAL: 1})
    assert again.status_code == 409 and again.json()["code"] == "funds.budget_adopted"

    amendment = {
        "line": CULTURE,
        "change_fen": -50_000,
        "reason": "运动会改为线上，调减",
        "idempotency_key": "amend-0001",
    }
    done = await stack.welfare_http.post(f"{base(c)}/amendments", json=amendment, headers=CHAIR)
    assert done.status_code == 201, done.text
    assert done.json()["entry"]["reason"] == "运动会改为线上，调减"
    assert done.json()["entry"]["line_budget_fen"] == 150_000
    replay = await stack.welfare_http.post(f"{base(c)}/amendments", json=amendment, headers=CHAIR)
    assert replay.status_code == 200 and replay.json()["replayed"] is True

    # An auditor reads everything and changes nothing; finance of another campus sees nothing.
    assert (await pay(stack, c, 100, headers=auditor(c))).status_code == 403
    other = await stack.welfare_http.get(base(c), headers=finance("elsewhere"))
    assert other.status_code == 403 and other.json()["code"] == "auth.campus_forbidden"
    assert (await pay(stack, c, 100, headers=finance("elsewhere"))).status_code == 403
    paid = await pay(stack, c, 30_000)
    assert paid.status_code == 201, paid.text
    budget = (await stack.welfare_http.get(base(c), headers=auditor(c))).json()
    lines = {line["code"]: line for line in budget["lines"]}
    assert lines[FESTIVAL]["budget_fen"] == 500_000 and lines[FESTIVAL]["actual_fen"] == 30_000
    assert lines[FESTIVAL]["by_month"] == {"2026-06": 30_000}
    assert lines["spend_activity"]["budget_fen"] == 650_000  # the heading sums its lines
    assert budget["balance_fen"] == -30_000
    page = (await stack.welfare_http.get(f"{ledger(c)}/entries", headers=auditor(c))).json()
    assert [e["kind"] for e in page["entries"]] == ["budget_adopted", "budget_amended", "payment"]

    exported = await stack.welfare_http.get(f"{ledger(c)}/export.csv", headers=auditor(c))
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["序号", "日期", "类型"] and len(rows) == 4
    assert rows[3][2] == "支出" and rows[3][6] == "300.00"
    xlsx = await stack.welfare_http.get(f"{ledger(c)}/export.xlsx", headers=auditor(c))
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row == 4

    # The year across campuses: each caller sees the campuses they hold, no other.
    year = await stack.welfare_http.get(f"/funds/summary/{YEAR}", headers=auditor(c))
    assert [b["campus"] for b in year.json()["campuses"]] == [c]
    assert year.json()["campuses"][0]["spent_fen"] == 30_000
    other_year = await stack.welfare_http.get(f"/funds/summary/{YEAR}", headers=auditor("x-none"))
    assert other_year.json()["campuses"] == []
    everyone = await stack.welfare_http.get(f"/funds/summary/{YEAR}", headers=CHAIR)
    assert c in [b["campus"] for b in everyone.json()["campuses"]]


async def test_a_reversal_points_at_the_original_and_is_made_once(funds: Stack):
    stack, c = funds, campus()
    await adopt(stack, c, {FESTIVAL: 100_000})
    paid = (await pay(stack, c, 60_000)).json()["entry"]
    assert (await pay(stack, c, 50_000)).json()["code"] == "funds.over_budget"
    body = {"reason": "重复报销，退回", "occurred_on": "2026-06-12"}
    url = f"{ledger(c)}/entries/{paid['seq']}/reversal"
    assert (await stack.welfare_http.post(url, json=body, headers=auditor(c))).status_code == 403
    reversed_ = await stack.welfare_http.post(url, json=body, headers=finance(c))
    assert reversed_.status_code == 201, reversed_.text
    entry = reversed_.json()["entry"]
    assert entry["kind"] == "reversal" and entry["reverses"] == paid["seq"]
    assert entry["amount_fen"] == 60_000 and entry["line_spent_fen"] == 0
    twice = await stack.welfare_http.post(url, json=body, headers=finance(c))
    assert twice.status_code == 409 and twice.json()["code"] == "funds.already_reversed"
    of_reversal = await stack.welfare_http.post(
        f"{ledger(c)}/entries/{entry['seq']}/reversal", json=body, headers=finance(c)
    )
    assert of_reversal.json()["code"] == "funds.not_reversible"
    original = await stack.welfare_http.get(
        f"{ledger(c)}/entries/{paid['seq']}", headers=auditor(c)
    )
    assert original.json()["amount_fen"] == 60_000  # the payment stays as it was
    assert (await pay(stack, c, 100_000)).status_code == 201  # the budget is back
    assert (await check(stack, c))["intact"] is True


async def test_twenty_concurrent_spends_never_overdraw(funds: Stack):
    stack, c = funds, campus()
    await adopt(stack, c, {FESTIVAL: 10_000})
    answers = await asyncio.gather(*(pay(stack, c, 1_000) for _ in range(20)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 10 + [409] * 10, [a.text for a in answers if a.status_code >= 500]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"funds.over_budget"}
    budget = (await stack.welfare_http.get(base(c), headers=auditor(c))).json()
    festival = next(line for line in budget["lines"] if line["code"] == FESTIVAL)
    assert festival["actual_fen"] == 10_000 and festival["remaining_fen"] == 0
    proof = await check(stack, c)
    assert proof["intact"] is True and proof["entries"] == 11


async def test_spends_from_several_replicas_at_once_never_overdraw(funds: Stack):
    # Within one process posts to a ledger take turns; between replicas only the unique
    # sequence number decides. Three replicas' books, each with its own memory, race here.
    stack, c = funds, campus()
    await adopt(stack, c, {FESTIVAL: 10_000})
    runtime = stack.welfare
    replicas = [Funds(Books(runtime.db, runtime.outbox), current_chart()) for _ in range(3)]
    user = Principal("fin-b", frozenset({"finance"}), frozenset({c}))

    async def spend(replica: Funds, i: int) -> str:
        posting = Posting(
            FESTIVAL, 500, "端午节慰问品", "李主席", f"记-{i}", date(2026, 6, 1), f"r{i:07d}"
        )
        try:
            await post_entry(replica, user, c, YEAR, EntryKind.payment, posting)
        except Conflict as refused:
            return refused.code
        return "posted"

    outcomes = await asyncio.gather(*(spend(replicas[i % 3], i) for i in range(30)))
    assert sorted(outcomes).count("posted") == 20
    assert set(outcomes) == {"posted", "funds.over_budget"}
    proof = await check(stack, c)
    assert proof["intact"] is True and proof["entries"] == 21 and proof["balance_fen"] == -10_000


async def published(stack: Stack) -> None:
    await wait_until(lambda: _empty(stack), 30, "the welfare outbox to be published")


async def _empty(stack: Stack) -> bool:
    return await stack.welfare.relay.backlog() == 0


async def test_the_ninety_percent_warning_is_published_once(funds: Stack):
    stack, c = funds, campus()
    await adopt(stack, c, {FESTIVAL: 10_000, CULTURE: 10_000})
    assert (await pay(stack, c, 8_500)).status_code == 201
    # Ten spends at once: the fifth to land passes 90%, the rest land above it too.
    answers = await asyncio.gather(*(pay(stack, c, 100) for _ in range(10)))
    assert [a.status_code for a in answers] == [201] * 10
    assert (await pay(stack, c, 100)).status_code == 201  # one more, still above
    assert (await pay(stack, c, 9_000, line=CULTURE)).status_code == 201  # another line
    await published(stack)
    warnings = [
        conforms(json.loads(r.value))
        for r in await read_all(stack.bootstrap, stack.topic("welfare.budget"), 2000)
        if json.loads(r.value)["campus"] == c
    ]
    assert sorted(w["data"]["line"] for w in warnings) == sorted([FESTIVAL, CULTURE])
    festival = next(w["data"] for w in warnings if w["data"]["line"] == FESTIVAL)
    assert festival["threshold_pct"] == 90 and festival["budget_fen"] == 10_000
    assert 9_000 <= festival["spent_fen"] <= 9_100
    posted = [
        conforms(json.loads(r.value))
        for r in await read_all(stack.bootstrap, stack.topic("welfare.ledger"), 2000)
        if json.loads(r.value)["campus"] == c
    ]
    assert sorted(p["data"]["seq"] for p in posted) == list(range(1, 15))


async def test_a_row_altered_in_the_database_is_caught_by_the_check(funds: Stack):
    stack, c = funds, campus()
    await adopt(stack, c, {FESTIVAL: 100_000})
    for amount in (10_000, 20_000, 30_000):
        assert (await pay(stack, c, amount)).status_code == 201
    assert (await check(stack, c))["intact"] is True
    entries = stack.welfare.db[LEDGER]
    # Someone with database access turns a 200 元 payment into 20 元.
    await entries.update_one({"_id": f"{c}:{YEAR}#000000003"}, {"$set": {"amount_fen": 2_000}})
    found = await check(stack, c)
    assert found["intact"] is False
    assert {(f["seq"], f["code"]) for f in found["findings"]} >= {
        (3, "funds.check.altered"),
        (3, "funds.check.balance_mismatch"),
    }
    assert "第 3 笔" in found["answer"]
    # And one removed from the middle.
    await entries.delete_one({"_id": f"{c}:{YEAR}#000000002"})
    codes = {(f["seq"], f["code"]) for f in (await check(stack, c))["findings"]}
    assert (2, "funds.check.missing") in codes


async def test_dues_income_is_posted_once_and_put_back_by_its_reversal(funds: Stack):
    stack, c = funds, "east"
    cmd = JoinMember(
        staff_no=f"W{uuid.uuid4().hex[:6]}",
        name="王芳",
        campus=c,
        department="学前教育系",
        salary_base_fen=800_000,
    )
    enrolled = await stack.members.context.members.enrol(
        new_member(cmd, date(2020, 9, 1)), Actor("test")
    )
    member = {"id": enrolled.id}

    async def listed() -> bool:
        page = await stack.members_http.get(
            "/members", params={"campus": c, "status": "active"}, headers=CHAIR
        )
        return any(m["id"] == member["id"] for m in page.json()["items"])

    await wait_until(listed, 30, "the member in the list view")
    generated = await stack.members_http.post(
        "/dues/bills/generate", json={"month": "2026-04"}, headers=CHAIR
    )
    assert generated.status_code == 200, generated.text
    payment = {
        "member_id": member["id"],
        "month": "2026-04",
        "amount_fen": 4_000,
        "paid_on": "2026-04-10",
        "method": "transfer",
        "idempotency_key": "dues-pay-0001",
    }
    paid = await stack.members_http.post("/dues/payments", json=payment, headers=CHAIR)
    assert paid.status_code == 201, paid.text
    books = stack.welfare.context.funds.books

    async def posted() -> bool:
        return len(await books.entries(f"{c}:2026")) >= 1

    await wait_until(posted, 30, "the dues income in the welfare ledger")
    [income] = [e for e in await books.entries(f"{c}:2026") if e["kind"] == "income"]
    assert income["line"] == "income_dues" and income["amount_fen"] == 4_000
    assert income["cause_ref"].startswith("members.dues:")
    assert income["occurred_on"] == "2026-04-10"

    # The same event delivered again — also under another envelope id, as a republish would,
    # so the consumer's processed markers do not catch it, and five times at once.
    [record] = [
        r
        for r in await read_all(stack.bootstrap, stack.topic("members.dues"), 2000)
        if json.loads(r.value)["data"]["member_id"] == member["id"]
    ]
    envelope = CloudEvent.from_json_bytes(record.value)
    conforms(json.loads(record.value))
    assert record.key.decode() == member["id"]  # a payment and its reversal: one partition
    assert set(envelope.data) == {
        "payment_id",
        "member_id",
        "campus",
        "month",
        "amount_fen",
        "paid_on",
    }  # nothing personal beyond the member id
    consumer = stack.welfare.consumer
    await consumer.dispatch(envelope)
    copies = [envelope.model_copy(update={"id": str(uuid.uuid4())}) for _ in range(5)]
    await asyncio.gather(*(consumer.dispatch(copy) for copy in copies))
    incomes = [e for e in await books.entries(f"{c}:2026") if e["kind"] == "income"]
    assert len(incomes) == 1

    # A dues reversal puts the income back, once.
    seq = paid.json()["entry"]["seq"]
    url = f"/dues/bills/2026-04/{member['id']}/entries/{seq}/reverse"
    reversed_ = await stack.members_http.post(url, json={"reason": "重复扣款"}, headers=CHAIR)
    assert reversed_.status_code == 201, reversed_.text

    async def put_back() -> bool:
        return any(e["kind"] == "reversal" for e in await books.entries(f"{c}:2026"))

    await wait_until(put_back, 30, "the dues reversal in the welfare ledger")
    [reversal] = [e for e in await books.entries(f"{c}:2026") if e["kind"] == "reversal"]
    assert reversal["reverses"] == income["seq"] and reversal["state"]["balance_fen"] == 0
    proof = await check(stack, c)
    assert proof["intact"] is True


async def test_members_read_budget_against_actual_of_their_campus_and_nothing_personal(
    funds: Stack,
):
    c, other = campus(), campus()
    assert (await adopt(funds, c, {FESTIVAL: 100_000, CULTURE: 50_000})).status_code == 201
    assert (await pay(funds, c, 30_000)).status_code == 201
    assert (await pay(funds, c, 5_000, line=CULTURE)).status_code == 201
    member = bearer("m-open", ["member"], [c])
    found = await funds.welfare_http.get(f"/funds/public/{YEAR}", headers=member)
    assert found.status_code == 200, found.text
    [mine] = found.json()["campuses"]
    assert mine["campus"] == c and mine["adopted"] is True
    assert (mine["budget_fen"], mine["spent_fen"]) == (150_000, 35_000)
    by_code = {line["code"]: line for line in mine["lines"]}
    assert (by_code[FESTIVAL]["budget_fen"], by_code[FESTIVAL]["actual_fen"]) == (100_000, 30_000)
    assert by_code[FESTIVAL]["used_pct"] == 30.0
    heading = by_code[by_code[FESTIVAL]["parent"]]  # 职工活动支出: the sum of its sub-lines
    assert (heading["budget_fen"], heading["actual_fen"]) == (150_000, 35_000)
    text = found.text
    for personal in ("李主席", "端午节慰问品", "fin-", "voucher", "approved_by", '"by"'):
        assert personal not in text
    # Another campus's member sees only their own (here: none); finance alone is no member.
    elsewhere = bearer("m-else", ["member"], [other])
    assert (await funds.welfare_http.get(f"/funds/public/{YEAR}", headers=elsewhere)).json()[
        "campuses"
    ] == []
    refused = await funds.welfare_http.get(f"/funds/public/{YEAR}", headers=finance(c))
    assert refused.status_code == 403


async def test_sealed_blocks_are_the_record_and_a_change_to_them_or_the_rest_is_caught(
    funds: Stack,
):
    """Every `block` entries, proven, are sealed into one block document (the check reads a
    block as one value instead of `block` documents); the check proves the blocks by their
    hash chain and replays the entries after them."""
    stack, c = funds, campus()
    await adopt(stack, c, {FESTIVAL: 100_000})
    chart = current_chart()
    books = Books(stack.welfare.db, stack.welfare.outbox, chart=chart, block=3)
    mine = Funds(books, chart)
    user = Principal("fin-s", frozenset({"finance"}), frozenset({c}))
    for i in range(6):  # entries 2..7
        posting = Posting(
            FESTIVAL, 1_000 * (i + 1), "慰问品", "李主席", f"记-{i}", None, f"s{i:07d}"
        )
        await post_entry(mine, user, c, YEAR, EntryKind.payment, posting)
    chain = f"{c}:{YEAR}"
    found = await books.check(chain)
    assert found.intact and found.entries == 7 and found.head_seq == 7
    blocks = stack.welfare.db["fund_blocks"]
    assert await blocks.count_documents({"chain": chain}) == 2  # entries 1-3 and 4-6
    # The service's own books (blocks of 1,000) read the same blocks: the same answer.
    answer = await check(stack, c)
    assert answer["intact"] is True and answer["entries"] == 7
    assert answer["head_hash"] == found.head_hash
    listed = await stack.welfare_http.get(f"{ledger(c)}/entries", headers=auditor(c))
    assert [e["seq"] for e in listed.json()["entries"]] == list(range(1, 8))
    # A reversal after the blocks of an entry sealed in one: proven against the block.
    await reverse_entry(mine, user, c, YEAR, 2, "重复报销", None, None)
    answer = await check(stack, c)
    assert answer["intact"] is True and answer["entries"] == 8, answer

    # A payment inside a sealed block changed in the block's text: caught, named.
    block = await blocks.find_one({"chain": chain, "number": 2})
    assert block is not None
    held = unpack(block["packed"])
    assert held[0]["amount_fen"] == 3_000  # entry 4: the third payment
    held[0]["amount_fen"] = 300
    await blocks.update_one({"_id": block["_id"]}, {"$set": {"packed": pack(held)}})
    broken = await check(stack, c)
    assert broken["intact"] is False
    assert (4, "funds.check.altered") in {(f["seq"], f["code"]) for f in broken["findings"]}
    await blocks.update_one({"_id": block["_id"]}, {"$set": {"packed": block["packed"]}})
    assert (await check(stack, c))["intact"] is True

    # An entry after the blocks changed in its document: caught as before.
    await stack.welfare.db[LEDGER].update_one(
        {"_id": f"{chain}#000000007"}, {"$set": {"amount_fen": 1}}
    )
    codes = {(f["seq"], f["code"]) for f in (await check(stack, c))["findings"]}
    assert (7, "funds.check.altered") in codes


# -- the check against what the ledger published (outside the database) ----------------------
#
# Someone who can change the database can also compute the hashes again: only the last entry
# and block published on Kafka, which they cannot change, tell a rewritten ledger from the
# real one.


async def anchored_at(stack: Stack, c: str, seq: int) -> None:
    """Wait until the check has compared the ledger with its published entry `seq`."""

    async def published() -> bool:
        return (await check(stack, c)).get("anchored_seq") == seq

    await wait_until(published, what=f"entry {seq} of {c} published")


def small_books(stack: Stack, block: int, window: int = 100) -> Books:
    """Books sealing every `block` entries and reading `window` numbers at once, comparing
    with the stack's published entries."""
    head = published_head(stack.bootstrap, stack.topic("welfare.ledger"))
    return Books(
        stack.welfare.db,
        stack.welfare.outbox,
        chart=current_chart(),
        block=block,
        anchor=head,
        window=window,
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
    books = small_books(stack, 1000, window=5)
    await pay_directly(books, c, 14)  # entries 2..15
    chain = f"{c}:{YEAR}"
    await anchored_at(stack, c, 15)
    # 8 numbers gone in a row, more than a window of 5: reading by number used to stop at the
    # first empty window and never see entries 10..15 after it.
    await stack.welfare.db[LEDGER].delete_many({"chain": chain, "seq": {"$gte": 2, "$lte": 9}})
    found = await books.check(chain)
    assert found.head_seq == 15 and found.entries == 7
    missing = {f.seq for f in found.findings if f.code == "funds.check.missing"}
    assert missing == set(range(2, 10))
    # The entries after the run are read to the last published: the end is not cut off.
    assert not [f for f in found.findings if f.code == "funds.check.cut_off"]


async def test_a_sealed_entry_is_served_from_its_block_not_its_row(funds: Stack):
    stack, c = funds, campus()
    chain, _ = await a_sealed_block(stack, c)
    await stack.welfare.db[LEDGER].update_one(
        {"_id": entry_id(chain, 2)}, {"$set": {"amount_fen": 99_999, "cause": "改过的"}}
    )
    url = f"{ledger(c)}/entries/2"
    got = await stack.welfare_http.get(url, headers=auditor(c))
    assert got.status_code == 200, got.text
    kept: dict[str, Any] = got.json()
    assert kept["amount_fen"] == 100 and kept["cause"] == "慰问品"


async def a_sealed_block(stack: Stack, c: str) -> tuple[str, Books]:
    """Campus `c`'s ledger with entries 2..4 paid on books sealing every 3: block 1-3 sealed."""
    await adopt(stack, c, {FESTIVAL: 100_000})
    books = small_books(stack, 3)
    await pay_directly(books, c, 3)
    chain = f"{c}:{YEAR}"

    async def sealed() -> bool:
        return await stack.welfare.db[BLOCKS].count_documents({"chain": chain}) >= 1

    await wait_until(sealed, what="block 1 sealed")
    return chain, books


async def test_a_block_read_once_is_kept_yet_the_check_reads_the_database(funds: Stack):
    stack, c = funds, campus()
    chain, books = await a_sealed_block(stack, c)
    read = await books.kept_entry(chain, 2)
    assert read is not None and read["amount_fen"] == 100
    read["amount_fen"] = 1  # a reader's copy is its own: the kept block is not changed
    assert (again := await books.kept_entry(chain, 2)) is not None and again["amount_fen"] == 100
    # The block's text changed in the database after it was read, its hash left as it was:
    # the check reads the row, not what was unpacked before, and names the block.
    blocks = stack.welfare.db[BLOCKS]
    block = await blocks.find_one({"chain": chain, "number": 1})
    assert block is not None
    held = unpack(block["packed"])
    held[1]["amount_fen"] = 5  # entry 2
    await blocks.update_one({"_id": block["_id"]}, {"$set": {"packed": pack(held)}})
    found = await books.check(chain)
    assert not found.intact and "封存块 1 与其哈希不符" in found.say()
    # A row that is another block now (its hash differs) is read again, not the kept one.
    await blocks.update_one({"_id": block["_id"]}, {"$set": {"hash": "0" * 64}})
    assert (now := await books.kept_entry(chain, 2)) is not None and now["amount_fen"] == 5


async def test_the_check_says_why_when_kafka_cannot_be_read(funds: Stack):
    stack, c = funds, campus()
    await adopt(stack, c, {FESTIVAL: 100_000})
    assert (await pay(stack, c, 10_000)).status_code == 201
    chain, topic = f"{c}:{YEAR}", stack.topic("welfare.ledger")
    nowhere = "127.0.0.1:1"  # no broker answers there
    books = Books(
        stack.welfare.db,
        stack.welfare.outbox,
        chart=current_chart(),
        anchor=published_head(nowhere, topic),
    )
    found = await books.check(chain)
    assert found.intact and found.anchored_seq is None
    assert "未能与已发布的台账事件核对末尾（消息队列暂不可用）" in found.say()
    # With the topic's partitions kept from a read that worked, a scan that cannot reach
    # Kafka still fails: it never passes for "nothing was published".
    kept = Partitions(stack.bootstrap)
    assert await kept.of(topic)
    with pytest.raises(KafkaConnectionError):
        await scan_back(nowhere, topic, chain, lambda _: True, partitions=kept)
