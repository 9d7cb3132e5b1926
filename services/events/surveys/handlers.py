"""Survey use cases: draft, publish, close; answer (once), change a named answer; results;
the scheduled job that opens, reminds and closes surveys on time.

A cadre of the survey's campus runs it (a school-wide survey: a cadre of every campus). A
member answers when they are in its audience (the activity rules) while it is open. An
anonymous answer is written under a fresh trace id, so not even the request's trace ties
the service's logs to it; it waits sealed until the close, when `book.flush` moves the
survey's answers out together in a random order (the close, the job's close and every read of
a closed anonymous survey's answers flush; see `store.py` for why none is missed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from services.events.activities.eligibility import Person, refusal
from services.events.activities.store import ActivityCatalog
from services.events.plans.domain import Link, LinkKind
from services.events.plans.handlers import link_item
from services.events.plans.store import PlanBook
from services.events.surveys.domain import (
    ALL,
    CLOSING_SOON,
    NewSurvey,
    Phase,
    Survey,
    SurveyStatus,
    check_answers,
    draft,
    results_disclosed,
)
from services.events.surveys.results import tally, turnout, withheld
from services.events.surveys.store import SurveyBook, audience_of, groups
from shared.aggregate import Actor
from shared.auth import Principal, Role
from shared.envelope import new_traceparent
from shared.errors import Conflict, Forbidden, NotFound, Refused
from shared.readmodels.member_directory import MemberDirectory
from shared.scheduler import JobRun
from shared.telemetry import trace_id_var
from shared.timeutil import utcnow_ms as utcnow


@dataclass(frozen=True)
class Surveys:
    """What the survey use cases need (the context's `surveys`)."""

    book: SurveyBook
    directory: MemberDirectory
    plans: PlanBook
    catalog: ActivityCatalog


def can_see(user: Principal, survey: Survey) -> bool:
    """Cadres their campuses' surveys (drafts too); members the published ones of their
    campuses and the school-wide ones."""
    if user.has_role(Role.cadre) and user.can_access(survey.campus):
        return True
    if survey.status is SurveyStatus.draft:
        return False
    return survey.campus == ALL or user.can_access(survey.campus)


def visible_scope(user: Principal) -> dict[str, Any]:
    scope: dict[str, Any] = (
        {} if user.all_campuses else {"campus": {"$in": sorted({*user.campuses, ALL})}}
    )
    if not user.has_role(Role.cadre):
        scope["status"] = {"$ne": SurveyStatus.draft.value}
    return scope


async def visible(surveys: Surveys, survey_id: str, user: Principal) -> Survey:
    found = await surveys.book.store.get(survey_id)
    if found is None or not can_see(user, found):
        raise NotFound("survey.not_found", "未找到该问卷", id=survey_id)
    return found


def managed(user: Principal, survey: Survey) -> None:
    user.require(Role.cadre, campus=survey.campus)


async def create(surveys: Surveys, cmd: NewSurvey, user: Principal) -> Survey:
    user.require(Role.cadre, campus=cmd.campus)
    if cmd.plan is not None:
        plan = await surveys.plans.visible(cmd.plan.plan_id, user)
        plan.item(cmd.plan.item_id)
    survey = draft(f"sv-{uuid.uuid4().hex[:12]}", cmd, user.subject)
    added = await surveys.book.store.add(survey, Actor.of(user), "draft")
    if cmd.plan is not None:
        link = Link(kind=LinkKind.survey, id=added.id)
        await link_item(
            cmd.plan.plan_id, cmd.plan.item_id, link, surveys.plans, surveys.catalog, user
        )
    return added


async def publish(surveys: Surveys, survey: Survey, user: Principal) -> Survey:
    managed(user, survey)
    now = utcnow()
    return await surveys.book.store.change(
        survey.id, lambda s: s.publish(now), Actor.of(user), "publish"
    )


async def close_early(surveys: Surveys, survey: Survey, user: Principal) -> Survey:
    managed(user, survey)
    now = utcnow()
    answers = await surveys.book.count(survey)
    closed = await surveys.book.store.change(
        survey.id, lambda s: s.close(now, answers, early=True), Actor.of(user), "close"
    )
    await surveys.book.flush(closed)
    return closed


# -- answering --------------------------------------------------------------------------------


@contextmanager
def untraced() -> Iterator[None]:
    """Run under a trace id of its own, tied to nothing the request logged."""
    token = trace_id_var.set(new_traceparent().split("-")[1])
    try:
        yield
    finally:
        trace_id_var.reset(token)


async def _respondent(surveys: Surveys, survey: Survey, user: Principal) -> dict[str, Any]:
    user.require(Role.member)
    phase = survey.phase(utcnow())
    if phase is not Phase.open:
        raise Conflict("survey.not_open", f"问卷{phase.label}，不能填写", phase=phase.value)
    member = await surveys.directory.get(user.subject)
    if member is None:
        raise Forbidden("survey.not_a_member", "只有工会会员可以填写问卷")
    refused = refusal(survey, Person.of(member))
    if refused is not None:
        message = refused.message.replace("本活动", "本问卷")
        raise Refused("survey.not_in_audience", message, rule=refused.rule)
    return member


async def answer(
    surveys: Surveys, survey: Survey, given: dict[str, Any], user: Principal
) -> dict[str, Any]:
    """Answer once (409 `survey.already_answered` the second time, also at the same moment)."""
    member = await _respondent(surveys, survey, user)
    answers = check_answers(survey, given)
    if survey.anonymous:
        with untraced():
            written = await surveys.book.answer_anonymous(survey, member, answers)
    else:
        written = await surveys.book.answer_named(survey, member, answers)
    if not written:
        raise Conflict("survey.already_answered", "您已填写过本问卷")
    return answers


async def change_answer(
    surveys: Surveys, survey: Survey, given: dict[str, Any], user: Principal
) -> dict[str, Any]:
    """A named answer's next version while the survey is open, when it allows changes."""
    member = await _respondent(surveys, survey, user)
    if survey.anonymous or not survey.allow_change:
        raise Conflict("survey.no_changes", "本问卷提交后不能修改")
    latest = await surveys.book.latest_named(survey.id, member["_id"])
    if latest is None:
        raise NotFound("answer.not_found", "您还没有填写本问卷")
    answers = check_answers(survey, given)
    if not await surveys.book.answer_named(survey, member, answers, latest["version"] + 1):
        raise Conflict("answer.changed_meanwhile", "答卷刚刚被修改过，请刷新后再改")
    return answers


async def mine(surveys: Surveys, survey: Survey, user: Principal) -> dict[str, Any]:
    """What the member sees of their own answer: a named one in full; of an anonymous one,
    only that it was given (nothing can find it again)."""
    if survey.anonymous:
        return {"answered": await surveys.book.answered(survey, user.subject), "answers": None}
    latest = await surveys.book.latest_named(survey.id, user.subject)
    if latest is None:
        return {"answered": False, "answers": None}
    return {
        "answered": True,
        "answers": latest["answers"],
        "version": latest["version"],
        "at": latest["at"],
    }


async def eligible(surveys: Surveys, survey: Survey, user: Principal) -> str | None:
    """Why the caller is not asked (a sentence), or None when they are."""
    member = await surveys.directory.get(user.subject)
    if member is None:
        return "只有工会会员可以填写问卷"
    refused = refusal(survey, Person.of(member))
    return refused.message.replace("本活动", "本问卷") if refused else None


# -- results ----------------------------------------------------------------------------------


async def results(surveys: Surveys, survey: Survey, user: Principal) -> dict[str, Any]:
    """The results, or — an anonymous survey not yet closed — only how many answered (the
    answers are not even read: what is not read cannot be shown by mistake)."""
    managed(user, survey)
    asked = await audience_of(survey, surveys.directory)
    answered = await surveys.book.answered_groups(survey)
    rates = turnout(groups(asked), answered, survey.anonymous)
    closed = survey.phase(utcnow()) is Phase.closed
    if not results_disclosed(survey.anonymous, closed):
        return {**withheld(len(answered)), "turnout": rates}
    await surveys.book.flush(survey)  # an anonymous survey's, closed: stragglers included
    answers = await surveys.book.all_answers(survey)
    return {**tally(survey, answers), "withheld_until_close": False, "turnout": rates}


# -- the clock --------------------------------------------------------------------------------


def _close(survey: Survey, now: datetime, answers: int) -> None:
    survey.close(now, answers)


async def keep_time(surveys: Surveys, run: JobRun) -> None:
    """Open, remind and close the published surveys whose time has come (every minute, once
    per slot however many replicas run; each move is idempotent, so a rerun changes nothing)."""
    now = run.now
    store = surveys.book.store
    for survey in await store.find({"status": SurveyStatus.published.value}, limit=1000):
        # The list view says what may be due; the change decides again on the current state.
        actor = Actor("system", None)
        if not survey.opened and now >= survey.opens_at:
            await store.change(survey.id, lambda s: s.open(now), actor, "open")
        if survey.closes_at <= now:
            count = await surveys.book.count(survey)
            closed = await store.change(
                survey.id, partial(_close, now=now, answers=count), actor, "close"
            )
            await surveys.book.flush(closed)
        elif not survey.reminded and survey.closes_at - CLOSING_SOON <= now:
            await store.change(survey.id, lambda s: s.remind(now), actor, "remind")
