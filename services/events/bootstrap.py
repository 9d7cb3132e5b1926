"""Composition root of the events service."""

from __future__ import annotations

from functools import partial

from pymongo.asynchronous.database import AsyncDatabase

from services.events.activities import api as activities_api
from services.events.activities import store as activities_store
from services.events.activities.domain import Activity
from services.events.activities.store import ActivityCatalog
from services.events.calendar import api as calendar_api
from services.events.checkin import api as checkin_api
from services.events.context import EventsContext
from services.events.plans import api as plans_api
from services.events.plans import store as plans_store
from services.events.plans.domain import Plan
from services.events.plans.store import PlanBook
from services.events.registrations import api as registrations_api
from services.events.registrations import store as registrations_store
from services.events.registrations.domain import Registration
from services.events.registrations.handlers import Registrations, promote_waiting
from services.events.registrations.store import RegistrationBook
from services.events.settings import EventsSettings
from services.events.sports import api as sports_api
from services.events.sports import store as sports_store
from services.events.sports.domain import SportsMeet
from services.events.sports.store import MeetBook
from services.events.subscriptions import subscriptions
from services.events.suggestions import api as suggestions_api
from services.events.suggestions import store as suggestions_store
from services.events.suggestions.domain import Suggestion
from services.events.suggestions.handlers import Box
from services.events.surveys import api as surveys_api
from services.events.surveys import store as surveys_store
from services.events.surveys.domain import Survey
from services.events.surveys.handlers import Surveys, keep_time
from services.events.surveys.store import SurveyBook
from shared.audit import AuditLog
from shared.readmodels.member_directory import MemberDirectory, setup_directory_indexes
from shared.runtime import ServiceRuntime
from shared.scheduler import Every, Job

DESCRIPTION = (
    "活动服务：年度工作计划、活动报名与候补、签到与成绩、问卷与意见征集、评选表彰、教代会与提案。"
)


async def setup_indexes(db: AsyncDatabase) -> None:
    await setup_directory_indexes(db)
    await activities_store.setup_indexes(db)
    await registrations_store.setup_indexes(db)
    await plans_store.setup_indexes(db)
    await sports_store.setup_indexes(db)
    await surveys_store.setup_indexes(db)
    await suggestions_store.setup_indexes(db)
    await AuditLog(db).setup_indexes()


def bootstrap(
    settings: EventsSettings | None = None, configure_logs: bool = True
) -> ServiceRuntime:
    settings = settings or EventsSettings()
    runtime = ServiceRuntime(
        settings,
        title="Gonghui 活动服务 events",
        description=DESCRIPTION,
        routers=[
            activities_api.router,
            registrations_api.activity_router,
            registrations_api.router,
            checkin_api.router,
            plans_api.router,
            sports_api.router,
            calendar_api.router,
            surveys_api.router,
            suggestions_api.router,
        ],
        setup_indexes=setup_indexes,
        configure_logs=configure_logs,
    )
    activities = runtime.aggregate(
        Activity,
        name=activities_store.ACTIVITIES,
        topic=activities_store.TOPIC,
        not_found=activities_store.NOT_FOUND,
    )
    registrations = runtime.aggregate(
        Registration,
        name=registrations_store.REGISTRATIONS,
        topic=registrations_store.TOPIC,
        not_found=registrations_store.NOT_FOUND,
    )
    plans = runtime.aggregate(
        Plan, name=plans_store.PLANS, topic=plans_store.TOPIC, not_found=plans_store.NOT_FOUND
    )
    meets = runtime.aggregate(
        SportsMeet,
        name=sports_store.MEETS,
        topic=sports_store.TOPIC,
        not_found=sports_store.NOT_FOUND,
    )
    directory = MemberDirectory(runtime.db)
    catalog = ActivityCatalog(activities)
    ctx = Registrations(RegistrationBook(registrations), catalog, directory)
    runtime.subscribe(subscriptions(directory, ctx))
    runtime.schedule(Job("registrations.promote_waiting", Every(60), partial(promote_waiting, ctx)))
    surveys = runtime.aggregate(
        Survey,
        name=surveys_store.SURVEYS,
        topic=surveys_store.TOPIC,
        not_found=surveys_store.NOT_FOUND,
    )
    voice_secret = settings.voice_secret.encode()
    survey_ctx = Surveys(SurveyBook(surveys, voice_secret), directory, PlanBook(plans), catalog)
    suggestions = runtime.aggregate(
        Suggestion,
        name=suggestions_store.SUGGESTIONS,
        topic=suggestions_store.TOPIC,
        not_found=suggestions_store.NOT_FOUND,
    )
    runtime.schedule(Job("surveys.keep_time", Every(60), partial(keep_time, survey_ctx)))
    runtime.context = EventsContext(
        catalog=catalog,
        registrations=ctx,
        directory=directory,
        audit=AuditLog(runtime.db),
        plans=PlanBook(plans),
        meets=MeetBook(meets),
        calendar_secret=settings.calendar_secret.encode(),
        calendar_base_url=settings.calendar_base_url,
        surveys=survey_ctx,
        suggestions=Box(suggestions, directory, voice_secret),
    )
    return runtime
