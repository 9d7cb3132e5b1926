"""The fan-out (分发): an announcement becomes one inbox message and one delivery per
recipient and channel, a batch of members at a time.

Every replica runs one worker; each walks the member directory in member-id order from where
the announcement's fan-out got to, and inserts each batch's inbox messages and deliveries by
their unique ids (`delivery_id`, `notice_id`). A fan-out stopped half-way (a crash, a
deploy) is taken up again from its last finished batch; two replicas on one announcement
both insert, and each message and delivery exists once. E-mail and WeCom deliveries are
queued for the delivery worker (`delivery/worker.py`), which sends, retries and fails them.

The words are the notice's own title and text, unless the recipient's campus has its own
wording of the `announcement` template (an admin's, 通知模板): then that, rendered with the
notice's title and text, as every route picks its campus's wording. E-mail and WeCom render
it when they send (the delivery worker); the inbox message is written here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.announcements.domain import (
    CATEGORY,
    EVENT_TYPE,
    TEMPLATE,
    Announcement,
    AnnouncementState,
    Segment,
    channels_of,
)
from services.notify.announcements.store import Announcements, of_doc
from services.notify.delivery.domain import DeliveryStatus, delivery_id, notice_id
from services.notify.delivery.store import Deliveries
from services.notify.notices.domain import Notice
from services.notify.notices.store import Inbox
from services.notify.preferences.domain import send_after
from services.notify.preferences.store import PreferenceStore
from services.notify.routing.audience import eligible
from services.notify.routing.contacts import Contacts, address_of
from services.notify.routing.domain import ChannelName
from services.notify.templates.domain import TemplateText, render_message
from services.notify.templates.store import Templates
from shared.polling import PollingWorker
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.timeutil import local_today, utcnow

KIND = "announcement"  # the inbox message's kind


SAMPLE_NAME = "张三"  # the preview's member (a sample name)


class AnnouncementFanout(PollingWorker):
    name = "notify-announcements"

    def __init__(
        self,
        db: AsyncDatabase,
        announcements: Announcements,
        inbox: Inbox,
        deliveries: Deliveries,
        preferences: PreferenceStore,
        contacts: Contacts,
        templates: Templates,
        enabled: frozenset[ChannelName],
        batch: int = 500,
        poll_s: float = 1.0,
    ) -> None:
        self.directory = db[MEMBER_DIRECTORY]
        self.announcements = announcements
        self.inbox = inbox
        self.deliveries = deliveries
        self.preferences = preferences
        self.contacts = contacts
        self.templates = templates
        self.enabled = enabled
        self.batch = batch
        super().__init__(poll_s)  # a round fans out every announcement to its end: then wait

    # -- the worker ----------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Fan out every announcement still sending; how many there were."""
        found = await self.announcements.sending()
        for doc in found:
            if self.stopping:
                break
            await self.fan_out(of_doc(doc), doc.get("through"))
        return len(found)

    # -- one announcement ----------------------------------------------------------------------

    async def fan_out(
        self, a: Announcement, through: str | None = None, batches: int | None = None
    ) -> int:
        """Deliver from the member after `through` on; inbox messages this call created.
        `batches`: stop after that many (a test's crash half-way).

        One query, sorted by member id, read a batch at a time (a query per batch would sort
        the directory again each time); a batch is written while the next is read and sorted
        out, and how far the fan-out got is noted only once every batch before is written."""
        query: dict[str, Any] = {"status": "active"}
        if a.campus != "*":
            query["campus"] = a.campus
        if through:
            query["_id"] = {"$gt": through}
        rule = a.segment.rule(a.campus)
        year = local_today().year
        done = 0
        page: list[Mapping[str, Any]] = []
        writes = _Writes(self, a)
        cursor = self.directory.find(query).sort("_id", 1).batch_size(self.batch)
        try:
            async for doc in cursor:
                page.append(doc)
                if len(page) < self.batch:
                    continue
                if not await self._go_on(a, done, batches):
                    return await writes.drain()
                await writes.push([d for d in page if eligible(d, rule, a.campus, year)], page)
                page, done = [], done + 1
            if page:
                if not await self._go_on(a, done, batches):
                    return await writes.drain()
                await writes.push([d for d in page if eligible(d, rule, a.campus, year)], page)
            created = await writes.drain()
        finally:
            writes.cancel()
            await cursor.close()
        await self.announcements.finish(a.id, AnnouncementState.sent, utcnow())
        return created

    async def _go_on(self, a: Announcement, done: int, batches: int | None) -> bool:
        """Whether to write the next batch: not when the service stops (the fan-out is taken
        up again from its last batch), nor after `batches`, nor once the notice expired."""
        if self.stopping or (batches is not None and done >= batches):
            return False
        now = utcnow()
        if a.expired(now):
            await self.announcements.finish(a.id, AnnouncementState.expired, now)
            return False
        return True

    async def deliver(
        self, a: Announcement, members: list[Mapping[str, Any]], now: datetime
    ) -> int:
        """One batch: inbox messages written, other channels queued; inbox messages new."""
        ids = [str(m["_id"]) for m in members]
        prefs = await self.preferences.get_many(ids)
        messages: list[Notice] = []
        inbox_docs: list[dict[str, Any]] = []
        pending: list[tuple[str, ChannelName, dict[str, Any]]] = []
        overrides: dict[str, TemplateText | None] = {}  # per campus, read once a batch
        warned: set[str] = set()
        for m in members:
            member = str(m["_id"])
            campus = m.get("campus") or a.campus
            base: dict[str, Any] = {
                "event_id": a.id,
                "event_type": EVENT_TYPE,
                "template": TEMPLATE,
                "category": CATEGORY.value,
                "mandatory": a.mandatory,
                "member_id": member,
                "campus": campus,
                "department": m.get("department") or "",
                "variables": {"name": m.get("name") or "", "title": a.title, "body": a.body},
                "sealed": None,
                "tries": 0,
                "failures": 0,
                "last_error": None,
                "created_at": now,
            }
            for channel in channels_of(a, prefs[member]):
                if channel not in self.enabled:
                    continue
                key = delivery_id(a.id, member, channel.value)
                if channel is not ChannelName.inbox:
                    pending.append((key, channel, base))
                    continue
                if campus not in overrides:
                    overrides[campus] = await self.templates.override(TEMPLATE, campus)
                title, text = wording(a, overrides[campus], base["variables"], campus, warned)
                nid = notice_id(a.id, member)
                messages.append(Notice(nid, member, campus, KIND, title, text))
                inbox_docs.append(
                    {
                        "_id": key,
                        "channel": channel.value,
                        **base,
                        # The text is in the message itself; the name is for the unread list.
                        "variables": {"name": base["variables"]["name"]},
                        "status": DeliveryStatus.sent.value,
                        "sent_at": now,
                        "next_at": None,
                    }
                )
        # The message first, then its delivery: a crash between leaves a message whose
        # delivery the resumed batch adds (the message itself is not written twice).
        await self.inbox.put_many(messages)
        created = len(await self.deliveries.add_many(inbox_docs))
        addresses = await self.contacts.get_many(sorted({b["member_id"] for _, _, b in pending}))
        queued = [
            {
                "_id": key,
                "channel": channel.value,
                **base,
                "status": DeliveryStatus.queued.value,
                "next_at": send_after(channel, prefs[base["member_id"]], now),
            }
            for key, channel, base in pending
            if address_of(addresses.get(base["member_id"]), channel.value)
        ]
        await self.deliveries.add_many(queued)
        return created

    async def campus_wordings(
        self, campus: str, title: str, body: str
    ) -> list[tuple[str, str, str]]:
        """(campus, title, text) as members of each campus with its own wording of the
        announcement template will read the notice (the preview's; a sample name)."""
        saved = await self.templates.overrides(TEMPLATE)
        wanted = [d for d in saved if campus == "*" or d["campus"] == campus]
        variables = {"name": SAMPLE_NAME, "title": title, "body": body}
        warned: set[str] = set()
        out = []
        for doc in wanted:
            text = TemplateText(doc["title"], doc["body"])
            out.append((doc["campus"], *in_campus_words(text, variables, doc["campus"], warned)))
        return out

    async def count(self, segment: Segment, campus: str) -> int:
        """How many members the segment reaches now (the preview's figure)."""
        query: dict[str, Any] = {"status": "active"}
        if campus != "*":
            query["campus"] = campus
        rule, year = segment.rule(campus), local_today().year
        fields = {"campus": 1, "department": 1, "gender": 1, "status": 1, "roles": 1}
        docs = await self.directory.find(query, {**fields, "small_group": 1}).to_list()
        return sum(1 for d in docs if eligible(d, rule, campus, year))


