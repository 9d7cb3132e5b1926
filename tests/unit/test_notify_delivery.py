"""Notify's delivery worker and message wording with stand-ins for its stores (no I/O): a
sealed address never written back in clear, quiet hours kept by retries, outages and what
comes due at night, and a campus wording that fails on real values replaced by the default."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

import aiosmtplib
import pytest
from jinja2 import UndefinedError

from services.notify.channels.base import ChannelDown, ChannelRefused, Message
from services.notify.channels.email import EmailChannel
from services.notify.delivery.domain import DeliveryStatus
from services.notify.delivery.handlers import SECRET_WHERE
from services.notify.delivery.worker import DeliveryWorker
from services.notify.preferences.domain import Preferences, QuietHours
from services.notify.routing.contacts import Contact
from services.notify.routing.domain import ChannelName
from services.notify.settings import NotifySettings
from services.notify.templates.domain import (
    Rendered,
    TemplateText,
    default_text,
    render,
    render_message,
    validate,
)
from shared.crypto import Sealer
from shared.events.events import RegistrationConfirmed, RegistrationPromoted
from shared.events.members import EmailChangeRequested
from shared.timeutil import SHANGHAI

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
NEW = "zhao.min@example.com"  # the new, unconfirmed address: it travels sealed


class Records:
    """The deliveries as the worker uses them: every attempt won, every outcome kept."""

    def __init__(self, *queued: dict[str, Any]) -> None:
        self.docs: dict[str, dict[str, Any]] = {d["_id"]: dict(d) for d in queued}
        self.given_back: list[str] = []

    async def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        waiting = [d for d in self.docs.values() if d["status"] == "queued"]
        return [dict(d) for d in waiting if d["next_at"] <= now][:limit]

    async def claim(self, doc: dict[str, Any], now: datetime, lease_s: float) -> int:
        return int(doc.get("tries", 0)) + 1

    async def record(self, doc: dict[str, Any], status: DeliveryStatus, **fields: Any) -> None:
        self.docs[doc["_id"]] = {**doc, **self.docs.get(doc["_id"], {}), **fields}
        self.docs[doc["_id"]]["status"] = status.value

    async def put_off(self, doc: dict[str, Any], attempt: int, until: datetime) -> None:
        self.docs[doc["_id"]] = {**doc, **self.docs.get(doc["_id"], {}), "next_at": until}
        self.given_back.append(f"{doc['_id']}#{attempt}")


class Defaults:
    async def text_for(self, key: str, campus: str) -> TemplateText:
        return default_text(key)


class NoContacts:
    async def get(self, member_id: str) -> None:
        return None


class Contacts:
    """Every member has an address on every channel."""

    async def get(self, member_id: str) -> Contact:
        return Contact(
            member_id, "王芳", "main", "13800000000", f"{member_id}@x.cn", f"wx-{member_id}"
        )


class MemberSettings:
    """Members' notification settings: the default (quiet 22:00–07:00) unless given."""

    def __init__(self, **prefs: Preferences) -> None:
        self.prefs = prefs

    async def get(self, member_id: str) -> Preferences:
        return self.prefs.get(member_id, Preferences())


class Gateway:
    """WeCom, SMS or SMTP as the worker sees them: accepting, down, or refusing."""

    name = ChannelName.wecom  # one stand-in for each channel: the worker does not read it

    def __init__(self, fails: type[Exception] | None = None) -> None:
        self.fails = fails
        self.sent: list[str] = []

    async def send(self, message: Message) -> None:
        if self.fails is not None:
            raise self.fails("网关不可用" if self.fails is ChannelDown else "HTTP 500")
        self.sent.append(message.notice_id)


class Mailer:
    """An SMTP server that accepts, or refuses the recipient quoting it (as a 550 does)."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.sent: list[str] = []

    async def send(self, to: str, subject: str, body: str, html: str | None = None) -> None:
        if self.refuse:
            raise aiosmtplib.SMTPRecipientRefused(550, f"5.1.1 <{to}> user unknown", to)
        self.sent.append(to)


def confirmation(sealer: Sealer) -> dict[str, Any]:
    """An e-mail confirmation's delivery as the dispatcher queues it (the address sealed)."""
    secret = {
        "to": NEW,
        "url": "https://gonghui.example/me/email/tok-1",
        "expires": "12月05日 11:00",
        "expires_at": (NOW + timedelta(hours=1)).isoformat(),
    }
    return {
        "_id": "e1:m1:email",
        "event_id": "e1",
        "event_type": EmailChangeRequested.type,
        "template": "email_confirm",
        "category": "account",
        "member_id": "m1",
        "campus": "main",
        "channel": "email",
        "variables": {"name": "赵敏"},
        "sealed": sealer.seal(json.dumps(secret), SECRET_WHERE, "e1", "m1"),
        "status": "queued",
        "tries": 0,
        "failures": 0,
    }


