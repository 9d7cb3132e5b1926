"""Pure rules of the sports meet (趣味运动会): items, ranks from times or scores, team points.

A sports meet is an activity of kind `sports_meet`; its meet (this aggregate, with the
activity's id) holds the items (individual or relay), how many items one member may enter
(`max_entries`), the points table (points for rank 1, 2, 3 …), the recorded results and the
last published ones. Departments are the teams. Entries are not part of the aggregate: each
is a claimed slot (see `store.py`), so "at most N items per member" holds under any
concurrency.

`ranked` and `standings` are pure: ties share a rank (1, 2, 2, 4) and each tied place scores
the points of its rank; teams are ordered by points, then first places, then name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from shared.aggregate import Aggregate
from shared.errors import Conflict, NotFound
from shared.events.events import (
    ItemPodium,
    PodiumPlace,
    SportsItemFacts,
    SportsMeetSetUp,
    SportsResultsPublished,
    SportsResultsRecorded,
    TeamStanding,
)
from shared.labels import Labelled
from shared.text import VISIBLE_TEXT, normalize

MEET_ITEM_ID = r"^e[0-9]{1,3}$"
DEFAULT_POINTS = [9, 7, 6, 5, 4, 3, 2, 1]
MAX_ITEMS = 60


class ItemKind(Labelled):
    individual = "individual", "个人项目"
    relay = "relay", "接力项目"  # 接力 / 团体项目: the department's team


class Measure(StrEnum):
    time = "time"  # 用时，少者胜
    score = "score"  # 成绩 / 得分，多者胜
    rank = "rank"  # 名次由裁判直接给出


# -- commands ---------------------------------------------------------------------------------


class NewItem(BaseModel):
    """Command: an item of the meet (比赛项目)."""

    name: str = Field(max_length=50, pattern=VISIBLE_TEXT, description="项目名称，如 托球跑")
    kind: ItemKind = Field(ItemKind.individual, description="individual 个人 / relay 接力")
    measure: Measure = Field(
        Measure.time, description="time 用时（少者胜）/ score 得分（多者胜）/ rank 直接给名次"
    )


Points = list[Annotated[int, Field(ge=0, le=100)]]


class SetUpMeet(BaseModel):
    """Command: make a sports-meet activity's meet: its rules and (some of) its items."""

    max_entries: int = Field(2, ge=1, le=10, description="每人最多报名项目数")
    points: Points = Field(
        default_factory=lambda: list(DEFAULT_POINTS),
        min_length=1,
        max_length=20,
        description="名次积分表：第 1、2、3 … 名的团体积分",
    )
    items: list[NewItem] = Field(default_factory=list, max_length=MAX_ITEMS)


class ChangeRules(BaseModel):
    """Command: a new points table, or more entries per member (never fewer: entries made
    stay made)."""

    max_entries: int | None = Field(None, ge=1, le=10)
    points: Points | None = Field(
        None,
        min_length=1,
        max_length=20,
    )


class ResultIn(BaseModel):
    """One result: who (a member for an individual item, a department for a relay) and the
    time, the score or the rank, as the item measures."""

    member_id: str | None = Field(
        None, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="个人项目"
    )
    team: str | None = Field(
        None, max_length=64, pattern=VISIBLE_TEXT, description="接力项目：部门名称"
    )
    value: float | None = Field(None, ge=0, le=1_000_000, description="用时（秒）或得分")
    rank: int | None = Field(None, ge=1, le=1000, description="名次（measure = rank 时）")


# -- the aggregate ----------------------------------------------------------------------------


class MeetItem(BaseModel):
    id: str
    name: str
    kind: ItemKind
    measure: Measure


class Result(BaseModel):
    rank: int
    team: str
    member_id: str | None = None
    value: float | None = None


class Published(BaseModel):
    revision: int
    at: datetime
    results: dict[str, list[Result]]
    standings: list[TeamStanding]


