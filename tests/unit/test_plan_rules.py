"""Annual plan rules without I/O: the source table, overdue items, the month summary, copies,
status moves and their events."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from services.events.plans.domain import (
    EditItem,
    ItemStatus,
    ItemText,
    Link,
    LinkKind,
    PlanItem,
    copy_into_next_year,
    month_span,
    month_summary,
    new_plan,
    overdue,
    plan_from_source,
    plan_id_for,
)
from services.events.plans.store import source_plan
from shared.errors import Conflict, NotFound
from shared.events.events import PlanCreated, PlanItemAdded, PlanItemChanged, PlanItemStatusChanged

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
SEED = Path(__file__).resolve().parents[3] / "shared" / "seed"


def item(
    month_from: int, month_to: int | None = None, status: ItemStatus = ItemStatus.planned
) -> PlanItem:
    return PlanItem(
        id=f"{month_from:02d}",
        month_from=month_from,
        month_to=month_to or month_from,
        title="t",
        status=status,
    )


def test_ids_are_derived_from_year_and_scope():
    assert plan_id_for(2023, "*") == "pl-2023"
    assert plan_id_for(2024, "main") == "pl-2024-main"


def test_the_data_file_has_every_row_of_the_2023_table_with_its_month():
    plan = source_plan(2023)
    months = {(i.month_from, i.month_to) for i in plan.items}
    assert {(m, m) for m in (2, 3, 4, 5, 6, 9, 10, 11, 12)} | {(7, 8)} <= months
    titles = [i.title for i in plan.items]
    assert len(titles) == len(set(titles)) == 21
    for title, month in [
        ("无偿献血", 3),
        ("踏青赏春活动", 4),
        ("新教师入会工作", 7),
        ("教职工趣味运动会", 10),
        ("教代会", 12),
    ]:
        assert any(i.title == title and i.month_from == month for i in plan.items), title
    seed = sorted(SEED.glob("000_*.txt")) if SEED.is_dir() else []
    if not seed:
        pytest.skip("the source work plan (../shared/seed) is not next to this checkout")
    text = seed[0].read_text("utf-8")
    table = text[text.rindex("附件：2023年度工会工作要点") :]
    for line in table.splitlines():
        if re.match(r"^\d+(-\d+)?月\t", line):
            label, tasks = line.split("\t")[:2]
            first, _, last = label.removesuffix("月").partition("-")
            mine = [i for i in plan.items if i.source.startswith(label + "\t")]
            assert mine, label
            assert all((i.month_from, i.month_to) == (int(first), int(last or first)) for i in mine)
            for i in mine:  # each task of the row is one item, in the row's words
                assert i.title in tasks


def test_loading_the_source_table_makes_the_school_wide_plan_and_its_events():
    plan = plan_from_source(source_plan(2023), "admin", NOW)
    assert plan.id == "pl-2023" and plan.campus == "*" and len(plan.items) == 21
    events = plan.events
    assert isinstance(events[0], PlanCreated) and events[0].items == 21
    assert sum(isinstance(e, PlanItemAdded) for e in events) == 21


@pytest.mark.parametrize(
    ("year", "months", "status", "today", "late"),
    [
        (2026, (3, 3), ItemStatus.planned, date(2026, 3, 31), False),  # its month is not over
        (2026, (3, 3), ItemStatus.planned, date(2026, 4, 1), True),
        (2026, (3, 3), ItemStatus.in_progress, date(2026, 4, 1), True),
        (2026, (3, 3), ItemStatus.done, date(2026, 4, 1), False),
        (2026, (3, 3), ItemStatus.cancelled, date(2027, 1, 1), False),
        (2026, (7, 8), ItemStatus.planned, date(2026, 8, 20), False),  # a span: its last month
        (2026, (7, 8), ItemStatus.planned, date(2026, 9, 1), True),
        (2025, (12, 12), ItemStatus.planned, date(2026, 1, 1), True),  # last year's December
        (2027, (1, 1), ItemStatus.planned, date(2026, 12, 31), False),
    ],
)
def test_overdue_is_a_past_last_month_and_not_done(year, months, status, today, late):
    first, last = months
    assert overdue(year, item(first, last, status=status), today) is late


def test_the_month_summary_counts_done_overdue_and_upcoming_by_the_month_due():
    items = [
        item(2, status=ItemStatus.done),
        item(2),
        item(3, status=ItemStatus.cancelled),
        PlanItem(id="09", month_from=7, month_to=8, title="t"),
        item(4, status=ItemStatus.in_progress),
        item(4),
    ]
    summary = {m.month: m for m in month_summary(2026, items, date(2026, 4, 15))}
    assert sorted(summary) == [2, 3, 4, 8]
    assert (summary[2].done, summary[2].overdue, summary[2].upcoming) == (1, 1, 0)
    assert summary[3].cancelled == 1 and summary[3].overdue == 0
    assert (summary[4].upcoming, summary[4].overdue) == (2, 0)
    assert summary[8].upcoming == 1


def test_a_copy_keeps_the_months_and_starts_over():
    plan = plan_from_source(source_plan(2023), "admin", NOW)
    plan.pull_events()
    plan.move_item("04", ItemStatus.done, NOW)
    plan.link("04", Link(kind=LinkKind.activity, id="a-0123456789ab"), NOW)
    copy = copy_into_next_year(plan, "cadre", NOW)
    assert copy.id == "pl-2024" and copy.year == 2024 and copy.copied_from == "pl-2023"
    assert copy.title == "2024年度工会工作要点"
    assert [(i.id, i.month_from, i.month_to, i.title) for i in copy.items] == [
        (i.id, i.month_from, i.month_to, i.title) for i in plan.items
    ]
    assert all(i.status is ItemStatus.planned and not i.links for i in copy.items)
    campus = new_plan(2025, "east", None, [], "c", NOW)
    assert copy_into_next_year(campus, "c", NOW).id == "pl-2026-east"


def test_status_moves_and_refusals():
    plan = new_plan(2026, "main", None, [], "c", NOW)
    added = plan.add_item(ItemText(month_from=5, title="端午福利"), NOW)
    assert added.id == "01" and added.month_to == 5
    assert plan.add_item(ItemText(month_from=7, month_to=8, title="入会"), NOW).id == "02"
    plan.pull_events()
    plan.move_item("01", ItemStatus.in_progress, NOW)
    plan.move_item("01", ItemStatus.done, NOW)
    [first, second] = plan.pull_events()
    assert isinstance(first, PlanItemStatusChanged) and isinstance(second, PlanItemStatusChanged)
    assert (first.status, second.previous, second.status) == ("in_progress", "in_progress", "done")
    plan.move_item("01", ItemStatus.done, NOW)  # already there: nothing
    assert plan.events == []
    with pytest.raises(Conflict) as refused:
        plan.move_item("01", ItemStatus.cancelled, NOW)
    assert refused.value.code == "plan.invalid_transition"
    plan.move_item("02", ItemStatus.cancelled, NOW)
    with pytest.raises(Conflict):
        plan.move_item("02", ItemStatus.done, NOW)
    with pytest.raises(NotFound):
        plan.move_item("99", ItemStatus.done, NOW)
    assert plan.item("01").revision == 2 and plan.item("02").revision == 1


def test_edits_record_what_changed_and_months_stay_in_order():
    plan = new_plan(2026, "main", None, [], "c", NOW)
    plan.add_item(ItemText(month_from=3, title="妇女节"), NOW)
    plan.pull_events()
    plan.edit_item("01", EditItem(month_from=6), NOW)  # a one-month item moves whole
    [event] = plan.pull_events()
    assert isinstance(event, PlanItemChanged)
    assert event.changed == ["month_from", "month_to"] and (event.month_from, event.month_to) == (
        6,
        6,
    )
    plan.edit_item("01", EditItem(title="妇女节"), NOW)
    assert plan.events == []
    with pytest.raises(Conflict) as refused:
        plan.edit_item("01", EditItem(month_to=2), NOW)
    assert refused.value.code == "plan.invalid_months"
    with pytest.raises(Conflict):
        plan.add_item(ItemText(month_from=11, month_to=1, title="跨年"), NOW)


def test_links_are_kept_once():
    plan = new_plan(2026, "main", None, [], "c", NOW)
    plan.add_item(ItemText(month_from=9, title="中秋国庆福利"), NOW)
    plan.pull_events()
    link = Link(kind=LinkKind.welfare_plan, id="wp-2026-mid-autumn")
    plan.link("01", link, NOW)
    plan.link("01", link, NOW)
    assert len(plan.item("01").links) == 1 and len(plan.pull_events()) == 1
    plan.unlink("01", link, NOW)
    assert plan.item("01").links == [] and len(plan.pull_events()) == 1


def test_an_items_days_in_a_calendar():
    assert month_span(2026, item(7, 8)) == (date(2026, 7, 1), date(2026, 9, 1))
    assert month_span(2026, item(12)) == (date(2026, 12, 1), date(2027, 1, 1))
