"""Composition root of the members service."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from services.members.accounts import api as accounts_api
from services.members.deps import MembersContext
from services.members.membership import api as membership_api
from services.members.membership import store as membership_store
from services.members.membership.domain import Member
from services.members.membership.store import MemberRegistry
from services.members.org import api as org_api
from services.members.org import store as org_store
from services.members.org.domain import Campus
from services.members.org.store import Organisation
from services.members.settings import MembersSettings
from services.members.subscriptions import subscriptions
from shared.audit import AuditLog
from shared.crypto import Sealer
from shared.runtime import ServiceRuntime

DESCRIPTION = "会员服务：会员、入会与会籍变动、部门与教工小家、工会角色、登录令牌。"


def bootstrap(
    settings: MembersSettings | None = None, configure_logs: bool = True
) -> ServiceRuntime:
    settings = settings or MembersSettings()

    async def setup_indexes(db: AsyncDatabase) -> None:
        await membership_store.setup_indexes(db)
        await AuditLog(db).setup_indexes()

    runtime = ServiceRuntime(
        settings,
        title="Gonghui 会员服务 members",
        description=DESCRIPTION,
        routers=[membership_api.router, org_api.router, accounts_api.router],
        setup_indexes=setup_indexes,
        configure_logs=configure_logs,
    )
    members = runtime.aggregate(
        Member,
        name=membership_store.MEMBERS,
        topic=membership_store.TOPIC,
        not_found=membership_store.NOT_FOUND,
        sealer=Sealer.from_file(settings.data_key_file),
    )
    campuses = runtime.aggregate(
        Campus, name=org_store.CAMPUSES, topic=org_store.TOPIC, not_found=org_store.NOT_FOUND
    )
    audit = AuditLog(runtime.db)
    runtime.subscribe(subscriptions())
    runtime.context = MembersContext(
        members=MemberRegistry(members), org=Organisation(campuses), audit=audit
    )
    return runtime
