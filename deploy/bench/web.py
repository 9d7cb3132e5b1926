"""The web front end's server-side render, next to the API call it makes.

Two pages as people open them: a member's activities list (/m/activities: GET /activities
and GET /me/registrations, then the template) with 40 published activities, and a cadre's
members table (/admin/members: a page of 50 of 50,000 members, GET /members and GET
/campuses, then the template). Each is timed next to the same API call made directly (the
page's main call). Everything is in this process: web calls members and events through
in-process ASGI transports, the direct calls use the same transports, so the difference is
what web adds (session lookup, the second call, rendering), not a network hop.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx

from deploy.bench.measure import Target
from deploy.bench.members import SIZE, _member
from deploy.bench.paths import services
from deploy.bench.report import Measurement, percentile
from services.members.membership.store import MEMBERS
from services.web.bootstrap import bootstrap as web_bootstrap
from services.web.settings import WebSettings
from shared.auth import mint_token
from shared.timeutil import SHANGHAI, utcnow

ROUNDS = {"web.activities": 100, "web.members": 30}  # a members page counts 25,000 matches
ACTIVITIES = 40


async def timed(call: Callable[[], Awaitable[httpx.Response]], rounds: int) -> list[float]:
    latencies = []
    for _ in range(rounds):
        t = time.perf_counter()
        response = await call()
        latencies.append((time.perf_counter() - t) * 1000)
        if response.status_code != 200:
            raise AssertionError(f"{response.request.url}: {response.status_code}")
    return latencies


async def web_paths(target: Target) -> list[Measurement]:
    async with services(target, "web", "members", "events") as [members, events]:
        transports = {
            "members": httpx.ASGITransport(app=members.app),
            "events": httpx.ASGITransport(app=events.app),
        }
        settings = WebSettings.isolated(
            f"bench{target.run_id}.web.", target.kafka_bootstrap, target.mongo_url
        )
        app = web_bootstrap(settings, configure_logs=False, transports=transports)
        web = app.state.web
        rnd = random.Random(51)
        view = members.db[MEMBERS]
        for start in range(0, SIZE, 1000):
            await view.insert_many([_member(i, rnd) for i in range(start, start + 1000)])

        cadre_token = mint_token("bench-cadre", ["cadre", "member"], ["main"], ttl_s=3600)
        member_token = mint_token("bench-member", ["member"], ["main"], ttl_s=3600)
        direct = {
            name: httpx.AsyncClient(transport=t, base_url=f"http://{name}", timeout=60)
            for name, t in transports.items()
        }
        starts = (utcnow() + timedelta(days=5)).astimezone(SHANGHAI).replace(tzinfo=None)
        cadre = {"Authorization": f"Bearer {cadre_token}"}
        for i in range(ACTIVITIES):
            at = starts + timedelta(days=i)
            r = await direct["events"].post(
                "/activities",
                headers=cadre,
                json={
                    "kind": "lecture",
                    "title": f"讲座 {i}",
                    "campus": "main",
                    "venue": "报告厅",
                    "starts_at": at.isoformat(timespec="minutes"),
                    "ends_at": (at + timedelta(hours=1)).isoformat(timespec="minutes"),
                    "capacity": 30,
                },
            )
            await direct["events"].post(f"/activities/{r.json()['id']}/publish", headers=cadre)

        async def browser_for(subject: str, token: str, roles: list[str]) -> httpx.AsyncClient:
            session = web.sessions.new(member_id=subject, roles=roles, campuses=["main"])
            session.access_token = token
            session.access_expires_at = utcnow() + timedelta(hours=1)
            session.refresh_token = "bench"
            sid = await web.sessions.create(session)
            return httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://web",
                cookies={web.session_cookie: sid},
                timeout=60,
            )

        member_browser = await browser_for("bench-member", member_token, ["member"])
        cadre_browser = await browser_for("bench-cadre", cadre_token, ["cadre", "member"])
        member = {"Authorization": f"Bearer {member_token}"}
        since = utcnow().astimezone(SHANGHAI).replace(tzinfo=None).isoformat(timespec="minutes")
        measured: list[Measurement] = []
        try:
            pairs = (
                (
                    "web.activities",
                    "GET /m/activities (40 activities by month) vs GET /activities",
                    lambda: member_browser.get("/m/activities"),
                    lambda: direct["events"].get(
                        f"/activities?starts_from={since}&limit=200", headers=member
                    ),
                ),
                (
                    "web.members",
                    "GET /admin/members (50 of 50,000) vs GET /members",
                    lambda: cadre_browser.get("/admin/members?status=active&offset=500"),
                    lambda: direct["members"].get(
                        "/members?status=active&limit=50&offset=500", headers=cadre
                    ),
                ),
            )
            for key, label, page, api in pairs:
                rounds = ROUNDS[key]
                await timed(page, 3)  # warm: template compile, connection pools
                await timed(api, 3)
                started = time.perf_counter()
                pages = await timed(page, rounds)
                spent = time.perf_counter() - started
                apis = await timed(api, rounds)
                p50, p99 = percentile(pages, 50), percentile(pages, 99)
                a50, a99 = percentile(apis, 50), percentile(apis, 99)
                measured.append(
                    Measurement(
                        key,
                        label,
                        rounds,
                        spent,
                        unit="pages",
                        note=(
                            f"page p50 {p50:.0f} ms / p99 {p99:.0f} ms; API p50 {a50:.0f} ms / "
                            f"p99 {a99:.0f} ms; page ÷ API p50 {p50 / a50:.2f}× "
                            f"(goal < 1.30×, p99 < 300 ms)"
                        ),
                    )
                )
        finally:
            for client in (member_browser, cadre_browser, *direct.values()):
                await client.aclose()
            await web.backend.close()
            await web.sessions.coll.database.client.drop_database(settings.mongo_db)
            await web.sessions.coll.database.client.close()
    return measured
