"""Composition root of the welfare service."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from services.welfare.context import WelfareContext
from services.welfare.funds import api as funds_api
from services.welfare.funds import store as funds_store
from services.welfare.funds.chart import current_chart
from services.welfare.funds.handlers import Funds
from services.welfare.funds.store import Books
from services.welfare.settings import WelfareSettings
from services.welfare.subscriptions import subscriptions
from shared.readmodels.member_directory import MemberDirectory, setup_directory_indexes
from shared.runtime import ServiceRuntime

DESCRIPTION = "福利服务：经费预算与台账、节日福利发放、慰问、生日福利、体检预约、互助保障。"


async def setup_indexes(db: AsyncDatabase) -> None:
    await setup_directory_indexes(db)
    await funds_store.setup_indexes(db)


def bootstrap(
    settings: WelfareSettings | None = None, configure_logs: bool = True
) -> ServiceRuntime:
    settings = settings or WelfareSettings()
    runtime = ServiceRuntime(
        settings,
        title="Gonghui 福利服务 welfare",
        description=DESCRIPTION,
        routers=[funds_api.router],
        setup_indexes=setup_indexes,
        configure_logs=configure_logs,
    )
    chart = current_chart()
    funds = Funds(Books(runtime.db, runtime.outbox, chart=chart), chart)
    runtime.subscribe(subscriptions(MemberDirectory(runtime.db), funds))
    runtime.context = WelfareContext(funds=funds)
    return runtime
