"""The union's books at scale: the ledger check over 100,000 entries, and posting under
contention (many payments at once on one ledger, each decided on the entry before it).

The 100,000 entries are made by the same pure rules and hash chain the service uses and
written straight into the collection (posting them one by one would measure posting, which
`funds.post` does), then an auditor's `GET …/check` replays and proves them.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from deploy.bench.measure import Target, bounded, clock
from deploy.bench.paths import services
from deploy.bench.report import Measurement, percentile
from services.welfare.funds.chart import current_chart
from services.welfare.funds.domain import (
    LedgerState,
    apply,
    chain_of,
    entry_id,
    sealed,
    verify,
)
from services.welfare.funds.store import LEDGER
from shared.auth import mint_token

SIZE = 100_000
YEAR = 2026
FESTIVAL = "spend_activity_festival"


def _entries(campus: str, n: int) -> list[dict[str, Any]]:
    chart, chain = current_chart(), chain_of(campus, YEAR)
    state, previous, out = LedgerState(), None, []
    start = datetime(YEAR, 1, 2, tzinfo=UTC)
    for seq in range(1, n + 1):
        if seq == 1:
            fields: dict[str, Any] = {
                "kind": "budget_adopted",
                "lines": {FESTIVAL: 10_000_000_000},
                "amount_fen": 10_000_000_000,
            }
        elif seq % 2:
            fields = {"kind": "payment", "line": FESTIVAL, "amount_fen": 12_800}
        else:
            fields = {"kind": "income", "line": "income_dues", "amount_fen": 4_550}
        at = start + timedelta(minutes=seq)
        entry = {
            "_id": entry_id(chain, seq),
            "chain": chain,
            "campus": campus,
            "year": YEAR,
            "seq": seq,
            "key": f"bench:{seq}",
            "by": "bench",
            "at": at,
            "occurred_on": at.date().isoformat(),
            **fields,
        }
        state = apply(state, entry, chart)
        entry["state"] = state.model_dump()
        previous = sealed(entry, previous)
        out.append(previous)
    return out


async def funds_paths(target: Target) -> list[Measurement]:
    async with services(target, "funds", "welfare") as [welfare]:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=welfare.app), base_url="http://welfare", timeout=120
        )
        chair = {"Authorization": f"Bearer {mint_token('bench', ['admin'], ['*'])}"}
        finance = {"Authorization": f"Bearer {mint_token('bench-f', ['finance'], ['north'])}"}
        auditor = {"Authorization": f"Bearer {mint_token('bench-a', ['auditor'], ['main'])}"}
        try:
            # Posting: N payments, `concurrency` at once, all on one ledger (the worst case:
            # every post races every other for the next number).
            budget = {"lines": {FESTIVAL: target.n * 100}, "note": "bench"}
            adopted = await http.post(f"/funds/budgets/north/{YEAR}", json=budget, headers=chair)
            assert adopted.status_code == 201, adopted.text
            latencies: list[float] = []

            async def pay() -> int:
                body = {
                    "line": FESTIVAL,
                    "amount_fen": 100,
                    "cause": "bench",
                    "approved_by": "bench",
                    "voucher_no": "bench",
                    "occurred_on": f"{YEAR}-06-01",
                    "idempotency_key": uuid.uuid4().hex,
                }
                t = time.perf_counter()
                answer = await http.post(
                    f"/funds/ledgers/north/{YEAR}/payments", json=body, headers=finance
                )
                latencies.append((time.perf_counter() - t) * 1000)
                return answer.status_code

            started = clock()
            statuses = await bounded(target.concurrency, [pay] * target.n)
            posting = clock() - started
            if statuses.count(201) != target.n:
                raise AssertionError(f"payments within budget refused: {set(statuses)}")

            entries = _entries("main", SIZE)
            coll = welfare.db[LEDGER]
            t0 = clock()
            for i in range(0, SIZE, 1000):
                await coll.insert_many(entries[i : i + 1000])
            loaded = clock() - t0
            books, chain = welfare.context.funds.books, chain_of("main", YEAR)
            # Before sealed blocks, the check read every entry document and replayed them.
            t0 = clock()
            documents = await books.all_documents(chain)
            read = clock() - t0
            before = verify(chain, documents, current_chart())
            replay_before = clock() - t0 - read
            assert before.intact and before.entries == SIZE
            # Sealing: in service each block is sealed as the post that completes it lands
            # (in the background); here the 100,000 came in at once, so at once.
            t0 = clock()
            blocks = await books.seal(chain)
            sealing = clock() - t0
            t0 = clock()
            answer = await http.get(f"/funds/ledgers/main/{YEAR}/check", headers=auditor)
            checked = clock() - t0
            found = answer.json()
            if not found.get("intact") or found.get("entries") != SIZE:
                raise AssertionError(f"the bench ledger did not check out: {str(found)[:300]}")
        finally:
            await http.aclose()
    return [
        Measurement(
            "funds.post",
            f"POST …/payments: {target.n:,} on ONE ledger, {target.concurrency} at once",
            target.n,
            posting,
            compare_to=("mongo.insert",),
            note=(
                f"each decided on the entry before it; p50 {percentile(latencies, 50):.0f} ms, "
                f"p99 {percentile(latencies, 99):.0f} ms"
            ),
        ),
        Measurement(
            "funds.check",
            f"GET …/check: the hash chain and every balance of {SIZE:,} entries (goal < 5 s)",
            SIZE,
            checked,
            unit="entries",
            note=(
                f"{checked:.2f} s over {blocks} sealed blocks; before blocks the check read "
                f"every entry document ({read:.1f} s) and replayed them ({replay_before:.1f} s); "
                f"sealing them took {sealing:.1f} s (in service: as posts land); loading "
                f"(insert_many) {loaded:.1f} s"
            ),
        ),
    ]
