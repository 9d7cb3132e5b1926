"""A notice (通知公告) to N members (GONGHUI_BENCH_NOTICE_N, 50,000): inbox deliveries per
second, next to the raw bulk-insert rate measured in the same run on the same server.

The members are written straight into notify's member directory (notify learns them from
`members.member`; replaying N joins would measure the consumer, which the e2e rows do), with
no contact details, so the notice goes to the inbox alone. A cadre posts it over HTTP; the
clock runs from the request until the fan-out has marked it sent (the service's own worker,
batches of GONGHUI_ANNOUNCEMENT_BATCH). Each recipient costs two documents (the inbox
message and its delivery, each inserted under its unique id) plus its share of the directory
read; the raw row inserts the same number of documents of that size with insert_many in the
same batches, into a collection without secondary indexes (the inbox has two, deliveries
four, and on PostgreSQL each has a GIN twin: most of the gap). Afterwards every member must
hold exactly one message (checked).
"""

from __future__ import annotations

import uuid

import httpx

from deploy.bench.measure import Target, clock, wait_for
from deploy.bench.paths import services
from deploy.bench.report import Measurement
from services.notify.announcements.store import ANNOUNCEMENTS
from shared.auth import mint_token
from shared.readmodels.member_directory import MEMBER_DIRECTORY

DIRECTORY_BATCH = 5000
BATCH = 500  # the fan-out's default batch


def _member(i: int) -> dict:
    return {
        "_id": f"m-notice-{i:06d}",
        "staff_no": f"N{i:06d}",
        "name": "基准会员",
        "campus": "main",
        "department": f"部门{i % 40:02d}",
        "gender": "female" if i % 2 else "male",
        "status": "active",
        "roles": [],
        "sequence": "0000000001.000",
    }


async def raw_bulk_insert(db, n: int) -> float:
    """insert_many of 2 × n documents the size of an inbox message and its delivery."""
    coll = db[f"bench_raw_{uuid.uuid4().hex[:6]}"]
    body = "请全体会员于周五下午四点到田径场集合。" * 3
    docs = [{"_id": f"raw:{i:07d}", "title": "基准通知", "body": body} for i in range(2 * n)]
    started = clock()
    for i in range(0, len(docs), BATCH):
        await coll.insert_many(docs[i : i + BATCH], ordered=False)
    seconds = clock() - started
    await coll.drop()
    return seconds


async def notice_paths(target: Target, n: int) -> list[Measurement]:
    async with services(target, "notice", "notify") as [notify]:
        directory = notify.db[MEMBER_DIRECTORY]
        for start in range(0, n, DIRECTORY_BATCH):
            stop = min(n, start + DIRECTORY_BATCH)
            await directory.insert_many([_member(i) for i in range(start, stop)])
        raw_seconds = await raw_bulk_insert(notify.db, n)
        cadre = {"Authorization": f"Bearer {mint_token('bench', ['cadre'], ['main'])}"}
        body = {"campus": "main", "title": "基准通知", "body": "请阅读。", "mandatory": True}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=notify.app), base_url="http://notify", timeout=60
        ) as http:
            started = clock()
            made = await http.post("/announcements", json=body, headers=cadre)
            if made.status_code != 201:
                raise AssertionError(f"notice: {made.status_code} {made.text}")
            notice_id = made.json()["id"]

            async def sent() -> bool:
                doc = await notify.db[ANNOUNCEMENTS].find_one({"_id": notice_id})
                return doc is not None and doc["state"] == "sent"

            await wait_for(sent, max(target.timeout_s, n / 100), "the notice's fan-out", 0.2)
            seconds = clock() - started
        messages = await notify.db["inbox"].count_documents({"kind": "announcement"})
        deliveries = await notify.db["deliveries"].count_documents(
            {"event_id": notice_id, "channel": "inbox"}
        )
        if messages != n or deliveries != n:
            raise AssertionError(f"{messages} messages, {deliveries} deliveries for {n} members")
    return [
        Measurement(
            "notice.raw_bulk",
            f"insert_many of {2 * n:,} documents in batches of {BATCH} (same run, same server)",
            2 * n,
            raw_seconds,
            unit="docs",
            raw=True,
        ),
        Measurement(
            "notice.fanout",
            f"POST /announcements to {n:,} members until every inbox holds it",
            n,
            seconds,
            unit="recipients",
            compare_to=("notice.raw_bulk",),
            note=(
                f"2 documents per recipient (message + delivery, unique ids); "
                f"{messages:,} messages, {deliveries:,} inbox deliveries (one each, checked)"
            ),
        ),
    ]
