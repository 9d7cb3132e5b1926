"""/metrics label values are bounded: any number of odd methods or unknown paths a client
sends adds one series each ("other", "unmatched"), never one per value."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from shared.observability import HTTP_REQUESTS, install_request_metrics

SERVICE = "labels-test"


def series() -> set[tuple[str, str]]:
    return {
        (s.labels["method"], s.labels["route"])
        for metric in HTTP_REQUESTS.collect()
        for s in metric.samples
        if s.labels.get("service") == SERVICE and s.name.endswith("_total")
    }


async def test_unknown_methods_and_paths_are_one_label_each():
    app = FastAPI()
    install_request_metrics(app, SERVICE)

    @app.get("/members/{member_id}")
    async def member(member_id: str) -> dict:
        return {"id": member_id}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        for i in range(50):
            await c.request(f"SCAN{i}", f"/members/m-{i}")
            await c.get(f"/no/such/path/{i}")
            await c.get(f"/members/m-{i}")
    assert series() == {
        ("other", "/members/{member_id}"),
        ("GET", "unmatched"),
        ("GET", "/members/{member_id}"),
    }
