"""The delivery worker: sends what is queued and due, retries with backoff, fails after N.

Started with the service (`runtime.run_worker`); every replica runs one, and each attempt is
claimed first (`Deliveries.claim`, a unique-key insert), so two replicas never send the same
attempt. A channel that is down (`ChannelDown`) makes a delivery wait without counting a
failure: an SMTP outage delays e-mail and fails nothing. Stopping lets the send in progress
finish.

Quiet hours (免打扰) are applied here too, not only when a delivery is queued: a WeCom or SMS
message whose time comes inside the member's quiet hours (an outage or a retry that ran into
the night, settings changed since it was queued) is put off to their end, and every new
`next_at` the worker sets goes past them. `preferences.domain.send_after` decides, as it does
when a delivery is queued.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from services.notify.channels.base import Channel, ChannelDown, Message
from services.notify.delivery.domain import OUTAGE_WAIT, DeliveryStatus, after_failure
from services.notify.delivery.handlers import SECRET_WHERE
from services.notify.delivery.store import Deliveries
from services.notify.preferences.domain import DEFERRED_BY_QUIET_HOURS, Preferences, send_after
from services.notify.preferences.store import PreferenceStore
from services.notify.routing.contacts import Contacts, address_of
from services.notify.routing.domain import ChannelName
from services.notify.settings import NotifySettings
from services.notify.templates.domain import render_message
from services.notify.templates.store import Templates
from shared.crypto import Sealer
from shared.polling import PollingWorker
from shared.text import mask_email
from shared.timeutil import utcnow

log = logging.getLogger(__name__)

BATCH = 50
LEASE_S = 120.0


class DeliveryWorker(PollingWorker):
    name = "notify-deliveries"

    def __init__(
        self,
        settings: NotifySettings,
        deliveries: Deliveries,
        contacts: Contacts,
        preferences: PreferenceStore,
        templates: Templates,
        channels: Mapping[str, Channel],
        sealer: Sealer,
    ) -> None:
        self.settings = settings
        self.deliveries = deliveries
        self.contacts = contacts
        self.preferences = preferences
        self.templates = templates
        self.channels = channels
        self.sealer = sealer
        super().__init__(settings.delivery_poll_s, full=BATCH)

    async def run_once(self, now: datetime | None = None) -> int:
        """Try every due delivery once; how many were due."""
        due = await self.deliveries.due(now or utcnow(), BATCH)
        for doc in due:
            if self.stopping:
                break
            await self.attempt(doc, now or utcnow())
        return len(due)

    async def attempt(self, doc: dict[str, Any], now: datetime) -> None:
        attempt = await self.deliveries.claim(doc, now, LEASE_S)
        if attempt is None:
            return  # another replica sends this attempt
        channel = self.channels.get(doc["channel"])
        message, why_not, sealed_to = await self._message(doc, now)
        if channel is None or message is None:
            reason = why_not or "渠道未启用"
            await self.deliveries.record(
                doc, DeliveryStatus.skipped, tries=attempt, last_error=reason
            )
            return
        prefs = await self._settings_of(doc)
        quiet_until = _send_after(doc, prefs, now)
        if quiet_until > now:
            # Not tried at all: no failure, and the attempt is given back (no try either).
            log.info("delivery %s waits for the end of quiet hours", doc["_id"])
            await self.deliveries.put_off(doc, attempt, quiet_until)
            return
        try:
            await channel.send(message)
        except ChannelDown as exc:
            log.warning("%s is down; delivery %s waits", doc["channel"], doc["_id"])
            wait = min(OUTAGE_WAIT, timedelta(seconds=self.settings.delivery_backoff_s))
            await self.deliveries.record(
                doc,
                DeliveryStatus.queued,
                tries=attempt,
                next_at=_send_after(doc, prefs, now + wait),
                last_error=_hidden(f"渠道暂时不可用：{exc}", sealed_to)[:300],
            )
            return
        except Exception as exc:  # ChannelRefused, or anything this message broke
            failures = int(doc.get("failures", 0)) + 1
            status, next_at = after_failure(
                failures,
                self.settings.delivery_max_attempts,
                now,
                self.settings.delivery_backoff_s,
            )
            if next_at is not None:
                next_at = _send_after(doc, prefs, next_at)
            # A refusal often quotes its recipient (SMTP's 550 does).
            error = _hidden(f"{type(exc).__name__}: {exc}", sealed_to)
            log.warning("delivery %s failed (%d): %s", doc["_id"], failures, error)
            await self.deliveries.record(
                doc,
                status,
                tries=attempt,
                failures=failures,
                next_at=next_at,
                last_error=error[:300],
            )
            return
        # An address that came sealed (a new e-mail address, not confirmed yet) must not rest
        # in clear in the database: the record keeps a masked form (only people read `to`).
        to = message.to if sealed_to is None else _masked(sealed_to)
        await self.deliveries.record(
            doc, DeliveryStatus.sent, tries=attempt, sent_at=utcnow(), to=to
        )

    async def _settings_of(self, doc: Mapping[str, Any]) -> Preferences:
        """The member's settings as they are now (they may have changed since the delivery was
        queued). Read only for a channel quiet hours defer: `send_after` ignores them for the
        others, and an e-mail is not worth a read."""
        if doc["channel"] not in DEFERRED_BY_QUIET_HOURS:
            return Preferences()
        return await self.preferences.get(doc["member_id"])

    async def _message(
        self, doc: Mapping[str, Any], now: datetime
    ) -> tuple[Message | None, str, str | None]:
        """The message, why there is none, and the address if it came sealed."""
        variables = dict(doc.get("variables") or {})
        to: str | None = None
        sealed_to: str | None = None
        if doc.get("sealed"):
            secret = json.loads(
                self.sealer.open(doc["sealed"], SECRET_WHERE, doc["event_id"], doc["member_id"])
            )
            expires = secret.pop("expires_at", None)
            if expires and datetime.fromisoformat(expires) <= now:
                return None, "链接已过期，未发送", None
            to = sealed_to = secret.pop("to", None)
            variables.update(secret)
        if to is None:
            to = address_of(await self.contacts.get(doc["member_id"]), doc["channel"])
        if not to:
            return None, "没有该渠道的联系方式", None
        text = await self.templates.text_for(doc["template"], doc["campus"])
        rendered = render_message(
            text,
            variables,
            template=doc["template"],
            campus=doc["campus"],
            event_type=doc["event_type"],
        )
        message = Message(
            notice_id=doc["_id"],
            member_id=doc["member_id"],
            campus=doc["campus"],
            kind=doc["template"],
            to=to,
            title=rendered.title,
            text=rendered.text,
            html=rendered.html,
        )
        return message, "", sealed_to


def _send_after(doc: Mapping[str, Any], prefs: Preferences, at: datetime) -> datetime:
    """`at`, or the end of the member's quiet hours if `at` falls in them and the delivery's
    channel rings: the rule the dispatcher applies when it queues (mandatory or not)."""
    return send_after(ChannelName(doc["channel"]), prefs, at)


def _masked(address: str) -> str:
    """Enough of a sealed address to tell which it was (z***@example.com), never all of it."""
    return (mask_email(address) if "@" in address else None) or "***"


def _hidden(text: str, sealed_to: str | None) -> str:
    """A text about a delivery (an error) with its sealed address masked."""
    if not sealed_to:
        return text
    masked = _masked(sealed_to)
    return re.sub(re.escape(sealed_to), lambda _: masked, text, flags=re.IGNORECASE)
