"""The pure parts of the survey pages: the builder's lines, the member's form, the bars."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from services.web.pages.voice import (
    EXAMPLE,
    BuildError,
    answers_from_form,
    bars,
    chart_of,
    parse_questions,
)


def test_the_builder_reads_every_kind():
    got = parse_questions(EXAMPLE)
    assert [q["kind"] for q in got] == ["single", "multiple", "rating", "ranking", "text"]
    assert got[1]["min_choices"] == 1 and got[1]["max_choices"] == 2
    assert got[2]["scale"] == 5
    assert got[4]["required"] is False and "options" not in got[4]
    assert got[0]["options"] == ["外出疗休养", "文体比赛", "读书会", "亲子活动"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("问答 | 题目", "题型须是"),
        ("单选 | 题目 | 只有一个", "至少需要两个选项"),
        ("填空 | 题目 | 多余", "不设选项"),
        ("单选", "缺少题目"),
        ("评分 十 | 满意度", "看不懂"),
        ("   \n", "至少写一道题"),
    ],
)
def test_the_builder_names_the_line_it_cannot_read(text, says):
    with pytest.raises(BuildError, match=says):
        parse_questions(text)


SURVEY = {
    "questions": [
        {"id": "q1", "kind": "single", "title": "形式", "options": ["a", "b"]},
        {"id": "q2", "kind": "multiple", "title": "时间", "options": ["a", "b", "c"]},
        {"id": "q3", "kind": "rating", "title": "满意度", "options": []},
        {"id": "q4", "kind": "ranking", "title": "地点", "options": ["甲", "乙", "丙"]},
        {"id": "q5", "kind": "text", "title": "建议", "options": []},
    ]
}


def test_the_member_form_becomes_the_answers():
    form = FormData(
        [
            ("q1", "1"),
            ("q2", "0"),
            ("q2", "2"),
            ("q3", "4"),
            ("q4_0", "2"),
            ("q4_1", "3"),
            ("q4_2", "1"),
            ("q5", "  多办读书会 "),
        ]
    )
    assert answers_from_form(SURVEY, form) == {
        "q1": 1,
        "q2": [0, 2],
        "q3": 4,
        "q4": [2, 0, 1],  # 丙 first, then 甲, then 乙
        "q5": "多办读书会",
    }
    assert answers_from_form(SURVEY, FormData([])) == {}
    with pytest.raises(BuildError, match="不同的名次"):
        answers_from_form(SURVEY, FormData([("q4_0", "1"), ("q4_1", "1"), ("q4_2", "2")]))


def test_bars_are_relative_to_the_largest():
    chart = bars(
        [{"label": "a", "count": 2}, {"label": "b", "count": 4}, {"label": "c", "count": 0}]
    )
    assert [b["width"] for b in chart["bars"]] == [30.0, 60.0, 0.0]
    ranking = chart_of({"ranking": [{"label": "甲", "score": 7, "rank": 1}]})
    assert ranking is not None and ranking["bars"][0]["label"] == "第1名 甲"
    assert chart_of({"texts": ["x"]}) is None
