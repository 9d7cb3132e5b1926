"""Labels said once: the labelled enums, the vocabulary every page shows, names for codes."""

from __future__ import annotations

import asyncio
import json

import pytest
from jinja2 import Environment
from pydantic import BaseModel

from services.web import filters
from services.web.backend import ApiError
from services.web.org import Org, OrgCache
from shared.labels import Labelled
from shared.vocabulary.events import ActivityKind, ActivityStatus, PlanItemStatus
from shared.vocabulary.members import CareStatus, Gender, ImportOutcome, MemberStatus, UnionRole


class Colour(Labelled):
    red = "red", "红"
    green = "green", "绿"


def test_a_labelled_member_is_its_code_and_carries_its_label():
    assert Colour.red == "red" and Colour("green") is Colour.green
    assert Colour.red.value == "red" and Colour.red.label == "红"
    assert f"{Colour.red}" == "red" and json.dumps({"c": Colour.red}) == '{"c": "red"}'
    assert Colour.labels() == {"red": "红", "green": "绿"}
    assert Colour.of("绿") is Colour.green and Colour.of("red") is Colour.red
    with pytest.raises(ValueError):
        Colour.of("蓝")
    assert Colour.label_of("green") == "绿" and Colour.label_of("blue") == "blue"


def test_a_code_without_its_label_is_a_programming_error():
    with pytest.raises(TypeError, match="label"):

        class Bare(Labelled):
            plain = "plain"


def test_a_labelled_enum_is_a_plain_string_enum_to_pydantic():
    class Paint(BaseModel):
        colour: Colour

    assert Paint(colour="red").model_dump(mode="json") == {"colour": "red"}
    assert Paint.model_json_schema()["$defs"]["Colour"]["enum"] == ["red", "green"]
    with pytest.raises(ValueError):
        Paint(colour="红")  # the label is for people; the API speaks codes


def test_the_domains_words_are_the_ones_shown():
    # The web front end once said 在会会员 / 已故 / 在家: the domain's words win.
    assert MemberStatus.labels() == {
        "applied": "申请中",
        "active": "在会",
        "rejected": "申请未通过",
        "withdrawn": "已退会",
        "retired": "已退休",
        "deceased": "已去世",
    }
    assert CareStatus.none.label == "未入托入园"
    assert UnionRole.finance.label == "经费管理" and Gender.female.label == "女"
    assert ActivityKind.of("无偿献血") is ActivityKind.blood_donation
    assert ActivityStatus.registration_closed.label == "报名截止"
    assert PlanItemStatus.labels()["in_progress"] == "进行中"
    assert ImportOutcome.duplicate.label == "重复行"


def test_every_vocabulary_label_is_chinese_and_unique_in_its_enum():
    for enum in (MemberStatus, UnionRole, Gender, CareStatus, ImportOutcome, ActivityKind):
        labels = list(enum.labels().values())
        assert len(set(labels)) == len(labels), enum
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in labels), enum


ORG = Org.of(
    [
        {"code": "main", "name": "主校区", "small_groups": [{"code": "g-art", "name": "艺术之家"}]},
        {"code": "north", "name": "北校区", "small_groups": []},
    ]
)


def test_codes_are_shown_as_names():
    assert [ORG.campus(c) for c in ("main", "*", "west", None)] == ["主校区", "全校", "west", ""]
    assert ORG.small_group("g-art") == "艺术之家" and ORG.small_group("g-x") == "g-x"
    assert ORG.names("campus", ["main", "north"]) == "主校区、北校区"
    assert [c["code"] for c in ORG.choices] == ["main", "north"]


def test_a_sentence_naming_codes_is_rewritten_with_names_by_its_own_template():
    names = {"rule": "campus", "codes": ["main"], "template": "本活动仅限{}教职工参加"}
    assert ORG.named("本活动仅限main校区教职工参加", names) == "本活动仅限主校区教职工参加"
    groups = {"rule": "small_group", "codes": ["g-art"], "template": "教工小家：{}"}
    assert ORG.named("教工小家：g-art", groups) == "教工小家：艺术之家"
    assert ORG.named("年龄：18 岁及以上", None) == "年龄：18 岁及以上"


def test_templates_write_names_through_filters():
    env = Environment(autoescape=True)
    filters.install(env)
    page = env.from_string("{{ a|campus }} / {{ b|campus }} / {{ t|named(n) }}")
    n = {"rule": "campus", "codes": ["north"], "template": "校区：{}"}
    context = {"a": "main", "b": "*", "t": "校区：north", "n": n}
    assert page.render(org=ORG, **context) == "主校区 / 全校 / 校区：北校区"
    assert page.render(**context) == "main / 全校 / 校区：north"  # no org asked: the codes


def test_the_org_is_fetched_once_a_minute_and_survives_members_being_down():
    calls: list[int] = []

    async def fetch() -> list[dict]:
        calls.append(1)
        await asyncio.sleep(0.01)
        return [{"code": "main", "name": "主校区"}]

    async def down() -> list[dict]:
        raise ApiError(503, "members.unavailable", "服务暂不可用", {})

    async def scenario() -> None:
        cache = OrgCache(ttl=60)
        assert (await cache.get(down)).campus("main") == "main"  # nothing yet: codes
        found = await asyncio.gather(*(cache.get(fetch) for _ in range(5)))
        assert len(calls) == 1 and all(o.campus("main") == "主校区" for o in found)
        stale = OrgCache(ttl=0)  # a minute later, members is down: the last copy serves
        stale.org = cache.org
        assert (await stale.get(down)).campus("main") == "主校区"

    asyncio.run(scenario())


def test_the_kinds_a_request_may_say_are_the_codes_and_labels_of_activity_kind():
    from typing import get_args

    from services.events.activities.domain import KindText

    assert list(get_args(KindText)) == [*ActivityKind.labels(), *ActivityKind.labels().values()]
