"""Webhook rules without I/O: filters, URLs and addresses, signatures, backoff, pausing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.notify.webhooks.domain import (
    NEVER_OFFERED,
    PauseReason,
    Subscription,
    WebhookStatus,
    address_refusal,
    backoff_s,
    check_addresses,
    check_url,
    matches,
    new_secret,
    offered_types,
    parse_filter,
    sign,
)
from shared.errors import Conflict, Invalid, Refused
from shared.events import REGISTRY, load_all

load_all()


def test_the_filter_takes_catalogued_types_and_prefixes_only():
    assert parse_filter(
        ["events.activity.published.v1", " events.registration. ", "welfare.*"]
    ) == [
        "events.activity.published.v1",
        "events.registration.",
        "welfare.",
    ]
    for bad in ("events.activity.published.v9", "nothing.", "events.activity", ""):
        with pytest.raises(Invalid) as caught:
            parse_filter([bad])
        assert caught.value.code in ("webhook.type_unknown", "webhook.types_empty")
    with pytest.raises(Invalid):
        parse_filter([])


def test_contact_details_and_credentials_are_never_offered():
    offered = offered_types()
    assert offered and all(REGISTRY[t].topic not in NEVER_OFFERED for t in offered)
    assert not any(t.startswith(("members.contact.", "members.account.")) for t in offered)
    with pytest.raises(Invalid):
        parse_filter(["members.account."])
    with pytest.raises(Invalid):
        parse_filter(["members.contact.changed.v1"])


def test_matching_is_exact_or_by_prefix():
    types = ["events.activity.published.v1", "welfare."]
    assert matches(types, "events.activity.published.v1")
    assert matches(types, "welfare.budget.threshold_reached.v1")
    assert not matches(types, "events.activity.published.v2")
    assert not matches(types, "events.activity.cancelled.v1")


def test_urls_are_https_without_credentials_unless_local_testing():
    assert check_url("https://hooks.example.org/x?y=1", False) == (
        "https",
        "hooks.example.org",
        443,
    )
    assert check_url("http://127.0.0.1:9000/in", True) == ("http", "127.0.0.1", 9000)
    for url, code in [
        ("http://hooks.example.org/", "webhook.url_scheme"),
        ("ftp://hooks.example.org/", "webhook.url_scheme"),
        ("https://user:pw@hooks.example.org/", "webhook.url_credentials"),
        ("https:///nohost", "webhook.url_invalid"),
        ("https://hooks.example.org:99999/", "webhook.url_invalid"),
    ]:
        with pytest.raises(Invalid) as caught:
            check_url(url, False)
        assert caught.value.code == code, url


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # the cloud metadata address
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "ff02::1",
    ],
)
def test_private_loopback_link_local_and_multicast_addresses_are_refused(address):
    assert address_refusal(address, allow_local=False) is not None


def test_the_local_setting_allows_loopback_and_private_but_never_multicast():
    assert address_refusal("127.0.0.1", allow_local=True) is None
    assert address_refusal("192.168.1.1", allow_local=True) is None
    assert address_refusal("224.0.0.1", allow_local=True) is not None
    assert address_refusal("93.184.215.14", allow_local=False) is None


def test_one_bad_address_among_many_refuses_the_host():
    with pytest.raises(Refused) as caught:
        check_addresses("rebind.example", ["93.184.215.14", "10.0.0.5"], allow_local=False)
    assert caught.value.code == "webhook.url_private"
    with pytest.raises(Refused) as caught:
        check_addresses("nowhere.example", [], allow_local=False)
    assert caught.value.code == "webhook.url_unresolvable"


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, as docs/integration/webhooks.md shows it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, s.removeprefix("v1,"))
        for s in headers["webhook-signature"].split()
    )


def test_a_signature_verifies_with_the_secret_and_nothing_else():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24
    body = b'{"id":"e-1","type":"welfare.budget.threshold_reached.v1"}'
    headers = {"webhook-id": "e-1", "webhook-timestamp": "1700000000"}
    headers["webhook-signature"] = sign(secret, "e-1", 1700000000, body)
    assert headers["webhook-signature"].startswith("v1,")
    assert verify(secret, headers, body)
    assert not verify(new_secret(), headers, body)
    assert not verify(secret, headers, body + b" ")
    assert not verify(secret, {**headers, "webhook-timestamp": "1700000001"}, body)


def test_a_known_standard_webhooks_vector():
    # The example of the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    got = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert got == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_backoff_doubles_up_to_its_cap():
    assert [backoff_s(n, 10, 3600) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff_s(20, 10, 3600) == 3600


def subscription() -> Subscription:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    return Subscription.register(
        "wh-000000000001", "*", "https://x.org/", ["welfare."], "", "a", now
    )


def test_pausing_records_once_and_resuming_restarts_the_count():
    sub = subscription()
    assert [e.type for e in sub.pull_events()] == ["notify.webhook.subscribed.v1"]
    sub.pause(PauseReason.failing)
    sub.pause(PauseReason.manual)  # already paused: nothing more
    assert [e.type for e in sub.pull_events()] == ["notify.webhook.paused.v1"]
    assert sub.reason == "failing"
    with pytest.raises(Conflict):
        sub.require_active()
    later = datetime(2026, 12, 6, tzinfo=UTC)
    sub.resume(later)
    assert sub.status == WebhookStatus.active and sub.resumed_at == later and sub.reason is None


def test_the_events_never_carry_the_secret_or_the_url():
    sub = subscription()
    old = sub.secret
    assert sub.rotate_secret() != old
    for event in sub.pull_events():
        dumped = event.model_dump_json()
        assert sub.secret not in dumped and old not in dumped and "x.org" not in dumped


def test_the_readmes_receiver_accepts_what_notify_signs_and_nothing_else():
    """The few lines the README shows a receiver are run here on notify's own signature."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [code] = re.findall(r"```python\n(.*?def verify.*?)```", readme, re.DOTALL)
    receiver: dict = {}
    exec(code, receiver)  # the README's text, as a reader would paste it
    secret, body, now = new_secret(), b'{"type":"members.member.joined.v2"}', int(time.time())

    def headers(at: int, signed: bytes = body) -> dict[str, str]:
        signature = sign(secret, "e-1", at, signed)
        return {"webhook-id": "e-1", "webhook-timestamp": str(at), "webhook-signature": signature}

    assert receiver["verify"](secret, headers(now), body) is True
    assert receiver["verify"](secret, headers(now), body + b" ") is False  # altered on the way
    assert receiver["verify"](new_secret(), headers(now), body) is False  # another secret
    assert receiver["verify"](secret, headers(now - 600), body) is False  # replayed later