def worker(records: Records, mailer: Mailer, sealer: Sealer) -> DeliveryWorker:
    return DeliveryWorker(
        NotifySettings(env="test"),
        cast(Any, records),
        cast(Any, NoContacts()),
        cast(Any, MemberSettings()),
        cast(Any, Defaults()),
        {"email": EmailChannel(mailer)},
        sealer,
    )


async def test_a_sealed_address_is_mailed_but_not_recorded_in_clear():
    sealer, records, mailer = Sealer(os.urandom(32)), Records(), Mailer()
    await worker(records, mailer, sealer).attempt(confirmation(sealer), NOW)
    assert mailer.sent == [NEW]  # the mail does go to the new address
    stored = records.docs["e1:m1:email"]
    assert stored["status"] == "sent" and stored["to"] == "z***@example.com"
    assert NEW not in json.dumps(stored, default=str, ensure_ascii=False)


async def test_a_refusal_quoting_a_sealed_address_is_recorded_and_logged_masked(caplog):
    sealer, records = Sealer(os.urandom(32)), Records()
    with caplog.at_level(logging.WARNING):
        await worker(records, Mailer(refuse=True), sealer).attempt(confirmation(sealer), NOW)
    stored = records.docs["e1:m1:email"]
    assert stored["status"] == "queued" and stored["failures"] == 1  # tried again later
    assert "z***@example.com" in stored["last_error"] and "550" in stored["last_error"]
    assert NEW not in json.dumps(stored, default=str, ensure_ascii=False)
    assert caplog.records and all(NEW not in r.getMessage() for r in caplog.records)


