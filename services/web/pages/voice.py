"""Members' voice as pages: surveys (问卷) and the suggestion box (意见建议), and the calendar
feed's way in (订阅活动日历).

Member (phone, /m): the surveys asked of me, answering one (in 长辈版 too: the same page in
large text), my answers, the suggestion box with its replies, and my campus's calendar feed.
Cadre (/admin): a survey built from a few lines of text with a preview of the member's form,
its results with inline SVG charts (bars for choices and rankings, a distribution for
ratings) and CSV/XLSX exports — an anonymous survey's only once it has closed, before that
how many have answered — and the suggestions with reply and forward.

Everything is the events service's API, called as the signed-in person.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import MemberVisit, StaffVisit, Visit, redirect
from services.web.filters import moment

member_router = APIRouter(prefix="/m")
admin_router = APIRouter(prefix="/admin")

SurveyId = Annotated[str, Path(pattern=r"^sv-[0-9a-f]{12}$")]
SuggestionId = Annotated[str, Path(pattern=r"^sg-[0-9a-f]{12}$")]
KINDS = {"单选": "single", "多选": "multiple", "评分": "rating", "排序": "ranking", "填空": "text"}
FLASH = {
    "answered": "已提交，谢谢您的意见",
    "changed": "答卷已修改",
    "written": "意见建议已提交，答复后可在这里查看",
    "saved": "问卷草稿已保存，请预览无误后发布",
    "published": "问卷已发布",
    "closed": "问卷已结束",
    "replied": "已答复",
    "forwarded": "已转交",
}
EXAMPLE = """单选 | 今年暑期您最希望参加哪类活动 | 外出疗休养 | 文体比赛 | 读书会 | 亲子活动
多选 1-2 | 您方便参加的时间 | 7月上旬 | 7月下旬 | 8月上旬 | 8月下旬
评分 5 | 您对去年暑期活动的满意度
排序 | 请为以下地点排序 | 苏州本地 | 杭州 | 黄山
填空 选填 | 其他意见和建议"""


# -- pure helpers -----------------------------------------------------------------------------


class BuildError(ValueError):
    """A line of the survey text a cadre typed that cannot be a question (said in Chinese)."""


def parse_questions(text: str) -> list[dict[str, Any]]:
    """Questions from lines `类型 [范围] [选填] | 题目 | 选项 | 选项 …`: 单选, 多选 1-2,
    评分 5, 排序, 填空; blank lines skipped. BuildError names the line."""
    questions: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.replace("｜", "|").strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split("|")]
        head, title, options = parts[0].split(), parts[1] if len(parts) > 1 else "", parts[2:]
        if not head or head[0] not in KINDS:
            raise BuildError(f"第 {number} 行：题型须是 单选、多选、评分、排序 或 填空")
        if not title:
            raise BuildError(f"第 {number} 行：缺少题目（题型后用 | 隔开）")
        q: dict[str, Any] = {"kind": KINDS[head[0]], "title": title, "required": True}
        for word in head[1:]:
            if word == "选填":
                q["required"] = False
            elif q["kind"] == "multiple" and re.fullmatch(r"\d{1,2}-\d{1,2}", word):
                low, high = word.split("-")
                q["min_choices"], q["max_choices"] = int(low), int(high)
            elif q["kind"] == "rating" and re.fullmatch(r"\d{1,2}", word):
                q["scale"] = int(word)
            else:
                raise BuildError(f"第 {number} 行：看不懂「{word}」")
        if q["kind"] in ("single", "multiple", "ranking"):
            if len([o for o in options if o]) < 2:
                raise BuildError(f"第 {number} 行：{head[0]}题至少需要两个选项")
            q["options"] = [o for o in options if o]
        elif any(options):
            raise BuildError(f"第 {number} 行：{head[0]}题不设选项")
        questions.append(q)
    if not questions:
        raise BuildError("请至少写一道题")
    return questions


def answers_from_form(survey: dict[str, Any], form: Any) -> dict[str, Any]:
    """The answers a member's form sent, as the API takes them. A ranking comes as one
    select per option (its place, 1 = first): the options in the order of their places."""
    out: dict[str, Any] = {}
    for q in survey["questions"]:
        qid = q["id"]
        if q["kind"] == "multiple":
            picked = [int(v) for v in form.getlist(qid) if str(v).isdigit()]
            if picked:
                out[qid] = picked
        elif q["kind"] == "ranking":
            places = {}
            for i in range(len(q["options"])):
                value = str(form.get(f"{qid}_{i}") or "")
                if value.isdigit():
                    places[i] = int(value)
            if places:
                if len(places) != len(q["options"]) or len(set(places.values())) != len(places):
                    raise BuildError(f"「{q['title']}」：请为每个选项排一个不同的名次")
                out[qid] = sorted(places, key=lambda i: places[i])
        elif q["kind"] == "text":
            value = str(form.get(qid) or "").strip()
            if value:
                out[qid] = value
        else:
            value = str(form.get(qid) or "")
            if value.isdigit():
                out[qid] = int(value)
    return out


def bars(rows: list[dict[str, Any]], value: str = "count") -> dict[str, Any]:
    """An inline SVG bar chart's geometry: one bar per row, widths relative to the largest."""
    top = max((r[value] for r in rows), default=0) or 1
    height = 28
    return {
        "height": height * len(rows) + 4,
        "bars": [
            {
                **r,
                "y": 2 + i * height,
                "width": round(60 * r[value] / top, 1),  # percent of the chart's width
            }
            for i, r in enumerate(rows)
        ],
    }


