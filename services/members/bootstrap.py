"""Composition root of the members service."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from services.members.accounts import api as accounts_api
from services.members.accounts import store as accounts_store
from services.members.accounts.domain import Account
from services.members.accounts.handlers import AccountService, SignInSettings
from services.members.accounts.passwords import Passwords
from services.members.accounts.throttle import Limits, Slots, Throttles, sweep_job
from services.members.accounts.wecom import WeComConfig, WeComSignIn
from services.members.audit import api as audit_api
from services.members.audit.store import AuditTrail
from services.members.childcare import api as childcare_api
from services.members.childcare import store as childcare_store
from services.members.childcare.domain import Round
from services.members.childcare.store import Rounds
from services.members.context import MembersContext
from services.members.dues import api as dues_api
from services.members.dues import repair
from services.members.dues import store as dues_store
from services.members.dues.domain import DuesPolicy, Rounding
from services.members.dues.handlers import monthly_job
from services.members.dues.store import Ledger
from services.members.imports import api as imports_api
from services.members.imports.runner import ImportRunner, ImportWork
from services.members.imports.store import ImportStore
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
from shared.crypto import Sealer, load_recipient
from shared.reseal import ResealOnStart
from shared.runtime import ServiceRuntime
from shared.scheduler import Every, Job, JobRun, MonthlyOn
from shared.timeutil import utcnow

DESCRIPTION = (
    "会员服务：会员、入会与会籍变动、部门与教工小家、工会角色、入园入托统计、会费、"
    "账号与登录、审计日志。"
)


def bootstrap(
    settings: MembersSettings | None = None, configure_logs: bool = True
) -> ServiceRuntime:
    settings = settings or MembersSettings()

    async def setup_indexes(db: AsyncDatabase) -> None:
        await membership_store.setup_indexes(db)
        await accounts_store.setup_indexes(db)
        await trail.setup_indexes()  # (made below: this runs when the service starts)
        await AuditLog(db).setup_indexes()
        await childcare_store.setup_indexes(db)
        await dues_store.setup_indexes(db)

    runtime = ServiceRuntime(
        settings,
        title="Gonghui 会员服务 members",
        description=DESCRIPTION,
        routers=[
            membership_api.router,
            org_api.router,
            accounts_api.router,
            audit_api.router,
            imports_api.router,
            childcare_api.router,
            dues_api.router,
        ],
        setup_indexes=setup_indexes,
        configure_logs=configure_logs,
    )
    sealer = Sealer.from_file(settings.data_key_file)
    members = runtime.aggregate(
        Member,
        name=membership_store.MEMBERS,
        topic=membership_store.TOPIC,
        not_found=membership_store.NOT_FOUND,
        sealer=sealer,
    )
    campuses = runtime.aggregate(
        Campus, name=org_store.CAMPUSES, topic=org_store.TOPIC, not_found=org_store.NOT_FOUND
    )
    accounts = runtime.aggregate(
        Account,
        name=accounts_store.ACCOUNTS,
        topic=accounts_store.TOPIC,
        not_found=accounts_store.NOT_FOUND,
        sealer=sealer,  # the password hash is sealed at rest too
    )
    runtime.run_worker(ResealOnStart([members, accounts]))  # values sealed before the binding
    audit = AuditLog(runtime.db)
    trail = AuditTrail(runtime.db, {"members": members, "campuses": campuses})
    # The e-mail confirmation link travels sealed for notify; until notify has a key of its own
    # for what it mails, it is the data key.
    registry = MemberRegistry(members, settings.school_campus, mail_sealer=sealer)
    org = Organisation(campuses)
    imports = ImportStore(runtime.db, sealer)
    runner = ImportRunner(imports, registry, org)
    runtime.run_worker(runner)
    passwords = Passwords(
        time_cost=settings.password_hash_time_cost,
        memory_kib=settings.password_hash_memory_kib,
        concurrency=settings.password_hash_concurrency or None,
        queue=settings.password_hash_queue,
        wait_s=settings.password_hash_wait_s,
    )
    runtime.run_worker(passwords)  # its hashing threads end with the service
    throttle_slots = Slots(runtime.db)
    throttles = Throttles(
        throttle_slots,
        Limits.of(
            address_failures=settings.throttle_address_failures,
            account_attempts=settings.throttle_account_attempts,
            link_address=settings.throttle_link_address,
            link_account=settings.throttle_link_account,
            link_mails_per_minute=settings.login_link_mails_per_minute,
            link_mails_per_day=settings.login_link_mails_per_day,
            redeem_address_failures=settings.throttle_redeem_address_failures,
            in_flight=settings.throttle_in_flight,
            wecom_address_failures=settings.throttle_wecom_address_failures,
        ),
        trusted=settings.trusted_proxies,
    )
    account_service = AccountService(
        accounts=accounts,
        members=registry,
        failures=accounts_store.Failures(runtime.db),
        sessions=accounts_store.Sessions(runtime.db),
        links=accounts_store.LoginLinks(
            runtime.db, runtime.outbox, load_recipient(settings.link_public_key_file)
        ),
        one_time=accounts_store.OneTime(runtime.db),
        passwords=passwords,
        throttles=throttles,
        audit=audit,
        settings=SignInSettings(
            private_key_file=settings.auth_private_key_file,
            issuer=settings.auth_issuer,
            access_ttl_s=settings.access_token_ttl_s,
            refresh_ttl_s=settings.refresh_token_ttl_s,
            password_token_ttl_s=settings.password_token_ttl_s,
            school_campus=settings.school_campus,
        ),
        wecom=wecom_of(settings),
    )

    async def expire_locks(run: JobRun) -> None:
        await account_service.expire_locks()

    runtime.schedule(Job("account-unlocks", Every(60), expire_locks))

    async def sweep_import_rows(run: JobRun) -> None:
        await imports.sweep_rows(utcnow())

    runtime.schedule(Job("import-rows-sweep", Every(3600), sweep_import_rows))

    async def sweep_throttles(run: JobRun) -> None:
        await sweep_job(throttle_slots, account_service.clock)

    runtime.schedule(Job("sign-in-throttle-sweep", Every(600), sweep_throttles))
    rounds = runtime.aggregate(
        Round,
        name=childcare_store.ROUNDS,
        topic=childcare_store.TOPIC,
        not_found=childcare_store.NOT_FOUND,
    )
    ledger = Ledger(
        runtime.db,
        DuesPolicy(settings.dues_rate_bp, Rounding(settings.dues_rounding)),
        runtime.outbox,
    )
    # Bills on the 1st of every month from 06:00 (Asia/Shanghai), once across replicas.
    runtime.schedule(Job("dues-bills", MonthlyOn(1, 6), monthly_job(registry, ledger, audit)))
    # Payments and reversals a crash left unannounced, announced (welfare books them) once.
    runtime.schedule(
        Job(
            "dues-announcements",
            Every(repair.EVERY_S),
            repair.announce_job(ledger, audit, settings.dues_announce_window_days),
        )
    )
    runtime.subscribe(subscriptions())
    runtime.context = MembersContext(
        members=registry,
        org=org,
        audit=audit,
        childcare=Rounds(rounds),
        dues=ledger,
        accounts=account_service,
        trail=trail,
        imports=ImportWork(imports, runner),
        school_campus=settings.school_campus,
    )
    return runtime


def wecom_of(settings: MembersSettings) -> WeComSignIn | None:
    """WeCom sign-in, when switched on (the settings refuse it half-configured)."""
    if not settings.wecom_signin:
        return None
    return WeComSignIn(
        WeComConfig(
            base_url=settings.wecom_base_url,
            corp_id=settings.wecom_corp_id,
            secret=settings.wecom_secret,
            timeout_s=settings.wecom_timeout_s,
        )
    )
