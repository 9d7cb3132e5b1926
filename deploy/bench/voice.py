"""A vote burst over HTTP: 2,000 voters casting 3 votes each in one category of a campaign.

The voters and five candidates are written straight into events' member directory (as its
projection writes them); a cadre sets up the campaign, nominates and shortlists the
candidates and opens the vote. Then every voter sends one ballot of three candidates at once
(`concurrency` in flight) through the whole FastAPI app: token, the voter in the directory,
for each candidate a slot of the voter's K under an HMAC token and a ballot without the voter
(unique inserts). Afterwards the tally is checked on what is authoritative: the ballots per
candidate must add up to the votes the requests were told were cast (6,000), and no voter
may hold more than K slots.
"""

from __future__ import annotations

import time
from collections import Counter
from functools import partial

import httpx

from deploy.bench.measure import Target, bounded, clock
from deploy.bench.paths import services
from deploy.bench.report import Measurement, percentile
from shared.auth import mint_token
from shared.readmodels.member_directory import MEMBER_DIRECTORY

VOTERS = 2000
PER_VOTER = 3
CANDIDATES = 5


def _member(i: int, prefix: str = "v") -> dict:
    return {
        "_id": f"m-{prefix}bench{i:06d}",
        "staff_no": f"{prefix.upper()}{i:06d}",
        "name": f"会员{i}",
        "campus": "main",
        "department": "语文组",
        "status": "active",
        "roles": [],
        "sequence": "0000000001.000",
    }


async def vote_burst(target: Target) -> list[Measurement]:
    async with services(target, "votes", "events") as [events]:
        people = [_member(i) for i in range(VOTERS)] + [_member(i, "c") for i in range(CANDIDATES)]
        await events.db[MEMBER_DIRECTORY].insert_many(people)
        cadre = {"Authorization": f"Bearer {mint_token('bench', ['cadre'], ['main'])}"}
        tokens = [
            {"Authorization": f"Bearer {mint_token(f'm-vbench{i:06d}', ['member'], ['main'])}"}
            for i in range(VOTERS)
        ]
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=events.app), base_url="http://events", timeout=60
        )
        latencies: list[float] = []
        told: Counter[str] = Counter()
        try:
            category = {
                "name": "师德标兵",
                "quotas": [{"campus": "main", "count": 3}],
                "votes_per_voter": PER_VOTER,
            }
            body = {
                "title": "师德标兵评选",
                "year": 2099,
                "campus": "main",
                "categories": [category],
            }
            made = await http.post("/commendations", json=body, headers=cadre)
            url = f"/commendations/{made.json()['id']}"
            nominations = []
            for i in range(CANDIDATES):
                nominee = {"category_id": "c1", "member_id": f"m-cbench{i:06d}", "reasons": "事迹"}
                done = await http.post(f"{url}/nominations", json=nominee, headers=cadre)
                nominations.append(done.json()["id"])
                review = {"decision": "shortlisted"}
                await http.post(
                    f"{url}/nominations/{nominations[-1]}/review", json=review, headers=cadre
                )
            await http.post(f"{url}/phase", json={"to": "reviewing"}, headers=cadre)
            opened = await http.post(
                f"{url}/phase",
                json={"to": "voting", "voting_closes_at": "2099-01-01T00:00:00+08:00"},
                headers=cadre,
            )
            if opened.status_code != 200:
                raise AssertionError(f"open the vote: {opened.status_code} {opened.text}")

            async def vote(i: int) -> None:
                chosen = [nominations[(i + k) % CANDIDATES] for k in range(PER_VOTER)]
                t = time.perf_counter()
                response = await http.post(
                    f"{url}/categories/c1/votes", json={"candidates": chosen}, headers=tokens[i]
                )
                latencies.append((time.perf_counter() - t) * 1000)
                if response.status_code != 200:
                    raise AssertionError(f"vote: {response.status_code} {response.text}")
                told.update(response.json()["results"].values())

            started = clock()
            await bounded(target.concurrency, [partial(vote, i) for i in range(VOTERS)])
            burst = clock() - started
        finally:
            await http.aclose()

        box = events.context.commendations.box
        tally = await box.tally(made.json()["id"])
        cast = told.get("cast", 0)
        if sum(tally.values()) != cast or cast != VOTERS * PER_VOTER:
            raise AssertionError(f"TALLY {sum(tally.values())} ≠ {cast} votes cast")
        fullest = 0
        # PyMongo's async aggregate is a coroutine that answers a cursor.
        cursor = await box.slots.aggregate(
            [{"$group": {"_id": "$pool", "n": {"$sum": 1}}}, {"$sort": {"n": -1}}, {"$limit": 1}]
        )
        async for row in cursor:
            fullest = row["n"]
        if fullest > PER_VOTER:
            raise AssertionError(f"a voter holds {fullest} slots (limit {PER_VOTER})")
    return [
        Measurement(
            "votes.http",
            f"POST …/votes, {VOTERS:,} voters × {PER_VOTER} votes in one category",
            cast,
            burst,
            unit="vote",
            compare_to=("mongo.insert",),
            note=(
                f"{target.concurrency} ballots in flight; per ballot of {PER_VOTER}: "
                f"p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms; "
                f"tally {sum(tally.values()):,} = votes cast {cast:,} (checked); "
                f"most slots held by one voter {fullest} ≤ {PER_VOTER}"
            ),
        )
    ]
