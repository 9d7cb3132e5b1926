"""Composition root of the events service."""

from __future__ import annotations

from services.events.settings import EventsSettings
from services.events.subscriptions import subscriptions
from shared.projections import MemberDirectory, setup_directory_indexes
from shared.runtime import ServiceRuntime

DESCRIPTION = (
    "活动服务：年度工作计划、活动报名与候补、签到与成绩、问卷与意见征集、评选表彰、教代会与提案。"
)


def bootstrap(
    settings: EventsSettings | None = None, configure_logs: bool = True
) -> ServiceRuntime:
    settings = settings or EventsSettings()
    runtime = ServiceRuntime(
        settings,
        title="Gonghui 活动服务 events",
        description=DESCRIPTION,
        routers=[],
        setup_indexes=setup_directory_indexes,
        configure_logs=configure_logs,
    )
    runtime.subscribe(subscriptions(MemberDirectory(runtime.db)))
    return runtime
