"""An exam booking burst over HTTP: 2,000 members for 200 places (20 slots of 10), next to the
raw unique-insert rate measured in the same run, on the same server, at the same concurrency.

The members are written straight into welfare's member directory as its projection writes
them. Every member books at once through the whole FastAPI app (token, eligibility from the
directory, a numbered seat won by a unique insert, the booking written with its event through
the outbox); each member asks for the slot `i % 20`, and one that hears "full" tries the next
slot with places (as a person would), up to five times. Afterwards the seats are counted on
what is authoritative — the seat documents themselves — and on what the requests were told:
overbooked must be 0 (checked, the run fails otherwise).
"""

from __future__ import annotations

import time
import uuid
from functools import partial

import httpx

from deploy.bench.measure import Target, bounded, clock
from deploy.bench.paths import services
from deploy.bench.report import Measurement, percentile
from shared.auth import mint_token
from shared.readmodels.member_directory import MEMBER_DIRECTORY

MEMBERS = 2000
SLOTS = 20
PER_SLOT = 10
YEAR = 2099


def _member(i: int) -> dict:
    return {
        "_id": f"m-exam{i:06d}",
        "staff_no": f"E{i:06d}",
        "name": f"会员{i}",
        "campus": "main",
        "department": "学前教育系",
        "gender": "female" if i % 2 else "male",
        "birth_year": 1970 + i % 30,
        "status": "active",
        "roles": [],
        "sequence": "0000000001.000",
    }


def _plan() -> dict:
    return {
        "title": "基准测试体检",
        "union_pays": False,
        "providers": [{"code": "rmyy", "name": "人民医院"}],
        "packages": [{"code": "basic", "name": "基础套餐", "price_fen": 40_000}],
        "slots": [
            {
                "code": f"s{n:02d}",
                "provider": "rmyy",
                "day": f"{YEAR}-03-{n + 1:02d}",
                "capacity": PER_SLOT,
            }
            for n in range(SLOTS)
        ],
    }


async def raw_unique_inserts(welfare, concurrency: int) -> float:
    """MEMBERS unique-key inserts of small documents: the floor a booking's seat stands on."""
    coll = welfare.db[f"bench_raw_{uuid.uuid4().hex[:6]}"]

    async def insert(i: int) -> None:
        await coll.insert_one({"_id": f"raw#{i:06d}", "pool": "raw", "number": i, "holder": "x"})

    started = clock()
    await bounded(concurrency, [partial(insert, i) for i in range(MEMBERS)])
    seconds = clock() - started
    await coll.drop()
    return seconds


async def exam_booking_burst(target: Target) -> list[Measurement]:
    async with services(target, "exam", "welfare") as [welfare]:
        await welfare.db[MEMBER_DIRECTORY].insert_many([_member(i) for i in range(MEMBERS)])
        raw_seconds = await raw_unique_inserts(welfare, target.concurrency)
        cadre = {"Authorization": f"Bearer {mint_token('bench', ['cadre'], ['main'])}"}
        tokens = [
            {"Authorization": f"Bearer {mint_token(f'm-exam{i:06d}', ['member'], ['main'])}"}
            for i in range(MEMBERS)
        ]
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=welfare.app), base_url="http://welfare", timeout=60
        )
        latencies: list[float] = []
        told = {"booked": 0, "full": 0, "requests": 0}
        base = f"/exams/plans/main/{YEAR}"
        try:
            made = await http.put(base, json=_plan(), headers=cadre)
            if made.status_code != 200:
                raise AssertionError(f"plan: {made.status_code} {made.text}")

            async def book(i: int) -> None:
                for attempt in range(5):
                    slot = f"s{(i + attempt * 7) % SLOTS:02d}"
                    t = time.perf_counter()
                    response = await http.post(
                        f"{base}/bookings",
                        json={"slot": slot, "package": "basic"},
                        headers=tokens[i],
                    )
                    latencies.append((time.perf_counter() - t) * 1000)
                    told["requests"] += 1
                    if response.status_code == 200:
                        told["booked"] += 1
                        return
                    if response.json().get("code") != "exam.slot_full":
                        raise AssertionError(f"booking: {response.status_code} {response.text}")
                    told["full"] += 1

            started = clock()
            await bounded(target.concurrency, [partial(book, i) for i in range(MEMBERS)])
            burst = clock() - started
        finally:
            await http.aclose()

        book_ = welfare.context.exams.book
        seats = await book_.seats.coll.count_documents({"plan": f"main:{YEAR}"})
        per_slot = {s: n for s, n in (await book_.taken(f"main:{YEAR}")).items()}
        over_slot = sum(max(n - PER_SLOT, 0) for n in per_slot.values())
        overbooked = max(over_slot, seats - SLOTS * PER_SLOT, told["booked"] - SLOTS * PER_SLOT, 0)
        if overbooked:
            raise AssertionError(f"OVERBOOKED by {overbooked}: {seats} seat documents")
    requests = told["requests"]
    return [
        Measurement(
            "exam.raw_insert",
            f"insert_one under a unique _id, {MEMBERS:,} documents (same run, same server)",
            MEMBERS,
            raw_seconds,
            note=f"{target.concurrency} in flight",
            raw=True,
        ),
        Measurement(
            "exam.booking",
            f"POST …/bookings, {MEMBERS:,} members at once for {SLOTS * PER_SLOT} places",
            requests,
            burst,
            unit="req",
            compare_to=("exam.raw_insert",),
            note=(
                f"{target.concurrency} in flight; p50 {percentile(latencies, 50):.0f} ms, "
                f"p99 {percentile(latencies, 99):.0f} ms; overbooked {overbooked}; "
                f"{told['booked']} booked, {told['full']} told full ({requests:,} requests, "
                f"{seats} seat documents)"
            ),
        ),
    ]
