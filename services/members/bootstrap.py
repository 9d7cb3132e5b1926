"""Composition root of the members service."""

from __future__ import annotations

from services.members import api
from services.members.handlers import ROUTES
from services.members.settings import MembersSettings
from services.members.store import MemberStore, setup_indexes
from shared.runtime import ServiceRuntime

DESCRIPTION = "会员服务：会员、入会与会籍变动、部门与教工小家、工会角色、登录令牌。"


def bootstrap(
    settings: MembersSettings | None = None, configure_logs: bool = True
) -> ServiceRuntime:
    settings = settings or MembersSettings()
    runtime = ServiceRuntime(
        settings,
        title="Gonghui 会员服务 members",
        description=DESCRIPTION,
        routers=[api.router],
        outbox_collections=["members"],
        setup_indexes=setup_indexes,
        configure_logs=configure_logs,
    )
    runtime.subscribe(ROUTES)
    runtime.app.state.member_store = MemberStore(runtime.db, settings.service, runtime.relay.wake)
    return runtime
