"""Composition root of the members service."""

from __future__ import annotations

from services.members.accounts import api as accounts_api
from services.members.deps import MembersContext
from services.members.membership import api as membership_api
from services.members.membership.domain import Member
from services.members.membership.store import NOT_FOUND, TOPIC, MemberRegistry, setup_indexes
from services.members.settings import MembersSettings
from services.members.subscriptions import subscriptions
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
        routers=[membership_api.router, accounts_api.router],
        setup_indexes=setup_indexes,
        configure_logs=configure_logs,
    )
    members = runtime.aggregate(Member, name="members", topic=TOPIC, not_found=NOT_FOUND)
    runtime.subscribe(subscriptions())
    runtime.context = MembersContext(members=MemberRegistry(members))
    return runtime
