"""Composition root of the notify service."""

from __future__ import annotations

from functools import partial

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.announcements import api as announcements_api
from services.notify.announcements.fanout import AnnouncementFanout
from services.notify.announcements.store import Announcements
from services.notify.channels.base import Channel
from services.notify.channels.email import EmailChannel, Mailer, SmtpMailer
from services.notify.channels.http import SmsChannel, WeComChannel
from services.notify.context import NotifyContext
from services.notify.delivery import api as delivery_api
from services.notify.delivery.handlers import Dispatcher
from services.notify.delivery.store import Deliveries
from services.notify.delivery.worker import DeliveryWorker
from services.notify.notices import api as notices_api
from services.notify.notices.channel import InboxChannel
from services.notify.notices.store import INBOX, Inbox
from services.notify.preferences import api as preferences_api
from services.notify.preferences.store import PreferenceStore
from services.notify.reminders.handlers import reminders_job
from services.notify.reminders.store import Reminders
from services.notify.routing.audience import Audiences, Registrations
from services.notify.routing.contacts import Contacts
from services.notify.routing.domain import ChannelName
from services.notify.routing.table import TABLE
from services.notify.settings import NotifySettings
from services.notify.subscriptions import subscriptions
from services.notify.templates import api as templates_api
from services.notify.templates.store import Templates
from services.notify.webhooks import api as webhooks_api
from services.notify.webhooks.wiring import install_webhooks
from shared.crypto import Box, Sealer
from shared.readmodels.member_directory import MemberDirectory
from shared.runtime import ServiceRuntime
from shared.scheduler import Every, Job

DESCRIPTION = "通知服务：站内信、邮件、企业微信与短信，模板、免打扰、提醒与投递状态。"


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[INBOX].create_index([("member_id", 1), ("created_at", -1)])
    await db[INBOX].create_index([("member_id", 1), ("read_at", 1)])
    await db["registrations"].create_index("activity_id")
    await Deliveries(db).setup_indexes()
    await Reminders(db).setup_indexes()
    await MemberDirectory(db).setup_indexes()
    await Announcements(db).setup_indexes()


def bootstrap(
    settings: NotifySettings | None = None,
    mailer: Mailer | None = None,
    configure_logs: bool = True,
) -> ServiceRuntime:
    settings = settings or NotifySettings()
    runtime = ServiceRuntime(
        settings,
        title="Gonghui 通知服务 notify",
        description=DESCRIPTION,
        routers=[
            notices_api.router,
            preferences_api.router,
            delivery_api.router,
            templates_api.router,
            webhooks_api.router,
            announcements_api.router,
            announcements_api.preview_router,
        ],
        setup_indexes=setup_indexes,
        configure_logs=configure_logs,
    )
    db = runtime.db
    inbox, deliveries, contacts = Inbox(db), Deliveries(db), Contacts(db)
    preferences, templates = PreferenceStore(db), Templates(db)
    directory, registrations = MemberDirectory(db), Registrations(db)
    reminders = Reminders(db)
    sealer = Sealer.from_file(settings.data_key_file)
    channels: dict[str, Channel] = {
        ChannelName.email: EmailChannel(mailer or SmtpMailer(settings)),
    }
    if settings.wecom_base_url:
        channels[ChannelName.wecom] = WeComChannel(settings)
    if settings.sms_base_url:
        channels[ChannelName.sms] = SmsChannel(settings)
    dispatcher = Dispatcher(
        table=TABLE,
        audiences=Audiences(db, registrations),
        contacts=contacts,
        preferences=preferences,
        templates=templates,
        inbox=InboxChannel(inbox),
        deliveries=deliveries,
        sealer=sealer,
        enabled=frozenset({ChannelName.inbox, *(ChannelName(c) for c in channels)}),
    )
    runtime.subscribe(
        subscriptions(
            dispatcher,
            contacts,
            directory,
            registrations,
            settings.web_base_url,
            Box.from_file(settings.link_private_key_file),
            sealer,
            reminders,
        )
    )
    # Reminders: the schedules notify keeps from its events, sent once per slot and replica-safe.
    runtime.schedule(
        Job(
            "notify.reminders",
            Every(settings.reminder_every_s),
            partial(reminders_job, reminders, dispatcher, TABLE),
        )
    )
    runtime.run_worker(
        DeliveryWorker(settings, deliveries, contacts, preferences, templates, channels, sealer)
    )
    webhooks = install_webhooks(runtime, settings, inbox)
    announcements = Announcements(db)
    fanout = AnnouncementFanout(
        db,
        announcements,
        inbox,
        deliveries,
        preferences,
        contacts,
        templates,
        dispatcher.enabled,
        batch=settings.announcement_batch,
        poll_s=settings.announcement_poll_s,
    )
    runtime.run_worker(fanout)
    runtime.context = NotifyContext(
        inbox=inbox,
        deliveries=deliveries,
        preferences=preferences,
        templates=templates,
        dispatcher=dispatcher,
        webhooks=webhooks,
        announcements=announcements,
        announcement_fanout=fanout,
    )
    return runtime