def chart_of(question: dict[str, Any]) -> dict[str, Any] | None:
    if "options" in question:
        return bars(question["options"])
    if "distribution" in question:
        rows = [{**d, "label": f"{d['score']} 分"} for d in question["distribution"]]
        return bars(rows)
    if "ranking" in question:
        rows = [{**r, "label": f"第{r['rank']}名 {r['label']}"} for r in question["ranking"]]
        return bars(rows, "score")
    return None


def withheld_notice(results: dict[str, Any]) -> str | None:
    """The line shown in place of an anonymous survey's charts before it closes (events
    withholds what was answered until then); None when the results are out."""
    if not results.get("withheld_until_close"):
        return None
    closes = moment(results["closes_at"])
    shown = f"{closes:%Y-%m-%d %H:%M}" if closes else "截止时间"
    return f"匿名问卷的结果在截止（{shown}）后公布，目前已有 {results['respondents']} 人作答"


def form_answers(mine: dict[str, Any] | None) -> dict[str, Any]:
    """My named answer, for the form to show it chosen again (empty: nothing chosen)."""
    return dict((mine or {}).get("answers") or {})


# -- member: surveys --------------------------------------------------------------------------


@member_router.get("/surveys")
async def my_surveys(visit: MemberVisit, msg: str | None = None) -> Response:
    """问卷: the surveys of my campus and the school, open first, answered or not; role:
    member."""
    found = await visit.get("events", "/me/surveys")
    return visit.render("m/surveys.html", surveys=found, flash=FLASH.get(msg or ""), tab="home")


async def survey_page(
    visit: Visit, survey_id: str, *, error: str | None = None, given: Any = None, status: int = 200
) -> Response:
    survey, mine = await asyncio.gather(
        visit.get("events", f"/surveys/{survey_id}"),
        visit.get("events", f"/surveys/{survey_id}/answers/mine"),
    )
    may_answer = survey["phase"] == "open" and (
        not mine["answered"] or (survey["allow_change"] and not survey["anonymous"])
    )
    return visit.render(
        "m/survey.html",
        status_code=status,
        s=survey,
        mine=mine,
        chosen=given if given is not None else form_answers(mine),
        may_answer=may_answer,
        error=error,
        flash=FLASH.get(visit.request.query_params.get("msg") or ""),
        tab="home",
    )


@member_router.get("/surveys/{survey_id}")
async def survey(visit: MemberVisit, survey_id: SurveyId) -> Response:
    """A survey to answer (or my answer, when given); role: member."""
    return await survey_page(visit, survey_id)


@member_router.post("/surveys/{survey_id}")
async def answer(visit: MemberVisit, survey_id: SurveyId, request: Request) -> Response:
    """Send my answers (a named one again: a change, when the survey allows it); role:
    member."""
    form = await request.form()
    survey, mine = await asyncio.gather(
        visit.get("events", f"/surveys/{survey_id}"),
        visit.get("events", f"/surveys/{survey_id}/answers/mine"),
    )
    try:
        given = answers_from_form(survey, form)
    except BuildError as exc:
        return await survey_page(visit, survey_id, error=str(exc), status=422)
    path = f"/surveys/{survey_id}/answers"
    try:
        if mine["answered"] and not survey["anonymous"]:
            await visit.api("events", "PUT", f"{path}/mine", json={"answers": given})
            return redirect(f"/m/surveys/{survey_id}?msg=changed")
        await visit.post("events", path, json={"answers": given})
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        return await survey_page(
            visit, survey_id, error=exc.message, given=given, status=exc.status
        )
    return redirect(f"/m/surveys/{survey_id}?msg=answered")


