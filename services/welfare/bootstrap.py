"""Composition root of the welfare service."""

from __future__ import annotations

from functools import partial

from pymongo.asynchronous.database import AsyncDatabase

from services.welfare.birthdays import api as birthdays_api
from services.welfare.birthdays import handlers as birthdays
from services.welfare.birthdays.domain import BirthdayBenefit
from services.welfare.cases import api as cases_api
from services.welfare.cases import store as cases_store
from services.welfare.cases.caps import InterimCaps, interim_table
from services.welfare.cases.domain import Case, Visit
from services.welfare.cases.handlers import Cases
from services.welfare.context import WelfareContext
from services.welfare.funds import api as funds_api
from services.welfare.funds import store as funds_store
from services.welfare.funds.chart import current_chart
from services.welfare.funds.handlers import Funds
from services.welfare.funds.store import Books
from services.welfare.hardship import api as hardship_api
from services.welfare.hardship import handlers as hardship
from services.welfare.hardship.domain import HardshipFile
from services.welfare.settings import WelfareSettings
from services.welfare.subscriptions import subscriptions
from shared.crypto import Sealer
from shared.readmodels.member_directory import MemberDirectory, setup_directory_indexes
from shared.runtime import ServiceRuntime
from shared.scheduler import DailyAt, Job, MonthlyOn

DESCRIPTION = "福利服务：经费预算与台账、节日福利发放、慰问、生日福利、体检预约、互助保障。"


async def setup_indexes(db: AsyncDatabase) -> None:
    await setup_directory_indexes(db)
    await funds_store.setup_indexes(db)
    await cases_store.setup_indexes(db)
    await InterimCaps(db).setup_indexes()
    await birthdays.setup_indexes(db)


def bootstrap(
    settings: WelfareSettings | None = None, configure_logs: bool = True
) -> ServiceRuntime:
    settings = settings or WelfareSettings()
    runtime = ServiceRuntime(
        settings,
        title="Gonghui 福利服务 welfare",
        description=DESCRIPTION,
        routers=[funds_api.router, cases_api.router, hardship_api.router, birthdays_api.router],
        setup_indexes=setup_indexes,
        configure_logs=configure_logs,
    )
    funds = Funds(Books(runtime.db, runtime.outbox), current_chart())
    directory = MemberDirectory(runtime.db)
    cases = care(runtime, settings, directory, funds)
    register = hardship.Register(
        runtime.aggregate(
            HardshipFile,
            name=hardship.HARDSHIP,
            topic=hardship.TOPIC,
            not_found=hardship.NOT_FOUND,
            sealer=Sealer.from_file(settings.data_key_file),
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
        cases.caps,
        interim_table().birthday_fen,
    )
    runtime.schedule(Job("welfare.birthdays", MonthlyOn(1, 7), partial(birthdays.run_month, gifts)))
    runtime.schedule(
        Job("welfare.birthdays.defaults", DailyAt(8), partial(birthdays.give_defaults, gifts))
    )
    runtime.subscribe(subscriptions(directory, funds, cases))
    runtime.context = WelfareContext(funds=funds, cases=cases, hardship=register, birthdays=gifts)
    return runtime


def care(
    runtime: ServiceRuntime, settings: WelfareSettings, directory: MemberDirectory, funds: Funds
) -> Cases:
    """welfare-care: condolence cases and their visits (notes sealed with welfare's key)."""
    sealer = Sealer.from_file(settings.data_key_file)
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
        caps=InterimCaps(runtime.db),
        table=interim_table(),
        db=runtime.db,
    )
