"""Composition root of the welfare service."""

from __future__ import annotations

from functools import partial

from pymongo.asynchronous.database import AsyncDatabase

from services.welfare.birthdays import api as birthdays_api
from services.welfare.birthdays import handlers as birthdays
from services.welfare.birthdays.domain import BIRTHDAY_FEN, BirthdayBenefit
from services.welfare.cases import api as cases_api
from services.welfare.cases import store as cases_store
from services.welfare.cases.domain import Case, Visit
from services.welfare.cases.handlers import Cases
from services.welfare.context import WelfareContext
from services.welfare.exams import api as exams_api
from services.welfare.exams import store as exams_store
from services.welfare.exams.handlers import Exams
from services.welfare.exams.store import ExamBook
from services.welfare.funds import api as funds_api
from services.welfare.funds import store as funds_store
from services.welfare.funds.chart import current_chart
from services.welfare.funds.handlers import Funds
from services.welfare.funds.store import Books, published_head
from services.welfare.hardship import api as hardship_api
from services.welfare.hardship import handlers as hardship
from services.welfare.hardship.domain import HardshipFile
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
from shared.scheduler import DailyAt, Every, Job, MonthlyOn

DESCRIPTION = "福利服务：经费预算与台账、节日福利发放、慰问、生日福利、体检预约、互助保障。"


async def setup_indexes(db: AsyncDatabase) -> None:
    await setup_directory_indexes(db)
    await funds_store.setup_indexes(db)
    await plans_store.setup_indexes(db)
    await CapBook(db, current_profile()).setup_indexes()
    await exams_store.setup_indexes(db)  # welfare-exams
    await mutualaid_store.setup_indexes(db)  # welfare-exams
    await cases_store.setup_indexes(db)  # welfare-care
    await birthdays.setup_indexes(db)  # welfare-care


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
            cases_api.router,  # welfare-care
            hardship_api.router,  # welfare-care
            birthdays_api.router,  # welfare-care
        ],
        setup_indexes=setup_indexes,
        configure_logs=configure_logs,
    )
    chart = current_chart()
    ledger_topic = settings.topic("welfare.ledger")
    anchor = published_head(settings.kafka_bootstrap, ledger_topic)
    funds = Funds(Books(runtime.db, runtime.outbox, chart=chart, anchor=anchor), chart)
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
    sealer = Sealer.from_file(settings.data_key_file)
    # welfare-care: cases, the hardship register and birthdays; their payments count against
    # the same cap book as the festival gifts.
    cases = care(runtime, sealer, directory, funds, caps)
    register = hardship.Register(
        runtime.aggregate(
            HardshipFile,
            name=hardship.HARDSHIP,
            topic=hardship.TOPIC,
            not_found=hardship.NOT_FOUND,
            sealer=sealer,
        ),
        directory,
    )
    gifts = birthdays.Birthdays(
        runtime.aggregate(
            BirthdayBenefit,
            name=birthdays.BIRTHDAYS,
            topic=birthdays.TOPIC,
            not_found=birthdays.NOT_FOUND,
        ),
        directory,
        caps,
        BIRTHDAY_FEN,
        funds,
    )
    runtime.subscribe(subscriptions(directory, funds, plans, cases))
    runtime.schedule(
        Job(
            "welfare.plan_deadlines",
            Every(settings.plan_deadline_check_s),
            partial(close_due_plans, plans),
        )
    )
    runtime.schedule(Job("welfare.birthdays", MonthlyOn(1, 7), partial(birthdays.run_month, gifts)))
    runtime.schedule(
        Job("welfare.birthdays.defaults", DailyAt(8), partial(birthdays.give_defaults, gifts))
    )
    exams = Exams(ExamBook(runtime.db, runtime.outbox), directory, funds)
    aid = MutualAid(MutualAidBook(runtime.db, runtime.outbox, sealer), directory, funds)
    runtime.subscribe(exams_routes(exams, aid))
    runtime.context = WelfareContext(
        funds=funds,
        policy=Policy(caps, directory),
        plans=plans,
        cases=cases,
        hardship=register,
        birthdays=gifts,
        exams=exams,
        mutual_aid=aid,
    )
    return runtime


def care(
    runtime: ServiceRuntime,
    sealer: Sealer,
    directory: MemberDirectory,
    funds: Funds,
    caps: CapBook,
) -> Cases:
    """welfare-care: condolence cases and their visits (notes sealed with welfare's key)."""
    return Cases(
        store=runtime.aggregate(
            Case,
            name=cases_store.CASES,
            topic=cases_store.CASE_TOPIC,
            not_found=cases_store.CASE_NOT_FOUND,
        ),
        visits=runtime.aggregate(
            Visit,
            name=cases_store.VISITS,
            topic=cases_store.VISIT_TOPIC,
            not_found=cases_store.VISIT_NOT_FOUND,
            sealer=sealer,
        ),
        directory=directory,
        funds=funds,
        caps=caps,
        db=runtime.db,
    )
