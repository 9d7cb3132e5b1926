"""Webhooks on the real broker and database, to a real HTTP receiver started here.

An event on Kafka reaches the receiver once, signed (checked by the few lines the docs show);
a failing receiver is retried with backoff, then its subscription paused and its admin told;
private addresses are refused unless local testing allows them; redirects are not followed;
the secret is nowhere in clear.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import pytest
from aiokafka import AIOKafkaProducer

from services.notify.webhooks.domain import backoff_s
from shared.events.welfare import BudgetThresholdReached
from tests.integration.conftest import Stack, bearer, build_stack, close_stack
from tests.integration.webhook_receiver import Receiver
from tests.kafka_tools import read_all, wait_caught_up, wait_until

pytestmark = pytest.mark.integration

ADMIN_ID = f"admin-wh-{uuid.uuid4().hex[:6]}"
ADMIN = bearer(ADMIN_ID, ["admin"], ["*"])
TYPE = "welfare.budget.threshold_reached.v1"
LOCAL = {
    "webhook_allow_local": True,
    "webhook_backoff_s": 0.3,
    "webhook_backoff_max_s": 5,
    "webhook_pause_after": 3,
    "webhook_max_attempts": 6,
    "webhook_poll_s": 0.1,
}


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, word for word as docs/integration/webhooks.md shows it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, s.removeprefix("v1,"))
        for s in headers["webhook-signature"].split()
    )


@pytest.fixture(scope="module")
async def local(infra) -> AsyncIterator[Stack]:
    s = await build_stack(infra, ["notify"], settings={"notify": LOCAL})
    try:
        yield s
    finally:
        await close_stack(s)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()


async def subscribe(stack: Stack, url: str, types: list[str] | None = None) -> dict:
    body = {"url": url, "types": types or [TYPE], "campus": "*", "description": "财务系统"}
    response = await stack.notify_http.post("/webhooks", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    created = response.json()

    async def listed() -> bool:  # the consumer takes events for subscriptions in the list
        found = await stack.notify_http.get("/webhooks", headers=ADMIN)
        return any(s["id"] == created["id"] for s in found.json())

    await wait_until(listed, 15, "the subscription in the list")
    return created


def threshold_event(line: str = "spend_activity_festival"):
    event = BudgetThresholdReached(
        campus="main",
        year=2099,
        line=line,
        threshold_pct=90,
        budget_fen=100_000,
        spent_fen=90_000,
        seq=7,
    )
    return event.envelope(source="welfare", subject=f"main:2099:{line}", campus="main")


async def publish(stack: Stack, envelope, times: int = 1) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        for _ in range(times):
            await producer.send_and_wait(
                stack.topic("welfare.budget"),
                envelope.to_json_bytes(),
                key=envelope.kafka_key.encode(),
            )
    finally:
        await producer.stop()


async def deliveries(stack: Stack, sub: dict, envelope) -> list[dict]:
    """The subscription's deliveries of this test's event (the module's subscriptions all
    take the same type; each test looks at its own event)."""
    response = await stack.notify_http.get(f"/webhooks/{sub['id']}/deliveries", headers=ADMIN)
    assert response.status_code == 200, response.text
    return [d for d in response.json() if d["event_id"] == envelope.id]


async def log_of(stack: Stack, sub: dict, envelope) -> list[dict]:
    response = await stack.notify_http.get(f"/webhooks/{sub['id']}/log", headers=ADMIN)
    assert response.status_code == 200, response.text
    return [e for e in response.json() if e["event_id"] == envelope.id]


async def test_an_event_reaches_the_receiver_once_signed(local: Stack, receiver: Receiver):
    sub = await subscribe(local, f"{receiver.base}/ok")
    assert sub["secret"].startswith("whsec_")
    detail = (await local.notify_http.get(f"/webhooks/{sub['id']}", headers=ADMIN)).json()
    assert "secret" not in detail and detail["status"] == "active"

    envelope = threshold_event()
    await publish(local, envelope, times=2)  # the same event delivered twice by Kafka
    await wait_until(lambda: _has(receiver, "/ok"), 20, "the webhook")
    group = f"{local.notify.settings.consumer_group}.webhooks"
    await wait_caught_up(local.bootstrap, group, local.topic("welfare.budget"))

    async def delivered() -> bool:
        return [d["status"] for d in await deliveries(local, sub, envelope)] == ["delivered"]

    await wait_until(delivered, 20, "the delivery marked delivered")
    [delivery] = await deliveries(local, sub, envelope)
    assert delivery["attempts"] == 1

    [got] = receiver.on("/ok")
    assert verify(sub["secret"], got.headers, got.body)
    assert got.headers["webhook-id"] == envelope.id
    assert got.headers["content-type"].startswith("application/cloudevents+json")
    sent = json.loads(got.body)
    assert sent["id"] == envelope.id and sent["type"] == TYPE
    assert sent["data"]["line"] == "spend_activity_festival"
    assert not verify("whsec_" + base64.b64encode(b"x" * 24).decode(), got.headers, got.body)

    [entry] = await log_of(local, sub, envelope)
    assert entry["outcome"] == "ok" and entry["code"] == 204 and entry["attempt"] == 1
    assert entry["duration_ms"] is not None

    # Sent again by hand: the same webhook-id, so the receiver can tell it is the same event.
    again = await local.notify_http.post(
        f"/webhooks/{sub['id']}/deliveries/{delivery['id']}/redeliver", headers=ADMIN
    )
    assert again.status_code == 200, again.text
    await wait_until(lambda: _has(receiver, "/ok", 2), 20, "the redelivery")
    assert receiver.on("/ok")[1].headers["webhook-id"] == envelope.id

    async def logged_twice() -> bool:
        return [e["outcome"] for e in await log_of(local, sub, envelope)] == ["ok", "ok"]

    await wait_until(logged_twice, 20, "the second try in the log")


async def test_a_failing_receiver_is_retried_with_backoff_then_paused_and_its_admin_told(
    local: Stack, receiver: Receiver
):
    receiver.answers["/down"] = 503
    sub = await subscribe(local, f"{receiver.base}/down")
    envelope = threshold_event("spend_culture")
    await publish(local, envelope)

    async def paused() -> bool:
        detail = await local.notify_http.get(f"/webhooks/{sub['id']}", headers=ADMIN)
        return detail.json()["status"] == "paused"

    await wait_until(paused, 30, "the subscription paused")
    detail = (await local.notify_http.get(f"/webhooks/{sub['id']}", headers=ADMIN)).json()
    assert detail["reason"] == "failing"
    tries = sorted(await log_of(local, sub, envelope), key=lambda e: e["attempt"])
    assert [t["attempt"] for t in tries] == [1, 2, 3]  # paused after 3: no 4th try
    assert all(t["outcome"] == "failed" and t["code"] == 503 for t in tries)
    # Each failed try scheduled the next after a doubling wait.
    for t in tries:
        waited = datetime.fromisoformat(t["retry_at"]) - datetime.fromisoformat(t["started_at"])
        assert waited.total_seconds() >= backoff_s(t["attempt"], 0.3, 5)
        assert waited.total_seconds() < backoff_s(t["attempt"], 0.3, 5) + 2
    assert len(receiver.on("/down")) == 3
    metrics = (await local.notify_http.get("/metrics")).text
    assert re.search(r'^gonghui_webhook_tries_total\{outcome="failed"\} [1-9]', metrics, re.M)
    assert re.search(r"^gonghui_webhook_paused_total [1-9]", metrics, re.M)

    # The admin who registered it finds a message in their inbox.
    inbox = await local.notify_http.get("/inbox", headers=ADMIN)
    told = [m for m in inbox.json() if m["id"].startswith(f"webhook-paused:{sub['id']}:")]
    assert len(told) == 1 and "连续 3 次投递失败" in told[0]["body"]

    # Paused: a redelivery by hand is refused, nothing is posted.
    [delivery] = await deliveries(local, sub, envelope)
    refused = await local.notify_http.post(
        f"/webhooks/{sub['id']}/deliveries/{delivery['id']}/redeliver", headers=ADMIN
    )
    assert refused.status_code == 409 and refused.json()["code"] == "webhook.paused"

    # The receiver is back; resumed, the waiting delivery goes out.
    receiver.answers["/down"] = 200
    resumed = await local.notify_http.post(f"/webhooks/{sub['id']}/resume", headers=ADMIN)
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"

    async def delivered() -> bool:
        [delivery] = await deliveries(local, sub, envelope)
        return delivery["status"] == "delivered"

    await wait_until(delivered, 20, "the delivery after resuming")
    [delivery] = await deliveries(local, sub, envelope)
    assert delivery["attempts"] == 4 and len(receiver.on("/down")) == 4


async def test_redirects_are_not_followed(local: Stack, receiver: Receiver):
    receiver.answers["/moved"] = 302
    sub = await subscribe(local, f"{receiver.base}/moved")
    envelope = threshold_event("spend_sports")
    await publish(local, envelope)
    await wait_until(lambda: _has(receiver, "/moved"), 20, "the first try")

    async def logged() -> bool:
        return any(e["outcome"] == "failed" for e in await log_of(local, sub, envelope))

    await wait_until(logged, 20, "the failed try in the log")
    [first, *_] = sorted(await log_of(local, sub, envelope), key=lambda e: e["attempt"])
    assert first["code"] == 302 and "重定向" in first["error"]
    assert receiver.on("/landed") == []
    await local.notify_http.post(f"/webhooks/{sub['id']}/pause", headers=ADMIN)


async def test_a_rotated_secret_signs_from_then_on_and_no_secret_is_stored_in_clear(
    local: Stack, receiver: Receiver, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    sub = await subscribe(local, f"{receiver.base}/rotated")
    rotated = await local.notify_http.post(f"/webhooks/{sub['id']}/secret", headers=ADMIN)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != sub["secret"] and new.startswith("whsec_")
    envelope = threshold_event("spend_welfare_care")
    await publish(local, envelope)
    await wait_until(lambda: _has(receiver, "/rotated"), 20, "the webhook")
    [got] = receiver.on("/rotated")
    assert verify(new, got.headers, got.body) and not verify(sub["secret"], got.headers, got.body)

    # Neither secret, nor the key bytes under it, in any collection or on any topic.
    secrets = [sub["secret"], new]
    needles = [s for secret in secrets for s in (secret, secret.removeprefix("whsec_"))]
    db = local.notify.db
    dump = ""
    for name in await db.list_collection_names():
        dump += json.dumps(await db[name].find().to_list(), default=str, ensure_ascii=False)
    assert sub["id"] in dump  # the dump has the subscription (sealed)
    records = await read_all(local.bootstrap, local.topic("notify.webhook"))
    assert any(sub["id"].encode() in r.value for r in records)
    on_topics = b"".join(r.value or b"" for r in records).decode()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert sub["id"] in logged  # the tries were logged
    for needle in needles:
        assert needle not in dump and needle not in on_topics and needle not in logged


async def test_who_may_list_and_register(local: Stack):
    cadre = bearer("cadre-1", ["cadre"], ["main"])
    east_admin = bearer("admin-east", ["admin"], ["east"])
    body = {"url": "http://127.0.0.1:9/x", "types": [TYPE], "campus": "*"}
    assert (await local.notify_http.post("/webhooks", json=body, headers=cadre)).status_code == 403
    # A campus admin registers for their campus only, and sees only those.
    refused = await local.notify_http.post("/webhooks", json=body, headers=east_admin)
    assert refused.status_code == 403
    own = await local.notify_http.post(
        "/webhooks", json={**body, "campus": "east"}, headers=east_admin
    )
    assert own.status_code == 201, own.text
    everyone = (await local.notify_http.get("/webhooks", headers=ADMIN)).json()
    assert all(
        s["campus"] == "east"
        for s in (await local.notify_http.get("/webhooks", headers=east_admin)).json()
    )
    school = [s for s in everyone if s["campus"] == "*"]
    if school:
        hidden = await local.notify_http.get(f"/webhooks/{school[0]['id']}", headers=east_admin)
        assert hidden.status_code == 404


@pytest.fixture(scope="module")
async def strict(infra) -> AsyncIterator[Stack]:
    s = await build_stack(infra, ["notify"])  # production rules: no local testing
    try:
        yield s
    finally:
        await close_stack(s)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:8080/in", "webhook.url_scheme"),
        ("https://127.0.0.1/in", "webhook.url_private"),
        ("https://localhost/in", "webhook.url_private"),
        ("https://10.20.30.40/in", "webhook.url_private"),
        ("https://192.168.1.10:8443/in", "webhook.url_private"),
        ("https://169.254.169.254/latest/meta-data", "webhook.url_private"),
        ("https://[::1]/in", "webhook.url_private"),
        ("https://[::ffff:10.0.0.1]/in", "webhook.url_private"),
        ("https://224.0.0.1/in", "webhook.url_private"),
        ("https://user:pw@hooks.example.org/in", "webhook.url_credentials"),
        ("https://no-such-host.invalid/in", "webhook.url_unresolvable"),
    ],
)
async def test_a_private_or_loopback_url_is_refused(strict: Stack, url: str, code: str):
    body = {"url": url, "types": [TYPE], "campus": "*"}
    response = await strict.notify_http.post("/webhooks", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == code
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await strict.notify_http.get("/webhooks", headers=ADMIN)).json() == []


async def test_an_unknown_event_type_is_refused(strict: Stack):
    body = {"url": "https://hooks.example.org/", "types": ["members.account."], "campus": "*"}
    response = await strict.notify_http.post("/webhooks", json=body, headers=ADMIN)
    assert response.status_code == 422 and response.json()["code"] == "webhook.type_unknown"


async def _has(receiver: Receiver, path: str, count: int = 1) -> bool:
    return len(receiver.on(path)) >= count


async def test_concurrent_takes_queue_once_and_concurrent_workers_claim_a_try_once(
    local: Stack, receiver: Receiver
):
    """Two notify replicas (here: eight tasks) on the same event and the same due delivery."""
    hooks = local.notify.context.webhooks
    sub = await subscribe(local, f"{receiver.base}/race", ["welfare.budget."])
    await hooks.pause(_admin(), sub["id"])  # the worker stays away: the tasks race alone
    envelope = threshold_event("spend_race")
    await asyncio.gather(*[hooks.take(envelope) for _ in range(8)])
    [delivery] = await deliveries(local, sub, envelope)
    found = await hooks.deliveries.get(sub["id"], delivery["id"])
    won = await asyncio.gather(
        *[hooks.deliveries.claim(found, f"replica-{i}", 60) for i in range(8)]
    )
    assert [n for n in won if n is not None] == [1]
    assert [e["attempt"] for e in await log_of(local, sub, envelope)] == [1]


def _admin():
    from shared.principal import Principal

    return Principal(ADMIN_ID, frozenset({"admin"}), frozenset({"*"}))
