"""The arithmetic of a survey's results, pure: counts and percentages per option, rating
averages and distributions, ranking scores (Borda), free texts, and the response rate per
campus and department — with the small groups of an anonymous survey merged.

Percentages are of the members who answered the question (a skipped optional question does
not count against an option), rounded to one decimal. A ranking of n options gives the first
place n-1 points, the second n-2 … the last 0 (Borda count); options are ordered by points,
ties sharing a place. An anonymous survey's results before its close (`withheld`) say how
many answered and nothing of what (see `domain.results_disclosed`). Nothing here reads a
clock or a database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from services.events.surveys.domain import QuestionKind, Survey
from shared.timeutil import as_local

MIN_GROUP = 5  # an anonymous survey shows no group with fewer answers than this
MERGED = "其他（合并）"


def percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _choices(options: Sequence[str], picks: Iterable[Sequence[int]], answered: int) -> list:
    counts = Counter(i for picked in picks for i in picked)
    return [
        {"index": i, "label": label, "count": counts[i], "percent": percent(counts[i], answered)}
        for i, label in enumerate(options)
    ]


def borda(options: Sequence[str], orders: Iterable[Sequence[int]]) -> list[dict[str, Any]]:
    """Options by Borda points (first place n-1 … last 0), ties sharing a rank."""
    n = len(options)
    points = [0] * n
    for order in orders:
        for place, option in enumerate(order):
            points[option] += n - 1 - place
    order = sorted(range(n), key=lambda i: (-points[i], i))
    out: list[dict[str, Any]] = []
    for position, i in enumerate(order):
        rank = out[-1]["rank"] if out and out[-1]["score"] == points[i] else position + 1
        out.append({"index": i, "label": options[i], "score": points[i], "rank": rank})
    return out


def tally(survey: Survey, answers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Chart-ready results of the answers (each: question id → stored value)."""
    questions = []
    for q in survey.questions_list:
        given = [a[q.id] for a in answers if q.id in a]
        row: dict[str, Any] = {
            "id": q.id,
            "kind": q.kind.value,
            "kind_label": q.kind.label,
            "title": q.title,
            "answered": len(given),
        }
        if q.kind is QuestionKind.single:
            row["options"] = _choices(q.options, ([v] for v in given), len(given))
        elif q.kind is QuestionKind.multiple:
            row["options"] = _choices(q.options, given, len(given))
        elif q.kind is QuestionKind.ranking:
            row["ranking"] = borda(q.options, given)
        elif q.kind is QuestionKind.rating:
            counts = Counter(given)
            row["scale"] = q.scale
            row["average"] = round(sum(given) / len(given), 2) if given else None
            row["distribution"] = [
                {"score": s, "count": counts[s], "percent": percent(counts[s], len(given))}
                for s in range(1, q.scale + 1)
            ]
        else:
            # Sorted, not in the order written: the order of answers says nothing about anyone.
            row["texts"] = sorted(given)
        questions.append(row)
    return {"respondents": len(answers), "questions": questions}


def withheld(respondents: int) -> dict[str, Any]:
    """The results of an anonymous survey that has not closed: how many answered, and no
    question's results (not even how many answered each: an optional question's count going
    up names whoever just answered as one who filled it in)."""
    return {"respondents": respondents, "questions": [], "withheld_until_close": True}


def withheld_note(survey: Survey, respondents: int) -> str:
    """What a person reads in place of results withheld until the close."""
    closes = as_local(survey.closes_at)
    return f"匿名问卷的结果在截止（{closes:%Y-%m-%d %H:%M}）后公布，目前已有 {respondents} 人作答"


def _rows(
    audience: Mapping[str, int], answered: Mapping[str, int], merge: bool
) -> list[dict[str, Any]]:
    groups = sorted(set(audience) | set(answered))
    shown = {g: (audience.get(g, 0), answered.get(g, 0)) for g in groups}
    merged_size, merged_answers = 0, 0
    if merge:
        for g in [g for g, (_, a) in shown.items() if a < MIN_GROUP]:
            size, got = shown.pop(g)
            merged_size, merged_answers = merged_size + size, merged_answers + got
        # A merged group that is itself small takes in the smallest shown groups.
        while 0 < merged_answers < MIN_GROUP and shown:
            g = min(shown, key=lambda k: (shown[k][1], k))
            size, got = shown.pop(g)
            merged_size, merged_answers = merged_size + size, merged_answers + got
    rows = [
        {"group": g, "audience": size, "answered": got, "rate": percent(got, size)}
        for g, (size, got) in shown.items()
    ]
    if merged_size or merged_answers:
        rows.append(
            {
                "group": MERGED,
                "audience": merged_size,
                "answered": merged_answers,
                "rate": percent(merged_answers, merged_size),
                "merged": True,
            }
        )
    return rows


def turnout(
    audience: Iterable[tuple[str, str]], answered: Iterable[tuple[str, str]], anonymous: bool
) -> dict[str, Any]:
    """The response rate overall, per campus and per department: `audience` and `answered`
    name each member's (campus, department). An anonymous survey merges every group with
    fewer than 5 answers into one (其他（合并）), and that one into more until it has 5."""
    size = Counter(audience)
    got = Counter(answered)
    total_size, total_got = sum(size.values()), sum(got.values())
    by_campus_size: Counter[str] = Counter()
    by_campus_got: Counter[str] = Counter()
    for (campus, _), n in size.items():
        by_campus_size[campus] += n
    for (campus, _), n in got.items():
        by_campus_got[campus] += n
    dept_size = {f"{c}/{d}": n for (c, d), n in size.items()}
    dept_got = {f"{c}/{d}": n for (c, d), n in got.items()}
    return {
        "audience": total_size,
        "answered": total_got,
        "rate": percent(total_got, total_size),
        "campuses": _rows(by_campus_size, by_campus_got, anonymous),
        "departments": _rows(dept_size, dept_got, anonymous),
    }


def table(survey: Survey, results: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The results as one table for CSV/XLSX: question, kind, option/score, count, percent
    (or points for a ranking), one row each; free texts one row per text. Results withheld
    until the close are one row saying so, as the page does."""
    header = ["题号", "题目", "题型", "选项/分值", "人数/得分", "占比(%)"]
    rows: list[list[Any]] = []
    if results.get("withheld_until_close"):
        note = withheld_note(survey, results["respondents"])
        return header, [[None, note, None, None, None, None]]
    for q in results["questions"]:
        head = [q["id"], q["title"], q["kind_label"]]
        if "options" in q:
            rows += [[*head, o["label"], o["count"], o["percent"]] for o in q["options"]]
        elif "ranking" in q:
            rows += [
                [*head, f"第{r['rank']}名 {r['label']}", r["score"], None] for r in q["ranking"]
            ]
        elif "distribution" in q:
            rows += [
                [*head, f"{d['score']} 分", d["count"], d["percent"]] for d in q["distribution"]
            ]
            rows.append([*head, "平均分", q["average"], None])
        else:
            rows += [[*head, text, None, None] for text in q["texts"]]
    return header, rows
