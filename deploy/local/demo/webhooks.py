"""A webhook subscription to the demo receiver `make run` starts (deploy/local/webhook_receiver.py).

Registered by an admin over notify's API, for the activity events, before the activities are
seeded, so their events reach the receiver (its log: var/logs/webhook-receiver.log). The
secret, shown once, goes to the receiver's own copy; a receiver that lost it (var/ partly
cleaned) gets a rotated one. Seeding twice registers nothing new.
"""

from __future__ import annotations

import httpx

from deploy.local.demo.client import admin_token, check
from deploy.local.webhook_receiver import DemoReceiver

DESCRIPTION = "演示接收器（make run）"
TYPES = ["events.activity."]


async def seed(
    notify_url: str,
    receiver: DemoReceiver,
    types: list[str] = TYPES,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[int, int]:
    """(added, already there); `transport` for a test that runs notify in-process."""
    headers = {"Authorization": f"Bearer {admin_token()}"}
    async with httpx.AsyncClient(
        base_url=notify_url, headers=headers, timeout=30, transport=transport
    ) as http:
        listed = await http.get("/webhooks")
        check(listed, "GET /webhooks")
        found = [s for s in listed.json() if s["url"] == receiver.url]
        if found:
            if not receiver.has_secret():
                rotated = await http.post(f"/webhooks/{found[0]['id']}/secret")
                check(rotated, "rotate the demo receiver's secret")
                receiver.keep_secret(rotated.json()["secret"])
            return 0, 1
        body = {"url": receiver.url, "types": types, "campus": "*", "description": DESCRIPTION}
        created = await http.post("/webhooks", json=body)
        check(created, "POST /webhooks")
        receiver.keep_secret(created.json()["secret"])
        return 1, 0
