"""The survey rules and results arithmetic, pure: questions checked, answers checked, counts
and percentages, rating averages, Borda scores, response rates with small groups merged, an
anonymous survey's answers withheld until it closes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.events.surveys.domain import (
    NewSurvey,
    QuestionIn,
    check_answers,
    draft,
    results_disclosed,
)
from services.events.surveys.results import MERGED, borda, table, tally, turnout, withheld
from shared.errors import Conflict, Invalid


def _survey(anonymous: bool = False):
    cmd = NewSurvey(
        title="暑期教工活动意见征集",
        campus="main",
        anonymous=anonymous,
        opens_at=datetime(2026, 6, 1, tzinfo=UTC),
        closes_at=datetime(2026, 6, 20, tzinfo=UTC),
        questions=[
            QuestionIn(kind="single", title="形式", options=["旅游", "运动", "读书会"]),
            QuestionIn(
                kind="multiple", title="时间", options=["A", "B", "C"], min_choices=1, max_choices=2
            ),
            QuestionIn(kind="rating", title="满意度", scale=5),
            QuestionIn(kind="ranking", title="地点", options=["苏州", "杭州", "南京"]),
            QuestionIn(kind="text", title="建议", required=False),
        ],
    )
    return draft("sv-000000000001", cmd, "cadre")


def test_answers_are_checked_against_their_questions():
    survey = _survey()
    ok = check_answers(survey, {"q1": 1, "q2": [2, 0], "q3": 5, "q4": [2, 0, 1], "q5": " 好 "})
    assert ok == {"q1": 1, "q2": [0, 2], "q3": 5, "q4": [2, 0, 1], "q5": "好"}
    bad = [
        ({"q2": [0], "q3": 5, "q4": [0, 1, 2]}, "answer.required"),
        ({"q1": 3, "q2": [0], "q3": 5, "q4": [0, 1, 2]}, "answer.not_an_option"),
        ({"q1": 0, "q2": [0, 1, 2], "q3": 5, "q4": [0, 1, 2]}, "answer.choices_count"),
        ({"q1": 0, "q2": [0], "q3": 6, "q4": [0, 1, 2]}, "answer.score_range"),
        ({"q1": 0, "q2": [0], "q3": 5, "q4": [0, 1]}, "answer.ranking_incomplete"),
        ({"q1": 0, "q2": [0, 0], "q3": 5, "q4": [0, 1, 2]}, "answer.option_twice"),
        ({"q1": 0, "q2": [0], "q3": 5, "q4": [0, 1, 2], "q9": 1}, "answer.unknown_question"),
    ]
    for given, code in bad:
        with pytest.raises(Invalid) as refused:
            check_answers(survey, given)
        assert refused.value.code == code


def test_a_choice_question_needs_two_options():
    with pytest.raises(Conflict, match="至少需要两个选项"):
        draft(
            "sv-000000000002",
            NewSurvey(
                title="t",
                campus="main",
                opens_at=datetime(2026, 6, 1, tzinfo=UTC),
                closes_at=datetime(2026, 6, 2, tzinfo=UTC),
                questions=[QuestionIn(kind="single", title="x", options=["只有一个"])],
            ),
            "cadre",
        )


def test_counts_percentages_averages_and_borda():
    survey = _survey()
    answers = [
        {"q1": 0, "q2": [0, 1], "q3": 5, "q4": [0, 1, 2], "q5": "乙"},
        {"q1": 0, "q2": [1], "q3": 4, "q4": [1, 0, 2]},
        {"q1": 2, "q2": [1, 2], "q3": 3, "q4": [0, 2, 1], "q5": "甲"},
        {"q1": 1, "q3": 4, "q4": [0, 1, 2]},  # q2 left out (as an optional would be)
    ]
    got = tally(survey, answers)
    assert got["respondents"] == 4
    single, multiple, rating, ranking, text = got["questions"]
    assert [o["count"] for o in single["options"]] == [2, 1, 1]
    assert [o["percent"] for o in single["options"]] == [50.0, 25.0, 25.0]
    assert multiple["answered"] == 3
    assert [o["count"] for o in multiple["options"]] == [1, 3, 1]
    assert [o["percent"] for o in multiple["options"]] == [33.3, 100.0, 33.3]
    assert rating["average"] == 4.0
    assert [d["count"] for d in rating["distribution"]] == [0, 0, 1, 2, 1]
    # Borda: 苏州 2+1+2+2 = 7, 杭州 1+2+0+1 = 4, 南京 0+0+1+0 = 1
    assert [(r["label"], r["score"], r["rank"]) for r in ranking["ranking"]] == [
        ("苏州", 7, 1),
        ("杭州", 4, 2),
        ("南京", 1, 3),
    ]
    assert text["texts"] == sorted(["乙", "甲"])


def test_borda_ties_share_a_rank():
    got = borda(["甲", "乙", "丙"], [[0, 1, 2], [1, 0, 2]])
    assert [(r["label"], r["rank"]) for r in got] == [("甲", 1), ("乙", 1), ("丙", 3)]


def test_turnout_per_campus_and_department():
    audience = [("main", "艺术系")] * 10 + [("main", "音乐系")] * 4 + [("east", "体育系")] * 6
    answered = [("main", "艺术系")] * 6 + [("main", "音乐系")] * 2 + [("east", "体育系")] * 5
    named = turnout(audience, answered, anonymous=False)
    assert (named["audience"], named["answered"], named["rate"]) == (20, 13, 65.0)
    rows = {r["group"]: (r["answered"], r["rate"]) for r in named["departments"]}
    assert rows == {"main/艺术系": (6, 60.0), "main/音乐系": (2, 50.0), "east/体育系": (5, 83.3)}


def test_an_anonymous_survey_merges_groups_under_five():
    audience = [("main", "艺术系")] * 10 + [("main", "音乐系")] * 4 + [("main", "体育系")] * 6
    answered = [("main", "艺术系")] * 8 + [("main", "音乐系")] * 2 + [("main", "体育系")] * 1
    rows = turnout(audience, answered, anonymous=True)["departments"]
    # 2 + 1 answers are still fewer than five: the smallest shown group joins them.
    assert [(r["group"], r["answered"]) for r in rows] == [(MERGED, 11)]
    assert all(r["answered"] == 0 or r["answered"] >= 5 for r in rows)
    # Two small groups that add up to five stand merged beside the big one.
    answered = [("main", "艺术系")] * 8 + [("main", "音乐系")] * 3 + [("main", "体育系")] * 2
    rows = turnout(audience, answered, anonymous=True)["departments"]
    assert [(r["group"], r["answered"], r["audience"]) for r in rows] == [
        ("main/艺术系", 8, 10),
        (MERGED, 5, 10),
    ]


@pytest.mark.parametrize(
    ("anonymous", "closed", "disclosed"),
    [(False, False, True), (False, True, True), (True, False, False), (True, True, True)],
)
def test_an_anonymous_survey_shows_what_was_answered_only_once_closed(anonymous, closed, disclosed):
    assert results_disclosed(anonymous=anonymous, closed=closed) is disclosed


def test_withheld_results_and_their_export_say_how_many_answered_and_nothing_more():
    survey = _survey(anonymous=True)
    got = withheld(7)
    assert got == {"respondents": 7, "questions": [], "withheld_until_close": True}
    header, rows = table(survey, got)
    assert header[:2] == ["题号", "题目"]
    # 2026-06-20 00:00 UTC is 08:00 in Beijing, the time the cadre reads.
    assert rows == [
        [None, "匿名问卷的结果在截止（2026-06-20 08:00）后公布，目前已有 7 人作答"] + [None] * 4
    ]


def test_disclosed_results_export_one_row_per_option_score_place_and_text():
    survey = _survey(anonymous=True)
    answers = [{"q1": 0, "q2": [1], "q3": 4, "q4": [0, 1, 2], "q5": "甲"}]
    _, rows = table(survey, {**tally(survey, answers), "withheld_until_close": False})
    assert len(rows) == 3 + 3 + (5 + 1) + 3 + 1
    assert ["q1", "形式", "单选", "旅游", 1, 100.0] in rows
    assert ["q5", "建议", "填空", "甲", None, None] in rows
