"""Answers read off objects (shared.public): fields by name, labels, Beijing time, nested
lists, values given by the route, None."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel, Field, ValidationError

from shared.labels import Labelled
from shared.public import LocalDatetime, PublicModel


class Colour(Labelled):
    red = "red", "红"
    green = "green", "绿"


class Part(BaseModel):  # a pydantic domain object
    code: str
    colour: Colour
    secret: str = "not in the answer"


@dataclass
class Thing:  # a dataclass domain object
    id: str
    colour: Colour
    shade: Colour | None
    made_at: datetime
    checked_at: datetime | None
    parts: list[Part] = field(default_factory=list)


class PartPublic(PublicModel):
    code: str
    colour: Colour
    colour_label: str


class ThingPublic(PublicModel):
    id: str
    colour: Colour
    colour_label: str
    shade_label: str | None
    made_at: LocalDatetime = Field(description="北京时间")
    checked_at: LocalDatetime | None
    parts: list[PartPublic]
    mine: bool = False


NOON_UTC = datetime(2026, 4, 18, 4, 0, tzinfo=UTC)


def thing(**changes: object) -> Thing:
    values: dict[str, object] = {
        "id": "t-1",
        "colour": Colour.red,
        "shade": Colour.green,
        "made_at": NOON_UTC,
        "checked_at": NOON_UTC + timedelta(hours=1),
        "parts": [Part(code="a", colour=Colour.green), Part(code="b", colour=Colour.red)],
    }
    return Thing(**(values | changes))  # type: ignore[arg-type]


def test_fields_are_read_by_name_and_labels_from_their_code():
    found = ThingPublic.of(thing())
    assert found.id == "t-1" and found.colour is Colour.red
    assert found.colour_label == "红" and found.shade_label == "绿"


def test_a_stored_moment_is_shown_in_beijing_time():
    found = ThingPublic.of(thing())
    assert found.made_at == NOON_UTC and found.made_at.utcoffset() == timedelta(hours=8)
    assert found.made_at.isoformat() == "2026-04-18T12:00:00+08:00"
    assert found.checked_at is not None and found.checked_at.hour == 13
    assert found.model_dump(mode="json")["made_at"] == "2026-04-18T12:00:00+08:00"


def test_none_stays_none_for_a_label_and_a_moment():
    found = ThingPublic.of(thing(shade=None, checked_at=None))
    assert found.shade_label is None and found.checked_at is None


def test_a_nested_list_is_read_off_its_objects_the_same_way():
    found = ThingPublic.of(thing())
    assert [p.model_dump() for p in found.parts] == [
        {"code": "a", "colour": "green", "colour_label": "绿"},
        {"code": "b", "colour": "red", "colour_label": "红"},
    ]
    # An object validated directly (not through `of`) is read off too.
    assert PartPublic.model_validate(Part(code="c", colour=Colour.red)).colour_label == "红"


def test_values_not_on_the_object_are_given_and_win_over_attributes():
    assert ThingPublic.of(thing()).mine is False
    assert ThingPublic.of(thing(), mine=True).mine is True
    assert ThingPublic.of(thing(), colour_label="given").colour_label == "given"


def test_a_missing_value_is_still_required():
    @dataclass
    class Bare:
        id: str

    with pytest.raises(ValidationError, match="colour"):
        ThingPublic.of(Bare("t-2"))


def test_a_dict_is_validated_as_usual_and_an_answer_validates_again_to_the_same():
    answer = ThingPublic.of(thing())
    dumped = answer.model_dump()
    # As FastAPI checks an answer: dumped, validated again (Beijing time stays Beijing time).
    again = ThingPublic.model_validate(dumped)
    assert again == answer and again.model_dump(mode="json") == answer.model_dump(mode="json")
    assert ThingPublic.model_validate(answer) is answer
    with pytest.raises(ValidationError, match="colour_label"):
        ThingPublic.model_validate({k: v for k, v in dumped.items() if k != "colour_label"})


def test_the_schema_is_that_of_plain_fields():
    class Plain(BaseModel):
        made_at: datetime = Field(description="北京时间")
        checked_at: datetime | None

    class Local(PublicModel):
        made_at: LocalDatetime = Field(description="北京时间")
        checked_at: LocalDatetime | None

    plain, local = Plain.model_json_schema(), Local.model_json_schema()
    assert plain | {"title": "Local"} == local


def test_a_given_value_is_not_read_off_the_object():
    class Moody:
        id = "t-3"
        made_at = NOON_UTC
        checked_at = None
        parts = ()

        @property
        def colour(self) -> Colour:
            raise AssertionError("a given value is read off the object")

    found = ThingPublic.of(
        Moody(), colour=Colour.green, colour_label="绿", shade_label=None, mine=True
    )
    assert found.colour is Colour.green and found.colour_label == "绿" and found.mine


def test_a_given_name_that_is_no_field_is_refused():
    with pytest.raises(TypeError, match="mnie"):
        ThingPublic.of(thing(), mnie=True)
