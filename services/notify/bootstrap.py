"""Composition root of the notify service."""

from __future__ import annotations

from services.notify.channels.email import Mailer, SmtpMailer
from services.notify.context import NotifyContext
from services.notify.notices import api as notices_api
from services.notify.notices.contacts import Contacts
from services.notify.notices.store import Inbox, setup_indexes
from services.notify.settings import NotifySettings
from services.notify.subscriptions import subscriptions
from services.notify.webhooks import api as webhooks_api
from services.notify.webhooks.wiring import install_webhooks
from shared.crypto import Box, Sealer
from shared.runtime import ServiceRuntime

DESCRIPTION = "通知服务：站内信、邮件、企业微信与短信，模板、免打扰、提醒与投递状态。"


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
        routers=[notices_api.router, webhooks_api.router],
        setup_indexes=setup_indexes,
        configure_logs=configure_logs,
    )
    inbox = Inbox(runtime.db)
    contacts = Contacts(runtime.db)
    runtime.subscribe(
        subscriptions(
            inbox,
            contacts,
            mailer or SmtpMailer(settings),
            settings.web_base_url,
            Box.from_file(settings.link_private_key_file),
            Sealer.from_file(settings.data_key_file),
        )
    )
    webhooks = install_webhooks(runtime, settings, inbox)
    runtime.context = NotifyContext(inbox=inbox, webhooks=webhooks)
    return runtime
