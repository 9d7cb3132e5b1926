"""Composition root of the welfare service."""

from __future__ import annotations

from functools import partial

from pymongo.asynchronous.database import AsyncDatabase

from services.welfare.context import WelfareContext
from services.welfare.exams import api as exams_api
from services.welfare.exams import store as exams_store
from services.welfare.exams.handlers import Exams
from services.welfare.exams.store import ExamBook
from services.welfare.funds import api as funds_api
from services.welfare.funds import store as funds_store
from services.welfare.funds.chart import current_chart
from services.welfare.funds.handlers import Funds
from services.welfare.funds.store import Books
from services.welfare.mutualaid import api as mutualaid_api
from services.welfare.mutualaid import store as mutualaid_store
from services.welfare.mutualaid.handlers import MutualAid
from services.welfare.mutualaid.store import MutualAidBook
from services.welfare.plans import api as plans_api
from services.welfare.plans import store as plans_store
from services.welfare.plans.domain import Entitlement, Plan
from services.welfare.plans.handlers import Plans, close_due_plans
from services.welfare.policy import api as policy_api
from services.welfare.policy.caps import CapBook
from services.welfare.policy.handlers import Policy
from services.welfare.policy.profile import current_profile
from services.welfare.settings import WelfareSettings
from services.welfare.subscriptions import exams_routes, subscriptions
from shared.crypto import Sealer
from shared.readmodels.member_directory import MemberDirectory, setup_directory_indexes
from shared.runtime import ServiceRuntime
from shared.scheduler import Every, Job

DESCRIPTION = "福利服务：经费预算与台账、节日福利发放、慰问、生日福利、体检预约、互助保障。"


async def setup_indexes(db: AsyncDatabase) -> None:
    await setup_directory_indexes(db)
    await funds_store.setup_indexes(db)
    await plans_store.setup_indexes(db)
    await CapBook(db, current_profile()).setup_indexes()
    await exams_store.setup_indexes(db)  # welfare-exams
    await mutualaid_store.setup_indexes(db)  # welfare-exams


def bootstrap(
    settings: WelfareSettings | None = None, configure_logs: bool = True
) -> ServiceRuntime:
    settings = settings or WelfareSettings()
    runtime = ServiceRuntime(
        settings,
        title="Gonghui 福利服务 welfare",
        description=DESCRIPTION,
        routers=[
            funds_api.router,
            policy_api.router,
            plans_api.router,
            exams_api.router,
            mutualaid_api.router,
        ],
        setup_indexes=setup_indexes,
        configure_logs=configure_logs,
    )
    chart = current_chart()
    funds = Funds(Books(runtime.db, runtime.outbox, chart=chart), chart)
    directory = MemberDirectory(runtime.db)
    caps = CapBook(runtime.db, current_profile())
    plans = Plans(
        plans=runtime.aggregate(
            Plan,
            name=plans_store.PLANS,
            topic="welfare.plan",
            not_found=("plan.not_found", "福利发放方案不存在"),
        ),
        entitlements=runtime.aggregate(
            Entitlement,
            name=plans_store.ENTITLEMENTS,
            topic="welfare.entitlement",
            not_found=("entitlement.not_found", "福利资格不存在"),
        ),
        caps=caps,
        directory=directory,
        funds=funds,
        capped=runtime.db[plans_store.CAPPED],
        distributed=runtime.db[plans_store.DISTRIBUTED],
        profile=current_profile(),
    )
    runtime.subscribe(subscriptions(directory, funds, plans))
    runtime.schedule(
        Job(
            "welfare.plan_deadlines",
            Every(settings.plan_deadline_check_s),
            partial(close_due_plans, plans),
        )
    )
    exams = Exams(ExamBook(runtime.db, runtime.outbox), directory, funds)
    sealer = Sealer.from_file(settings.data_key_file)
    aid = MutualAid(MutualAidBook(runtime.db, runtime.outbox, sealer), directory, funds)
    runtime.subscribe(exams_routes(exams, aid))
    runtime.context = WelfareContext(
        funds=funds, policy=Policy(caps, directory), plans=plans, exams=exams, mutual_aid=aid
    )
    return runtime
