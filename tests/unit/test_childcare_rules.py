"""Childcare survey rules, pure: age bands at the survey date, children, answers, the tally."""

from datetime import UTC, date, datetime

import pytest

from services.members.childcare.domain import (
    Answer,
    CareStatus,
    Child,
    OpenRound,
    RoundStatus,
    age_band,
    age_on,
    clean_children,
    latest_answers,
    needs_revision,
    open_round,
    tally,
)
from services.members.membership.domain import Member, MemberStatus
from shared.aggregate import AggregateStore, _diff
from shared.errors import Conflict
from shared.events.members import ChildcareRoundClosed, ChildcareRoundOpened, MemberUpdated

SURVEY = date(2026, 4, 15)


@pytest.mark.parametrize(
    ("born", "band"),
    [
        (date(2026, 4, 15), "0-2"),  # born on the survey date: 0
        (date(2023, 4, 16), "0-2"),  # 3 tomorrow: still 2
        (date(2023, 4, 15), "3-5"),  # 3 today
        (date(2020, 4, 16), "3-5"),
        (date(2020, 4, 15), "6-11"),
        (date(2014, 4, 16), "6-11"),
        (date(2014, 4, 15), "12+"),
        (date(1990, 1, 1), "12+"),
        (date(2026, 4, 16), None),  # not born yet on the survey date
    ],
)
def test_age_band_counts_completed_years_on_the_survey_date(born, band):
    assert age_band(born, SURVEY) == band


def test_a_leap_day_child_completes_a_year_on_the_first_of_march():
    born = date(2020, 2, 29)
    assert age_on(born, date(2023, 2, 28)) == 2
    assert age_on(born, date(2023, 3, 1)) == 3
    assert age_on(born, date(2024, 2, 29)) == 4


def child(name, born, status="kindergarten", institution=None) -> Child:
    return Child(name=name, birth_date=born, care_status=status, institution=institution)


def test_children_are_folded_deduplicated_and_sorted_oldest_first():
    cleaned = clean_children(
        [
            child(" 小明 ", date(2021, 5, 1), "kindergarten", " 实验幼儿园 "),
            child("小红", date(2018, 1, 1), "primary", "第一小学"),
            child("小明", date(2021, 5, 1), "kindergarten", "阳光幼儿园"),  # restated
            child("小宝", date(2025, 1, 1), "none", "某托育中心"),
        ]
    )
    assert [(c.name, c.institution) for c in cleaned] == [
        ("小红", "第一小学"),
        ("小明", "阳光幼儿园"),
        ("小宝", None),  # no institution without a care status
    ]


def member(**over) -> Member:
    base = {
        "id": "m-1",
        "campus": "main",
        "staff_no": "T1",
        "name": "王芳",
        "department": "艺术系",
        "status": MemberStatus.active,
    }
    return Member.model_validate({**base, **over})


def test_set_children_records_only_that_children_changed():
    m = member()
    m.set_children([child("小明", date(2021, 5, 1))])
    [event] = m.events
    assert isinstance(event, MemberUpdated) and event.changed == ["children"]
    assert "小明" not in event.model_dump_json()  # never a child's data in an event
    m.pull_events()
    m.set_children([child(" 小明", date(2021, 5, 1))])  # the same children: no change
    assert m.events == []


def test_children_never_show_in_the_history():
    before = AggregateStore.state_of(member())
    after_member = member()
    after_member.set_children([child("小明", date(2021, 5, 1))])
    after = AggregateStore.state_of(after_member)
    secret = Member.secret_fields | Member.private_fields
    assert _diff(before, after, secret) == {"children": {"from": "***", "to": "***"}}


def test_a_deceased_member_states_no_children():
    with pytest.raises(Conflict):
        member(status="deceased").set_children([])


def test_opening_and_closing_a_round_records_counts_only():
    found = open_round(OpenRound(campus="main", survey_date=SURVEY), date(2026, 4, 1))
    assert found.id == "cc-main-20260415" and found.title == "2026年教职工子女入园入托统计"
    [opened] = found.pull_events()
    assert isinstance(opened, ChildcareRoundOpened) and opened.round_id == found.id
    found.close(date(2026, 4, 30), answered=40, expected=52)
    [closed] = found.pull_events()
    assert isinstance(closed, ChildcareRoundClosed)
    assert (closed.answered, closed.expected, found.status) == (40, 52, RoundStatus.closed)
    with pytest.raises(Conflict) as refused:
        found.require_open()
    assert refused.value.code == "childcare.round_closed"


AT = datetime(2026, 4, 2, tzinfo=UTC)


def answer(member_id, revision, version, children, campus="main") -> Answer:
    return Answer("r", member_id, campus, revision, version, AT, children)


def test_the_answer_that_stands_is_the_one_read_from_the_newest_record():
    kids_v2 = [child("小明", date(2021, 5, 1))]
    kids_v3 = [child("小明", date(2021, 5, 1), "primary", "第一小学")]
    # Two confirmations raced around an edit: revision 2 was written last but read record 2.
    revisions = [answer("m-1", 1, 3, kids_v3), answer("m-1", 2, 2, kids_v2)]
    [standing] = latest_answers(revisions)
    assert standing.children == kids_v3
    assert not needs_revision(revisions, kids_v3, 3)  # confirming again: the same answer
    assert not needs_revision(revisions, kids_v2, 2)  # an older record adds nothing
    assert needs_revision(revisions, kids_v2, 4)  # changed since: a new revision
    assert needs_revision([], [], 1)  # the first answer, also of no children


def test_tally_by_campus_band_status_and_institution():
    answers = [
        answer(
            "m-1",
            1,
            2,
            [
                child("a", date(2024, 1, 1), "daycare", "小太阳托育"),
                child("b", date(2021, 9, 1), "kindergarten", "实验幼儿园"),
            ],
        ),
        answer("m-2", 1, 2, [child("c", date(2021, 3, 1), "kindergarten", "实验幼儿园")]),
        answer("m-3", 1, 2, [child("d", date(2017, 6, 1), "primary", "第一小学")]),
        answer("m-4", 1, 2, []),  # answered: no children
        answer("m-5", 1, 2, [child("e", date(2026, 5, 1), "none")]),  # born after the date
        answer("m-6", 1, 2, [child("f", date(2010, 6, 1), "none")], campus="north"),
    ]
    t = tally(answers, SURVEY)
    assert (t.answered, t.children, t.not_born_yet) == (6, 5, 1)
    assert [(g.campus, g.age_band, g.care_status, g.institution, g.count) for g in t.groups] == [
        ("main", "0-2", CareStatus.daycare, "小太阳托育", 1),
        ("main", "3-5", CareStatus.kindergarten, "实验幼儿园", 2),
        ("main", "6-11", CareStatus.primary, "第一小学", 1),
        ("north", "12+", CareStatus.none, "", 1),
    ]
    assert t.by_campus == {"main": 4, "north": 1}
    assert t.by_age_band == {"0-2": 1, "3-5": 2, "6-11": 1, "12+": 1}
    assert t.by_care_status == {"none": 1, "daycare": 1, "kindergarten": 2, "primary": 1}
    assert t.by_institution == {"实验幼儿园": 2, "小太阳托育": 1, "第一小学": 1}