def wording(
    a: Announcement,
    override: TemplateText | None,
    variables: Mapping[str, Any],
    campus: str,
    warned: set[str],
) -> tuple[str, str]:
    """The inbox message's title and text: the notice's own, or the campus's wording of the
    announcement template rendered with them (`render_message`: one that fails to render
    falls back to the default wording, logged once a campus)."""
    if override is None:
        return a.title, a.body
    return in_campus_words(override, variables, campus, warned)


def in_campus_words(
    override: TemplateText, variables: Mapping[str, Any], campus: str, warned: set[str]
) -> tuple[str, str]:
    """A campus's wording of the announcement template rendered (the delivery's and the
    preview's one way)."""
    rendered = render_message(
        override, variables, template=TEMPLATE, campus=campus, event_type=EVENT_TYPE, warned=warned
    )
    return rendered.title, rendered.text


class _Writes:
    """At most one batch written in the background; its progress noted once it is done."""

    def __init__(self, fanout: AnnouncementFanout, a: Announcement) -> None:
        self.fanout, self.a = fanout, a
        self.created = 0
        self.pending: tuple[asyncio.Task[int], str] | None = None

    async def push(self, members: list[Mapping[str, Any]], page: list[Mapping[str, Any]]) -> None:
        task = asyncio.create_task(self.fanout.deliver(self.a, members, utcnow()))
        try:
            await self.drain()
        except BaseException:
            task.cancel()  # the batch before failed: this one stops with it
            raise
        self.pending = (task, str(page[-1]["_id"]))

    async def drain(self) -> int:
        if self.pending is not None:
            task, through = self.pending
            self.pending = None
            self.created += await task
            await self.fanout.announcements.progress(self.a.id, through)
        return self.created

    def cancel(self) -> None:
        if self.pending is not None:
            self.pending[0].cancel()