def local(hour: int, minute: int = 0, second: int = 0, day: int = 5) -> datetime:
    """A Beijing time on 2026-12-`day`, in UTC as the worker gets it."""
    return datetime(2026, 12, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def promoted(member: str = "m1", channel: str = "wecom", **over: Any) -> dict[str, Any]:
    """A queued delivery telling `member` they moved up from the waitlist."""
    return {
        "_id": f"e2:{member}:{channel}",
        "event_id": "e2",
        "event_type": RegistrationPromoted.type,
        "template": "registration_promoted",
        "category": "activity",
        "mandatory": False,
        "member_id": member,
        "campus": "main",
        "channel": channel,
        "variables": {"name": "王芳", "activity_title": "春季踏青", "guests": 0, "waitlist_no": 1},
        "sealed": None,
        "status": "queued",
        "tries": 0,
        "failures": 0,
        "next_at": local(21, 50),
        **over,
    }


def night_worker(
    records: Records,
    gateway: Gateway,
    settings: MemberSettings | None = None,
    backoff_s: float = 30.0,
) -> DeliveryWorker:
    return DeliveryWorker(
        NotifySettings(env="test", delivery_backoff_s=backoff_s),
        cast(Any, records),
        cast(Any, Contacts()),
        cast(Any, settings or MemberSettings()),
        cast(Any, Defaults()),
        {"wecom": gateway, "sms": gateway, "email": gateway},
        Sealer(os.urandom(32)),
    )


@pytest.mark.parametrize(
    ("channel", "error", "failing_at", "next_at"),
    [
        ("wecom", ChannelRefused, local(21, 50), local(7, 0, day=6)),  # 22:05 is quiet
        ("sms", ChannelRefused, local(21, 50), local(7, 0, day=6)),
        ("wecom", ChannelDown, local(21, 59, 45), local(7, 0, day=6)),  # 30 s on: 22:00:15
        ("wecom", ChannelDown, local(21, 50), local(21, 50, 30)),  # still before 22:00
        ("email", ChannelRefused, local(21, 50), local(22, 5)),  # e-mail does not ring
    ],
)
async def test_a_retry_or_an_outage_wait_set_by_the_worker_keeps_quiet_hours(
    channel: str, error: type[Exception], failing_at: datetime, next_at: datetime
):
    doc = promoted(channel=channel, next_at=failing_at)
    records = Records(doc)
    await night_worker(records, Gateway(error), backoff_s=900).attempt(doc, failing_at)
    stored = records.docs[doc["_id"]]
    assert stored["status"] == "queued" and stored["next_at"] == next_at
    assert stored["failures"] == (0 if error is ChannelDown else 1)


async def test_a_wecom_delivery_failing_at_2150_is_next_tried_at_seven():
    records, wecom = Records(promoted()), Gateway(ChannelRefused)
    worker = night_worker(records, wecom, backoff_s=900)  # the retry would be at 22:05
    assert await worker.run_once(local(21, 50)) == 1
    assert records.docs["e2:m1:wecom"]["next_at"] == local(7, 0, day=6)
    for night in (local(22, 5), local(23, 0), local(6, 59, 59, day=6)):
        assert await worker.run_once(night) == 0  # not due: nothing tried
    wecom.fails = None
    assert await worker.run_once(local(7, 0, day=6)) == 1
    assert wecom.sent == ["e2:m1:wecom"]
    stored = records.docs["e2:m1:wecom"]
    assert (stored["status"], stored["tries"], stored["failures"]) == ("sent", 2, 1)


async def test_a_wecom_delivery_due_in_quiet_hours_is_not_sent_until_they_end():
    # WeCom was down at 21:50; the wait it left ends at 21:50:30, the worker gets to it at 22:00:10
    # (a backlog), and WeCom is back by then.
    doc = promoted(next_at=local(21, 50, 30), tries=1, last_error="渠道暂时不可用：网关不可用")
    records, wecom = Records(doc), Gateway()
    worker = night_worker(records, wecom)
    assert await worker.run_once(local(22, 0, 10)) == 1
    assert wecom.sent == []
    stored = records.docs["e2:m1:wecom"]
    assert stored["status"] == "queued" and stored["next_at"] == local(7, 0, day=6)
    # Neither a failure nor a try: the claimed attempt is given back.
    assert (stored["tries"], stored["failures"]) == (1, 0)
    assert records.given_back == ["e2:m1:wecom#2"]
    for night in (local(23, 0), local(6, 59, 59, day=6)):
        assert await worker.run_once(night) == 0
    assert wecom.sent == []
    assert await worker.run_once(local(7, 0, day=6)) == 1
    assert wecom.sent == ["e2:m1:wecom"]
    stored = records.docs["e2:m1:wecom"]
    assert (stored["status"], stored["tries"], stored["failures"]) == ("sent", 2, 0)


async def test_at_night_only_ringing_channels_wait_mandatory_or_not_by_the_members_own_hours():
    owl = Preferences(quiet=QuietHours(enabled=False))
    early = Preferences(quiet=QuietHours(start=time(21, 0), end=time(6, 0)))
    docs = [  # all due since 21:50, and the worker gets to them at 22:30
        promoted("m1", "email"),  # never deferred
        promoted("m1", "sms", mandatory=True),  # mandatory: opt-outs ignored, quiet hours kept
        promoted("owl", "wecom"),  # no quiet hours
        promoted("early", "wecom"),  # quiet from 21:00 to 06:00
    ]
    records, gateway = Records(*docs), Gateway()
    worker = night_worker(records, gateway, MemberSettings(owl=owl, early=early))
    assert await worker.run_once(local(22, 30)) == 4
    assert sorted(gateway.sent) == ["e2:m1:email", "e2:owl:wecom"]
    assert records.docs["e2:m1:sms"]["next_at"] == local(7, 0, day=6)
    assert records.docs["e2:early:wecom"]["next_at"] == local(6, 0, day=6)
    assert await worker.run_once(local(6, 0, day=6)) == 1
    assert gateway.sent[-1] == "e2:early:wecom"
    assert await worker.run_once(local(7, 0, day=6)) == 1
    assert gateway.sent[-1] == "e2:m1:sms"
    assert {d["status"] for d in records.docs.values()} == {"sent"}


# A confirmed registration has no waitlist number: the route gives "" (the sample has 3).
CONFIRMED = {"name": "王芳", "activity_title": "春季踏青", "guests": 0, "waitlist_no": ""}


def confirmed(
    text: TemplateText, variables: dict[str, Any], warned: set[str] | None = None
) -> Rendered:
    """A registration confirmed on campus west, in `text`."""
    return render_message(
        text,
        variables,
        template="registration_confirmed",
        campus="west",
        event_type=RegistrationConfirmed.type,
        warned=warned,
    )


def test_a_campus_wording_that_fails_on_real_values_falls_back_to_the_default(caplog):
    override = TemplateText(
        "报名成功：{{ activity_title }}", "您的候补号曾是第{{ waitlist_no + 1 }}位"
    )
    validate("registration_confirmed", override)  # saved: the sample renders
    warned: set[str] = set()
    with caplog.at_level(logging.WARNING, logger="services.notify.templates.domain"):
        for _ in range(2):  # two recipients of the event on that campus
            rendered = confirmed(override, CONFIRMED, warned)
            assert rendered == render(default_text("registration_confirmed"), CONFIRMED)
    assert rendered.text.startswith("王芳，您好！您已成功报名「春季踏青」")
    [line] = [r.getMessage() for r in caplog.records]  # once per event and campus
    assert "registration_confirmed" in line and "west" in line
    assert RegistrationConfirmed.type in line and "TypeError" in line
    assert "王芳" not in line and "春季踏青" not in line  # never the values


def test_a_wording_that_renders_is_used_and_a_failing_default_still_raises():
    mine = TemplateText("【西校区】报名成功：{{ activity_title }}", "{{ name }}老师：报名成功。")
    rendered = confirmed(mine, CONFIRMED)
    assert (rendered.title, rendered.text) == (
        "【西校区】报名成功：春季踏青",
        "王芳老师：报名成功。",
    )
    with pytest.raises(UndefinedError):  # nothing to fall back on: as before, the handler retries
        confirmed(default_text("registration_confirmed"), {"name": "王芳"})
