"""Platform seams without I/O: routing declarations, job slots, domain error mapping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.envelope import CloudEvent
from shared.errors import ConcurrencyConflict, Conflict, Invalid, NotFound, Refused
from shared.events import REGISTRY, load_all
from shared.events.members import MemberJoined, MemberWithdrawn
from shared.routing import on, on_topic, route_table
from shared.scheduler import DailyAt, Every, MonthlyOn


async def on_member_joined(event: MemberJoined, envelope: CloudEvent) -> None:
    """Same bare name as shared.readmodels.member_directory.on_member_joined, another module."""


def test_handler_names_carry_their_module_so_same_named_handlers_both_run():
    from shared.readmodels.member_directory import MemberDirectory, member_directory_routes

    theirs = member_directory_routes(MemberDirectory({"member_directory": None}))  # type: ignore[arg-type]
    mine = on(MemberJoined, on_member_joined)
    table = route_table([*theirs, mine])
    names = [r.name for r in table.by_type[MemberJoined.type]]
    assert names == [
        "shared.readmodels.member_directory.on_member_joined",
        f"{__name__}.on_member_joined",
    ]


def test_subscribing_one_handler_twice_to_one_event_fails_at_start_up():
    with pytest.raises(ValueError, match="subscribed twice"):
        route_table([on(MemberJoined, on_member_joined), on(MemberJoined, on_member_joined)])


def test_topic_routes_see_every_event_of_their_topic_first():
    async def project(envelope: CloudEvent) -> None: ...

    table = route_table([on(MemberJoined, on_member_joined), on_topic("members.member", project)])
    joined = table.for_event("members.member", MemberJoined.type)
    withdrawn = table.for_event("members.member", MemberWithdrawn.type)
    assert [r.event for r in joined] == [None, MemberJoined]
    assert [r.event for r in withdrawn] == [None]
    assert table.topics == ["members.member"]


def test_contract_modules_are_discovered_not_listed():
    registry = load_all()
    assert registry is REGISTRY and MemberWithdrawn.type in registry


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("x.not_found", "未找到"), 404),
        (Conflict("x.state", "状态不允许"), 409),
        (Refused("x.ineligible", "不符合条件"), 422),
        (Invalid("x.invalid", "格式不正确"), 422),
        (ConcurrencyConflict("m-1"), 409),
    ],
)
def test_each_kind_of_domain_error_has_one_status(error, status):
    assert error.status == status and error.code and error.message


def test_job_slots():
    at = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)  # 08:30 Shanghai, a Friday
    assert DailyAt(7).slot(at) == "2026-11-27"
    assert DailyAt(9).slot(at) is None
    assert DailyAt(7).slot(datetime(2026, 11, 26, 23, 30, tzinfo=UTC)) == "2026-11-27"
    assert MonthlyOn(1, 6).slot(at) == "2026-11"
    assert MonthlyOn(28).slot(at) is None
    assert Every(60).slot(at) == Every(60).slot(at.replace(second=59))
    assert Every(60).slot(at) != Every(60).slot(at.replace(minute=31))
