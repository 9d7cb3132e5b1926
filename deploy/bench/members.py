"""The member list at school scale: pages of 50 out of 50,000 members through the HTTP API.

The 50,000 members are written straight into the list view as its projection writes them
(state, version) — enrolling them one by one would measure enrolment, which `http.create`
does — then cadres page through filtered lists the way the desk does.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

import httpx

from deploy.bench.measure import Target, clock
from deploy.bench.paths import services
from deploy.bench.report import Measurement, percentile
from services.members.membership.domain import member_id_for
from services.members.membership.store import MEMBERS
from shared.auth import mint_token

SIZE = 50_000
DEPARTMENTS = [
    "学前教育系",
    "艺术系",
    "外语系",
    "信息技术系",
    "体育部",
    "音乐系",
    "后勤处",
    "行政办公室",
]
PAGES = 200


def _member(i: int, rnd: random.Random) -> dict:
    staff_no = f"L{i:06d}"
    born = date(1965, 1, 1) + timedelta(days=rnd.randint(0, 35 * 365))
    return {
        "_id": member_id_for(staff_no),
        "version": 1,
        "staff_no": staff_no,
        "name": f"会员{i}",
        "campus": "main" if i % 2 else "north",
        "department": DEPARTMENTS[i % len(DEPARTMENTS)],
        "gender": rnd.choice(["female", "male"]),
        "birth_date": born.isoformat(),
        "status": "active" if i % 10 else rnd.choice(["retired", "withdrawn", "applied"]),
        "small_group": None,
        "roles": [],
        "congress_terms": [],
        "joined_on": "2020-09-01",
    }


async def member_list_paths(target: Target) -> list[Measurement]:
    async with services(target, "list", "members") as [members]:
        rnd = random.Random(50)
        view = members.db[MEMBERS]
        t0 = clock()
        for start in range(0, SIZE, 1000):
            await view.insert_many([_member(i, rnd) for i in range(start, start + 1000)])
        loaded = clock() - t0
        cadre = {"Authorization": f"Bearer {mint_token('bench', ['cadre'], ['main'])}"}
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=members.app), base_url="http://members", timeout=60
        )
        measured: list[Measurement] = []
        try:
            for key, label, query in (
                (
                    "list.filtered",
                    "GET /members: department + status, a page of 50 (cadre of one campus)",
                    "department=艺术系&status=active",
                ),
                ("list.campus", "GET /members: the whole campus, a page of 50", ""),
                ("list.search", "GET /members?q=会员12 (part of a name), a page of 50", "q=会员12"),
            ):
                latencies = []
                pages = PAGES if query else PAGES // 10
                started = clock()
                for _ in range(pages):
                    offset = rnd.randint(0, 20) * 50
                    t = time.perf_counter()
                    response = await http.get(
                        f"/members?{query}&limit=50&offset={offset}", headers=cadre
                    )
                    latencies.append((time.perf_counter() - t) * 1000)
                    if response.status_code != 200:
                        raise AssertionError(f"GET /members: {response.status_code}")
                spent = clock() - started
                total = response.json()["total"]
                measured.append(
                    Measurement(
                        key,
                        label,
                        pages * 50,
                        spent,
                        unit="rows",
                        compare_to=("mongo.find",),
                        note=(
                            f"{total:,} match of {SIZE:,}; p50 {percentile(latencies, 50):.0f} ms, "
                            f"p99 {percentile(latencies, 99):.0f} ms"
                        ),
                    )
                )
        finally:
            await http.aclose()
    measured.append(
        Measurement(
            "list.load",
            f"{SIZE:,} member documents into the list view (insert_many of 1,000)",
            SIZE,
            loaded,
            unit="docs",
            compare_to=("mongo.insert",),
        )
    )
    return measured