class SportsMeet(Aggregate):
    """The meet of a sports-meet activity (its id is the activity's)."""

    title: str
    max_entries: int
    points: list[int]
    items: list[MeetItem] = Field(default_factory=list)
    results: dict[str, list[Result]] = Field(default_factory=dict)
    published: Published | None = None

    @property
    def activity_id(self) -> str:
        return self.id

    def item(self, item_id: str) -> MeetItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise NotFound("meet.item_not_found", "未找到该比赛项目", item=item_id)

    def _set_up_event(self) -> SportsMeetSetUp:
        items = [
            SportsItemFacts(item_id=i.id, name=i.name, kind=i.kind.value, measure=i.measure.value)
            for i in self.items
        ]
        return SportsMeetSetUp.of(self, items=items)

    def add_item(self, cmd: NewItem) -> MeetItem:
        name = normalize(cmd.name)
        if any(i.name == name for i in self.items):
            raise Conflict("meet.item_exists", f"已有项目「{name}」", name=name)
        if len(self.items) >= MAX_ITEMS:
            raise Conflict("meet.too_many_items", f"一届运动会最多 {MAX_ITEMS} 个项目")
        number = max((int(i.id[1:]) for i in self.items), default=0) + 1
        item = MeetItem(id=f"e{number}", name=name, kind=cmd.kind, measure=cmd.measure)
        self.items.append(item)
        self.record(self._set_up_event())
        return item

    def change_rules(self, cmd: ChangeRules) -> None:
        changed = False
        if cmd.max_entries is not None and cmd.max_entries != self.max_entries:
            if cmd.max_entries < self.max_entries:
                raise Conflict(
                    "meet.entries_shrink",
                    "每人报名项目数只能增加（已报的项目不会被取消）",
                    max_entries=self.max_entries,
                )
            self.max_entries, changed = cmd.max_entries, True
        if cmd.points is not None and cmd.points != self.points:
            self.points, changed = list(cmd.points), True
        if changed:
            self.record(self._set_up_event())

    def record_results(self, item_id: str, results: list[Result]) -> None:
        item = self.item(item_id)
        if self.results.get(item_id) == results:
            return
        self.results[item_id] = results
        self.record(
            SportsResultsRecorded.of(
                self, item_id=item.id, item_name=item.name, results=len(results)
            )
        )

    def publish(self, now: datetime, teams: Iterable[str] = ()) -> Published:
        if not any(self.results.values()):
            raise Conflict("meet.no_results", "还没有录入任何成绩，不能公布")
        table = standings(self.results, self.points, teams)
        revision = self.published.revision + 1 if self.published else 1
        if self.published and self.published.results == self.results:
            if self.published.standings == table:
                return self.published  # nothing new since the last publication
        self.published = Published(
            revision=revision, at=now, results=dict(self.results), standings=table
        )
        podiums = [
            ItemPodium(
                item_id=i.id,
                name=i.name,
                places=[
                    PodiumPlace(rank=r.rank, team=r.team, member_id=r.member_id)
                    for r in self.results.get(i.id, [])
                    if points_for(r.rank, self.points) > 0
                ],
            )
            for i in self.items
            if self.results.get(i.id)
        ]
        self.record(
            SportsResultsPublished.of(self, revision=revision, standings=table, podiums=podiums)
        )
        return self.published


def set_up(activity_id: str, campus: str, title: str, cmd: SetUpMeet) -> SportsMeet:
    meet = SportsMeet(
        id=activity_id, campus=campus, title=title, max_entries=cmd.max_entries, points=cmd.points
    )
    for item in cmd.items:
        meet.add_item(item)
    meet.pull_events()
    meet.record(meet._set_up_event())
    return meet


# -- results and standings --------------------------------------------------------------------


def ranked(measure: Measure, rows: Sequence[ResultIn], team_of: Mapping[str, str]) -> list[Result]:
    """Results with their ranks: by time (fewer seconds first) or score (more first), ties
    sharing a rank (1, 2, 2, 4); or the ranks as given. `team_of` maps each member or relay
    team named to its team (a department); one missing there did not enter (409)."""
    out: list[tuple[float | int, Result]] = []
    seen: set[str] = set()
    for row in rows:
        who = row.member_id if row.member_id is not None else row.team
        if who is None:
            raise Conflict("meet.result_without_entrant", "每条成绩须写明会员或部门")
        who = normalize(who) if row.member_id is None else who
        if who in seen:
            raise Conflict("meet.result_twice", f"「{who}」的成绩写了两次", who=who)
        seen.add(who)
        team = team_of.get(who)
        if team is None:
            raise Conflict("meet.not_entered", f"「{who}」没有报名这个项目", who=who)
        if measure is Measure.rank:
            if row.rank is None:
                raise Conflict("meet.rank_missing", "本项目按名次计，请写明名次", who=who)
            key: float | int = row.rank
        else:
            if row.value is None:
                raise Conflict("meet.value_missing", "本项目按用时或得分计，请写明成绩", who=who)
            key = row.value if measure is Measure.time else -row.value
        member = row.member_id
        out.append((key, Result(rank=0, team=team, member_id=member, value=row.value)))
    out.sort(key=lambda pair: pair[0])
    results: list[Result] = []
    for index, (key, result) in enumerate(out):
        if measure is Measure.rank:
            result.rank = int(key)
        elif index and key == out[index - 1][0]:
            result.rank = results[-1].rank
        else:
            result.rank = index + 1
        results.append(result)
    return results


def points_for(rank: int, points: Sequence[int]) -> int:
    return points[rank - 1] if 1 <= rank <= len(points) else 0


def standings(
    results: Mapping[str, Sequence[Result]], points: Sequence[int], teams: Iterable[str] = ()
) -> list[TeamStanding]:
    """Team standings (团体总分): each place scores its rank's points for its team; teams by
    points, then first places, then name; equal points and firsts share a place. `teams`
    adds teams that took part and scored nothing."""
    totals: dict[str, list[int]] = {team: [0, 0] for team in teams}
    for rows in results.values():
        for row in rows:
            total = totals.setdefault(row.team, [0, 0])
            total[0] += points_for(row.rank, points)
            total[1] += row.rank == 1
    order = sorted(totals.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
    table: list[TeamStanding] = []
    for index, (team, (score, firsts)) in enumerate(order):
        rank = index + 1
        if table and (table[-1].points, table[-1].firsts) == (score, firsts):
            rank = table[-1].rank
        table.append(TeamStanding(rank=rank, team=team, points=score, firsts=firsts))
    return table
