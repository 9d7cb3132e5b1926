"""The cadre's survey results page, rendered without a server: an anonymous survey's results
withheld until its close show the line saying when they are out and how many answered, in
place of the charts and the exports; results that are out show the charts and the exports."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from jinja2 import Environment, FileSystemLoader

from services.web import filters
from services.web.pages.voice import chart_of, withheld_notice

TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "web" / "templates"
SURVEY = {
    "id": "sv-0123456789ab",
    "title": "暑期教工活动意见征集",
    "campus": "main",
    "anonymous": True,
    "status": "published",
    "phase_label": "填写中",
    "opens_at": "2026-06-01T08:00:00+08:00",
    "closes_at": "2026-06-20T18:00:00+08:00",
}
TURNOUT = {
    "audience": 20,
    "answered": 7,
    "rate": 35.0,
    "departments": [{"group": "main/艺术系", "audience": 20, "answered": 7, "rate": 35.0}],
}
WITHHELD = {
    "respondents": 7,
    "withheld_until_close": True,
    "closes_at": "2026-06-20T10:00:00Z",  # 18:00 in Beijing
    "questions": [],
    "turnout": TURNOUT,
}
OUT = {
    "respondents": 7,
    "withheld_until_close": False,
    "closes_at": "2026-06-20T10:00:00Z",
    "questions": [
        {
            "id": "q1",
            "kind": "single",
            "kind_label": "单选",
            "title": "形式",
            "answered": 7,
            "options": [
                {"index": 0, "label": "旅游", "count": 5, "percent": 71.4},
                {"index": 1, "label": "读书会", "count": 2, "percent": 28.6},
            ],
        }
    ],
    "turnout": TURNOUT,
}


def _page(results: dict[str, Any]) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    filters.install(env)
    return env.get_template("admin/survey.html").render(
        visit=SimpleNamespace(csrf="t"),
        session=SimpleNamespace(has=lambda *roles: False, roles=["cadre"]),
        s=SURVEY,
        results=results,
        charts={q["id"]: chart_of(q) for q in results["questions"]},
        withheld=withheld_notice(results),
    )


def test_the_withheld_line_names_the_close_in_beijing_time_and_how_many_answered():
    assert withheld_notice(WITHHELD) == (
        "匿名问卷的结果在截止（2026-06-20 18:00）后公布，目前已有 7 人作答"
    )
    assert withheld_notice(OUT) is None


def test_withheld_results_show_the_line_and_the_turnout_not_charts_or_exports():
    page = _page(WITHHELD)
    assert "匿名问卷的结果在截止（2026-06-20 18:00）后公布，目前已有 7 人作答" in page
    assert "已答 7 人" in page and "艺术系" in page  # the response rate stays
    assert "figure" not in page and "results.csv" not in page and "results.xlsx" not in page


def test_results_that_are_out_show_the_charts_and_the_exports():
    page = _page(OUT)
    assert "后公布" not in page
    assert 'id="result-q1"' in page and "5 人（71.4%）" in page
    assert "results.csv" in page and "results.xlsx" in page
