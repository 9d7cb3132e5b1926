"""Notify's delivery worker and message wording with stand-ins for its stores (no I/O): a
sealed address never written back in clear, and a campus wording that fails on real values
replaced by the default."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import aiosmtplib
import pytest
from jinja2 import UndefinedError

from services.notify.channels.email import EmailChannel
from services.notify.delivery.domain import DeliveryStatus
from services.notify.delivery.handlers import SECRET_WHERE, render_message
from services.notify.delivery.worker import DeliveryWorker
from services.notify.settings import NotifySettings
from services.notify.templates.domain import (
    Rendered,
    TemplateText,
    default_text,
    render,
    validate,
)
from shared.crypto import Sealer
from shared.events.events import RegistrationConfirmed
from shared.events.members import EmailChangeRequested

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
NEW = "zhao.min@example.com"  # the new, unconfirmed address: it travels sealed


class Records:
    """The deliveries as the worker uses them: every attempt won, every outcome kept."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    async def claim(self, doc: dict[str, Any], now: datetime, lease_s: float) -> int:
        return int(doc.get("tries", 0)) + 1

    async def record(self, doc: dict[str, Any], status: DeliveryStatus, **fields: Any) -> None:
        self.docs[doc["_id"]] = {**doc, **self.docs.get(doc["_id"], {}), **fields}
        self.docs[doc["_id"]]["status"] = status.value


class Defaults:
    async def text_for(self, key: str, campus: str) -> TemplateText:
        return default_text(key)


class NoContacts:
    async def get(self, member_id: str) -> None:
        return None


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
    with caplog.at_level(logging.WARNING, logger="services.notify.delivery.handlers"):
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
