"""A sign-up burst over HTTP: 2,000 distinct members at one activity with 300 seats.

The members are written straight into events' member directory as its projection writes
them (enrolling 2,000 through the members service would measure enrolment and Kafka, which
other rows do). Then every member signs up at once (`concurrency` in flight) through the
whole FastAPI app: token, eligibility from the directory, a seat or a waitlist place won by
unique inserts, the registration's change with its event through the outbox. Afterwards,
the seats are counted on what is authoritative — the seat documents (a seat is its unique
key) and what the requests were told: overbooked must be 0. The list view follows through
the activity's one consumer (its partition), so the note says how far it had got.
"""

from __future__ import annotations

import time
from functools import partial

import httpx

from deploy.bench.measure import Target, bounded, clock
from deploy.bench.paths import services
from deploy.bench.report import Measurement, percentile
from shared.auth import mint_token
from shared.readmodels.member_directory import MEMBER_DIRECTORY

MEMBERS = 2000
SEATS = 300


def _member(i: int) -> dict:
    return {
        "_id": f"m-bench{i:06d}",
        "staff_no": f"B{i:06d}",
        "name": f"会员{i}",
        "campus": "main",
        "department": "学前教育系",
        "gender": "female" if i % 2 else "male",
        "birth_year": 1980 + i % 30,
        "status": "active",
        "roles": [],
        "sequence": "0000000001.000",
    }


async def sign_up_burst(target: Target) -> list[Measurement]:
    async with services(target, "signup", "events") as [events]:
        await events.db[MEMBER_DIRECTORY].insert_many([_member(i) for i in range(MEMBERS)])
        cadre = {"Authorization": f"Bearer {mint_token('bench', ['cadre'], ['main'])}"}
        tokens = [
            {"Authorization": f"Bearer {mint_token(f'm-bench{i:06d}', ['member'], ['main'])}"}
            for i in range(MEMBERS)
        ]
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=events.app), base_url="http://events", timeout=60
        )
        latencies: list[float] = []
        told: dict[str, int] = {}
        try:
            body = {
                "kind": "lecture",
                "title": "教师节表彰大会",
                "campus": "main",
                "venue": "礼堂",
                "starts_at": "2099-09-10T14:00:00+08:00",
                "ends_at": "2099-09-10T16:00:00+08:00",
                "capacity": SEATS,
            }
            created = await http.post("/activities", json=body, headers=cadre)
            aid = created.json()["id"]
            published = await http.post(f"/activities/{aid}/publish", headers=cadre)
            if published.status_code != 200:
                raise AssertionError(f"publish: {published.status_code} {published.text}")

            async def sign_up(i: int) -> None:
                t = time.perf_counter()
                response = await http.post(
                    f"/activities/{aid}/registrations", json={}, headers=tokens[i]
                )
                latencies.append((time.perf_counter() - t) * 1000)
                if response.status_code != 201:
                    raise AssertionError(f"sign-up: {response.status_code} {response.text}")
                status = response.json()["status"]
                told[status] = told.get(status, 0) + 1

            started = clock()
            await bounded(target.concurrency, [partial(sign_up, i) for i in range(MEMBERS)])
            burst = clock() - started
        finally:
            await http.aclose()

        book = events.context.registrations.book
        # The invariant, on what is authoritative: the seat documents themselves (a seat is
        # its unique key), and what the requests were told.
        seats = await book.seats.coll.count_documents({"pool": aid})
        overbooked = max(seats - SEATS, told.get("confirmed", 0) - SEATS, 0)
        if overbooked:
            raise AssertionError(f"OVERBOOKED by {overbooked}: {seats} seat documents")
        in_view = await book.store.count({"activity_id": aid})
    return [
        Measurement(
            "signup.http",
            f"POST …/registrations, {MEMBERS:,} members at once for {SEATS} seats",
            MEMBERS,
            burst,
            unit="req",
            compare_to=("mongo.insert",),
            note=(
                f"{target.concurrency} in flight; p50 {percentile(latencies, 50):.0f} ms, "
                f"p99 {percentile(latencies, 99):.0f} ms; overbooked {overbooked}; "
                f"{told.get('confirmed', 0)} seated, {told.get('waitlisted', 0)} waitlisted; "
                f"{in_view:,} in the list view when the burst ended (one consumer per activity)"
            ),
        )
    ]
