"""Composition root of the welfare service."""

from __future__ import annotations

from services.welfare.settings import WelfareSettings
from services.welfare.subscriptions import subscriptions
from shared.readmodels.member_directory import MemberDirectory, setup_directory_indexes
from shared.runtime import ServiceRuntime

DESCRIPTION = "福利服务：经费预算与台账、节日福利发放、慰问、生日福利、体检预约、互助保障。"


def bootstrap(
    settings: WelfareSettings | None = None, configure_logs: bool = True
) -> ServiceRuntime:
    settings = settings or WelfareSettings()
    runtime = ServiceRuntime(
        settings,
        title="Gonghui 福利服务 welfare",
        description=DESCRIPTION,
        routers=[],
        setup_indexes=setup_directory_indexes,
        configure_logs=configure_logs,
    )
    runtime.subscribe(subscriptions(MemberDirectory(runtime.db)))
    return runtime