# -- member: the suggestion box and the calendar ----------------------------------------------


async def box_page(visit: Visit, *, error: str | None = None, status: int = 200) -> Response:
    found = await visit.get("events", "/me/suggestions")
    return visit.render(
        "m/suggestions.html",
        status_code=status,
        suggestions=found,
        error=error,
        flash=FLASH.get(visit.request.query_params.get("msg") or ""),
        tab="home",
    )


@member_router.get("/suggestions")
async def suggestion_box(visit: MemberVisit) -> Response:
    """意见箱: write a suggestion (named or anonymous) and read the replies to mine; role:
    member."""
    return await box_page(visit)


@member_router.post("/suggestions")
async def write_suggestion(
    visit: MemberVisit,
    title: Annotated[str, Form(max_length=60)],
    body: Annotated[str, Form(max_length=2000)],
    anonymous: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    """Put a suggestion in the box; role: member."""
    payload = {"title": title, "body": body, "anonymous": anonymous == "1"}
    try:
        await visit.post("events", "/suggestions", json=payload)
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        return await box_page(visit, error=exc.message, status=exc.status)
    return redirect("/m/suggestions?msg=written")


@member_router.get("/calendar")
async def calendar(visit: MemberVisit) -> Response:
    """订阅活动日历: my campus's calendar feed and how to add it on a phone; role: member."""
    link, _ = await asyncio.gather(visit.get("events", "/me/calendar"), visit.org())
    return visit.render("m/calendar.html", link=link, tab="activities")


# -- cadre: surveys ---------------------------------------------------------------------------


@admin_router.get("/surveys")
async def surveys_desk(visit: StaffVisit) -> Response:
    """问卷: the surveys of my campuses, newest first; role: cadre."""
    page, _ = await asyncio.gather(
        visit.get("events", "/surveys", params={"limit": 100}), visit.org()
    )
    return visit.render("admin/surveys.html", surveys=page["items"], section="surveys")


def _campuses(visit: Visit) -> list[str]:
    campuses = visit.session.campuses if visit.session else []
    return sorted(c for c in campuses if c != "*") or ["*"]


@admin_router.get("/surveys/new")
async def new_survey(visit: StaffVisit) -> Response:
    """Build a survey: its questions as lines of text, a preview before saving; role: cadre."""
    await visit.org()
    form = {"questions": EXAMPLE, "title": "", "campus": _campuses(visit)[0]}
    return visit.render(
        "admin/survey_new.html", form=form, campuses=_campuses(visit), section="surveys"
    )


@admin_router.post("/surveys/new")
async def build_survey(
    visit: StaffVisit,
    title: Annotated[str, Form(max_length=100)],
    campus: Annotated[str, Form(max_length=32)],
    opens_at: Annotated[str, Form(max_length=20)],
    closes_at: Annotated[str, Form(max_length=20)],
    questions: Annotated[str, Form(max_length=20_000)],
    description: Annotated[str, Form(max_length=2000)] = "",
    departments: Annotated[str, Form(max_length=2000)] = "",
    anonymous: Annotated[str | None, Form(max_length=5)] = None,
    allow_change: Annotated[str | None, Form(max_length=5)] = None,
    action: Annotated[str, Form(pattern=r"^(preview|save)$")] = "preview",
) -> Response:
    """预览 shows the member's form; 保存草稿 saves it (published from its page); role:
    cadre."""
    await visit.org()
    form = {
        "title": title,
        "campus": campus,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "questions": questions,
        "description": description,
        "departments": departments,
        "anonymous": anonymous == "1",
        "allow_change": allow_change == "1",
    }
    render: dict[str, Any] = {"form": form, "campuses": _campuses(visit), "section": "surveys"}
    try:
        parsed = parse_questions(questions)
    except BuildError as exc:
        return visit.render("admin/survey_new.html", status_code=422, error=str(exc), **render)
    wanted = [d.strip() for d in re.split(r"[,，、\s]+", departments) if d.strip()]
    preview = {
        "title": title,
        "description": description,
        "anonymous": form["anonymous"],
        "questions": [
            {**q, "id": f"q{i}", "options": q.get("options", []), "scale": q.get("scale", 5)}
            for i, q in enumerate(parsed, start=1)
        ],
    }
    if action == "preview":
        return visit.render("admin/survey_new.html", preview=preview, **render)
    body = {
        "title": title,
        "description": description,
        "campus": campus,
        "anonymous": form["anonymous"],
        "allow_change": form["allow_change"],
        "audience": {"departments": wanted},
        "opens_at": opens_at,
        "closes_at": closes_at,
        "questions": parsed,
    }
    try:
        made = await visit.post("events", "/surveys", json=body)
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        return visit.render(
            "admin/survey_new.html", status_code=exc.status, error=exc.message, **render
        )
    return redirect(f"/admin/surveys/{made['id']}?msg=saved")


@admin_router.get("/surveys/{survey_id}")
async def survey_desk(visit: StaffVisit, survey_id: SurveyId) -> Response:
    """A survey's questions, its publish and close buttons, and its results with charts and
    exports (an anonymous survey's: how many answered until it closes); role: cadre of its
    campus."""
    survey, results, _ = await asyncio.gather(
        visit.get("events", f"/surveys/{survey_id}"),
        visit.get("events", f"/surveys/{survey_id}/results"),
        visit.org(),
    )
    charts = {q["id"]: chart_of(q) for q in results["questions"]}
    return visit.render(
        "admin/survey.html",
        s=survey,
        results=results,
        charts=charts,
        withheld=withheld_notice(results),
        flash=FLASH.get(visit.request.query_params.get("msg") or ""),
        section="surveys",
    )


@admin_router.post("/surveys/{survey_id}/{step}")
async def survey_step(
    visit: StaffVisit, survey_id: SurveyId, step: Annotated[str, Path(pattern=r"^(publish|close)$")]
) -> Response:
    """发布 / 提前结束; role: cadre of its campus."""
    try:
        await visit.post("events", f"/surveys/{survey_id}/{step}")
    except ApiError as exc:
        if exc.status != 409:
            raise
        return redirect(f"/admin/surveys/{survey_id}")
    return redirect(f"/admin/surveys/{survey_id}?msg={step}ed".replace("closeed", "closed"))


EXPORTS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@admin_router.get("/surveys/{survey_id}/results.{fmt}")
async def export_results(
    visit: StaffVisit, survey_id: SurveyId, fmt: Annotated[str, Path(pattern=r"^(csv|xlsx)$")]
) -> Response:
    """The results as CSV or XLSX (events audits the export); role: cadre of its campus."""
    found = await visit.get("events", f"/surveys/{survey_id}/results.{fmt}", raw=True)
    return Response(
        found.content,
        media_type=EXPORTS[fmt],
        headers={
            "Content-Disposition": found.headers.get("content-disposition", "attachment"),
            "Cache-Control": "no-store",
        },
    )


# -- cadre: suggestions -----------------------------------------------------------------------


@admin_router.get("/suggestions")
async def suggestions_desk(visit: StaffVisit) -> Response:
    """意见建议: the box of my campuses, newest first, with reply and forward; role: cadre."""
    page, _ = await asyncio.gather(
        visit.get("events", "/suggestions", params={"limit": 100}), visit.org()
    )
    return visit.render(
        "admin/suggestions.html",
        suggestions=page["items"],
        flash=FLASH.get(visit.request.query_params.get("msg") or ""),
        section="suggestions",
    )


@admin_router.post("/suggestions/{suggestion_id}/reply")
async def reply(
    visit: StaffVisit, suggestion_id: SuggestionId, text: Annotated[str, Form(max_length=2000)]
) -> Response:
    """答复 a suggestion; role: cadre of its campus."""
    try:
        await visit.post("events", f"/suggestions/{suggestion_id}/reply", json={"text": text})
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return redirect("/admin/suggestions")
    return redirect(f"/admin/suggestions?msg=replied#{suggestion_id}")


@admin_router.post("/suggestions/{suggestion_id}/forward")
async def forward(
    visit: StaffVisit,
    suggestion_id: SuggestionId,
    department: Annotated[str, Form(max_length=64)],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """转交 a suggestion to a department; role: cadre of its campus."""
    body = {"department": department, "note": note}
    try:
        await visit.post("events", f"/suggestions/{suggestion_id}/forward", json=body)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return redirect("/admin/suggestions")
    return redirect(f"/admin/suggestions?msg=forwarded#{suggestion_id}")
