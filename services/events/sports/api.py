"""Sports meet routes (趣味运动会): items, entries, results and team standings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status
from pydantic import BaseModel, Field

from services.events.activities.api import ActivityId, Catalog
from services.events.deps import Cadre, Directory
from services.events.registrations.api import MemberId
from services.events.sports.domain import (
    MEET_ITEM_ID,
    ChangeRules,
    ItemKind,
    Measure,
    NewItem,
    ResultIn,
    SetUpMeet,
    SportsMeet,
    standings,
)
from services.events.sports.handlers import (
    add_item,
    change_rules,
    enter,
    meet_of,
    publish,
    record_results,
    set_up_meet,
    shown_results,
    withdraw,
)
from services.events.sports.store import MeetBook
from shared.auth import CurrentUser, Principal
from shared.events.events import TeamStanding
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided
from shared.timeutil import as_local

Meets = Annotated[MeetBook, Depends(provided("meets"))]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["运动会 sports meet"])

MeetItemId = Annotated[str, Path(pattern=MEET_ITEM_ID, description="项目编号，如 e1")]


class MeetItemPublic(BaseModel):
    id: str
    name: str
    kind: ItemKind
    measure: Measure
    entries: int | None = Field(description="报名人数（仅工会干部可见）")


class ResultPublic(BaseModel):
    rank: int
    team: str = Field(description="部门")
    member_id: str | None
    value: float | None = Field(description="用时（秒）或得分")


class MeetPublic(BaseModel):
    activity_id: str
    title: str
    campus: str
    version: int
    max_entries: int = Field(description="每人最多报名项目数")
    points: list[int] = Field(description="名次积分表")
    items: list[MeetItemPublic]
    my_entries: list[str] = Field(description="我已报名的项目编号")
    results: dict[str, list[ResultPublic]] = Field(
        description="各项目成绩：会员看到已公布的，工会干部看到已录入的"
    )
    standings: list[TeamStanding] = Field(description="团体总分（同上）")
    published_revision: int | None = Field(description="已公布的版次；空为尚未公布")
    published_at: datetime | None


def _results(results: dict[str, Any]) -> dict[str, list[ResultPublic]]:
    return {item: [ResultPublic(**r.model_dump()) for r in rows] for item, rows in results.items()}


def meet_public(
    meet: SportsMeet, user: Principal, mine: list[str], counts: dict[str, int] | None = None
) -> MeetPublic:
    live = shown_results(meet, user)
    published = meet.published
    if live:
        results, table = meet.results, standings(meet.results, meet.points)
    elif published is not None:
        results, table = published.results, published.standings
    else:
        results, table = {}, []
    return MeetPublic(
        activity_id=meet.id,
        title=meet.title,
        campus=meet.campus,
        version=meet.version,
        max_entries=meet.max_entries,
        points=meet.points,
        items=[
            MeetItemPublic(**i.model_dump(), entries=(counts or {}).get(i.id, 0) if live else None)
            for i in meet.items
        ],
        my_entries=mine,
        results=_results(results),
        standings=table,
        published_revision=published.revision if published else None,
        published_at=as_local(published.at) if published else None,
    )


async def _answer(meet: SportsMeet, meets: Meets, user: Principal) -> MeetPublic:
    mine = [e["item"] for e in await meets.of_member(meet.id, user.subject)]
    counts = await meets.counts(meet.id) if shown_results(meet, user) else None
    return meet_public(meet, user, sorted(mine), counts)


@router.post("/activities/{activity_id}/meet", status_code=status.HTTP_201_CREATED)
async def set_up(
    activity_id: ActivityId, body: SetUpMeet, catalog: Catalog, meets: Meets, user: Cadre
) -> MeetPublic:
    """Set up the meet of a sports-meet activity: entries per member, the points table, the
    items (409 `meet.exists` the second time); role: cadre of its campus."""
    activity = await catalog.visible(activity_id, user)
    return await _answer(await set_up_meet(activity, body, meets, user), meets, user)


@router.get("/activities/{activity_id}/meet")
async def get_meet(
    activity_id: ActivityId, catalog: Catalog, meets: Meets, user: CurrentUser
) -> MeetPublic:
    """The meet: items, my entries, and the published results and team standings (a cadre of
    its campus sees them as recorded); role: any signed-in user who may see the activity."""
    activity = await catalog.visible(activity_id, user)
    return await _answer(await meet_of(activity, meets), meets, user)


@router.patch("/activities/{activity_id}/meet")
async def change_meet_rules(
    activity_id: ActivityId, body: ChangeRules, catalog: Catalog, meets: Meets, user: Cadre
) -> MeetPublic:
    """A new points table, or more entries per member (never fewer); role: cadre of its
    campus."""
    activity = await catalog.visible(activity_id, user)
    return await _answer(await change_rules(activity, body, meets, user), meets, user)


@router.post("/activities/{activity_id}/meet/items", status_code=status.HTTP_201_CREATED)
async def add_meet_item(
    activity_id: ActivityId, body: NewItem, catalog: Catalog, meets: Meets, user: Cadre
) -> MeetItemPublic:
    """Add an item (individual or relay); role: cadre of its campus."""
    activity = await catalog.visible(activity_id, user)
    item = await add_item(activity, body, meets, user)
    return MeetItemPublic(**item.model_dump(), entries=0)


class EntryBody(BaseModel):
    member_id: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="替他人报名时填写（工会干部）；空为本人",
    )


class EntryPublic(BaseModel):
    item_id: str
    member_id: str
    name: str
    team: str = Field(description="代表队（部门）")
    entered_at: datetime

    @classmethod
    def of(cls, doc: dict[str, Any]) -> EntryPublic:
        return cls(
            item_id=doc["item"],
            member_id=doc["member_id"],
            name=doc.get("name", ""),
            team=doc.get("team", ""),
            entered_at=as_local(doc["entered_at"]),
        )


@router.post(
    "/activities/{activity_id}/meet/items/{item_id}/entries",
    status_code=status.HTTP_201_CREATED,
)
async def enter_item(
    activity_id: ActivityId,
    item_id: MeetItemId,
    body: EntryBody,
    catalog: Catalog,
    meets: Meets,
    directory: Directory,
    user: CurrentUser,
) -> EntryPublic:
    """Enter an item for oneself (at most the meet's N items: 409 `meet.entries_full`; twice
    is once), or for a member as a cadre of the campus; role: member (cadre for others)."""
    activity = await catalog.visible(activity_id, user)
    member_id = body.member_id or user.subject
    entry = await enter(activity, item_id, member_id, meets, directory, user)
    return EntryPublic.of(entry)


@router.delete(
    "/activities/{activity_id}/meet/items/{item_id}/entries/{member_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def withdraw_entry(
    activity_id: ActivityId,
    item_id: MeetItemId,
    member_id: MemberId,
    catalog: Catalog,
    meets: Meets,
    user: CurrentUser,
) -> None:
    """Withdraw from an item while entries are open; role: the member themself, or a cadre of
    the campus."""
    activity = await catalog.visible(activity_id, user)
    await withdraw(activity, item_id, member_id, meets, user)


@router.get("/activities/{activity_id}/meet/items/{item_id}/entries")
async def list_entries(
    activity_id: ActivityId, item_id: MeetItemId, catalog: Catalog, meets: Meets, user: Cadre
) -> list[EntryPublic]:
    """Who entered an item, with their team (department); role: cadre of its campus."""
    activity = await catalog.visible(activity_id, user)
    user.require_campus(activity.campus)
    (await meet_of(activity, meets)).item(item_id)
    return [EntryPublic.of(e) for e in await meets.of_item(activity_id, item_id)]


class ResultsBody(BaseModel):
    results: list[ResultIn] = Field(max_length=500, description="本项目的全部成绩（替换已录入的）")


@router.put("/activities/{activity_id}/meet/items/{item_id}/results")
async def put_results(
    activity_id: ActivityId,
    item_id: MeetItemId,
    body: ResultsBody,
    catalog: Catalog,
    meets: Meets,
    user: Cadre,
) -> MeetPublic:
    """Record an item's results (times, scores or ranks; ranks follow from times and
    scores, ties share one); role: cadre of its campus."""
    activity = await catalog.visible(activity_id, user)
    meet = await record_results(activity, item_id, body.results, meets, user)
    return await _answer(meet, meets, user)


@router.post("/activities/{activity_id}/meet/publish")
async def publish_results(
    activity_id: ActivityId, catalog: Catalog, meets: Meets, user: Cadre
) -> MeetPublic:
    """Publish the results and team standings to every member of the meet's scope (again
    after a correction: the next revision); role: cadre of its campus."""
    activity = await catalog.visible(activity_id, user)
    return await _answer(await publish(activity, meets, user), meets, user)
