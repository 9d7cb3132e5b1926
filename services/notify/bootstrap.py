"""Composition root of the notify service."""

from __future__ import annotations

from services.notify import api
from services.notify.handlers import Mailer, routes
from services.notify.mailer import SmtpMailer
from services.notify.settings import NotifySettings
from services.notify.store import Inbox, setup_indexes
from shared.runtime import ServiceRuntime

DESCRIPTION = "通知服务：站内信、邮件、企业微信与短信，模板、免打扰、提醒与投递状态。"


def bootstrap(
    settings: NotifySettings | None = None,
    mailer: Mailer | None = None,
    configure_logs: bool = True,
) -> ServiceRuntime:
    settings = settings or NotifySettings()
    mailer = mailer or SmtpMailer(settings)
    runtime = ServiceRuntime(
        settings,
        title="Gonghui 通知服务 notify",
        description=DESCRIPTION,
        routers=[api.router],
        outbox_collections=[],
        setup_indexes=setup_indexes,
        configure_logs=configure_logs,
    )
    inbox = Inbox(runtime.db)
    runtime.subscribe(routes(inbox, mailer))
    runtime.app.state.inbox = inbox
    return runtime
