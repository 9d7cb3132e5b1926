"""The published contracts: generated docs are checked in and current, events stay compatible.

Pure: reads repository files, builds apps and schemas in memory, connects nowhere.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Literal

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field

from deploy.docs import REPO_ROOT, check, generate, published_schemas, read_checked_in
from deploy.docs.asyncapi import published_events
from deploy.docs.compat import catalog_problems, compatibility_problems, next_version
from shared.events import load_all
from shared.topics import TOPICS

EVENT_TYPE = re.compile(
    r"^(?P<topic>[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\.v[1-9]\d*$"
)
# DESIGN §3: events carry no ID-card numbers and no salaries.
FORBIDDEN_FIELD = re.compile(
    r"(^|_)(id_?(card|number|num|no)|identity(_?(card|number|no))?|sfz|salary\w*|wages?|pay_?base)($|_)",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def catalog():
    return generate(REPO_ROOT)


def test_checked_in_docs_are_what_the_code_generates(catalog):
    # The same check as `python -m deploy.docs --check`. The baseline for compatibility is
    # the checked-in schema files (in a clean checkout they are the committed ones).
    result = check(catalog, read_checked_in(REPO_ROOT), published_schemas("disk", REPO_ROOT))
    assert not result.stale, "run `make docs` and commit docs/:\n" + "\n".join(result.stale)
    assert not result.breaking, "\n".join(result.breaking)


def test_generation_is_stable(catalog):
    assert generate(REPO_ROOT).files == catalog.files


def test_the_catalog_documents_every_topic_and_event(catalog):
    doc = json.loads(catalog.files["docs/events/asyncapi.json"])
    assert doc["asyncapi"] == "3.0.0"
    for topic in TOPICS:
        assert doc["channels"][topic.name]["address"] == topic.name
        assert doc["channels"][topic.dlq.name]["address"] == topic.dlq.name
    for event_type, model in published_events().items():
        assert event_type in doc["channels"][model.topic]["messages"]
        message = doc["components"]["messages"][event_type]
        assert message["contentType"] == "application/cloudevents+json"
        data_ref = message["payload"]["allOf"][1]["properties"]["data"]["$ref"]
        assert data_ref == f"./schemas/{event_type}.json"
        assert f"docs/events/schemas/{event_type}.json" in catalog.files
        sends = [
            op
            for op in doc["operations"].values()
            if op["action"] == "send" and op["channel"]["$ref"] == f"#/channels/{model.topic}"
        ]
        assert len(sends) == 1, f"exactly one service publishes {model.topic}"


def test_event_schemas_are_valid_documented_json_schemas(catalog):
    for event_type, schema in catalog.schemas.items():
        Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith(event_type)
        assert schema["description"], f"{event_type} needs a docstring"
        for name, prop in schema["properties"].items():
            assert prop.get("description"), f"{event_type}: field {name} needs a description"


def test_openapi_documents_are_built_for_every_service(catalog):
    apis = {p: json.loads(t) for p, t in catalog.files.items() if p.startswith("docs/api/")}
    assert {p.split("/")[-1].split(".")[0] for p in apis} >= {
        "members",
        "events",
        "welfare",
        "notify",
    }
    for doc in apis.values():
        assert doc["openapi"].startswith("3.")
        assert "/healthz" in doc["paths"]


def test_every_event_type_is_named_and_routed_by_convention():
    registry = load_all()
    assert registry, "no event types registered"
    declared = {t.name for t in TOPICS}
    for event_type, model in registry.items():
        match = EVENT_TYPE.match(event_type)
        assert match, f"{event_type} is not <service>.<aggregate>.<fact>.v<N>"
        assert model.topic == match["topic"], f"{event_type} must travel on {match['topic']}"
        assert model.topic in declared, f"{model.topic} is not declared in shared.topics.TOPICS"


def _property_names(schema: dict) -> set[str]:
    names: set[str] = set()
    for sub in [schema, *schema.get("$defs", {}).values()]:
        names |= set(sub.get("properties", {}))
    return names


def test_no_event_carries_id_numbers_or_salaries():
    for event_type, model in load_all().items():
        leaked = {
            n for n in _property_names(model.model_json_schema()) if FORBIDDEN_FIELD.search(n)
        }
        assert not leaked, f"{event_type} carries personal data it must not: {sorted(leaked)}"


def test_the_forbidden_field_pattern_catches_what_it_should():
    for name in ("id_number", "id_card", "idcard", "member_id_no", "salary", "salary_base", "wage"):
        assert FORBIDDEN_FIELD.search(name), name
    for name in ("member_id", "staff_no", "campus", "activity_id", "paid_at", "validity"):
        assert not FORBIDDEN_FIELD.search(name), name


# --- compatibility rules, on small models -------------------------------------------------


class Address(BaseModel):
    city: str = Field(description="city")


class Published(BaseModel):
    member_id: str = Field(description="member id")
    staff_no: str = Field(description="staff number")
    joined_on: date = Field(description="date of joining")
    email: str | None = Field(None, description="e-mail")
    kind: Literal["a", "b"] = Field("a", description="kind")
    address: Address | None = Field(None, description="where")


def schema_of(model: type[BaseModel]) -> dict:
    return model.model_json_schema()


def test_an_unchanged_schema_is_compatible():
    assert compatibility_problems(schema_of(Published), schema_of(Published)) == []


def test_adding_an_optional_property_is_compatible():
    class WithPhone(Published):
        phone: str | None = Field(None, description="new and optional")
        tags: list[str] = Field(default_factory=list, description="new, with a default")

    assert compatibility_problems(schema_of(Published), schema_of(WithPhone)) == []


def test_changing_descriptions_and_defaults_is_compatible():
    class Reworded(BaseModel):
        member_id: str = Field(description="会员编号")
        staff_no: str = Field(description="工号", max_length=32)
        joined_on: date = Field(description="入会日期")
        email: str | None = Field(None, description="邮箱")
        kind: Literal["a", "b"] = Field("b", description="类型")
        address: Address | None = Field(None, description="地址")

    assert compatibility_problems(schema_of(Published), schema_of(Reworded)) == []


def test_a_removed_property_is_breaking():
    class Removed(BaseModel):
        member_id: str = Field(description="member id")
        joined_on: date = Field(description="date of joining")
        email: str | None = Field(None, description="e-mail")
        kind: Literal["a", "b"] = Field("a", description="kind")
        address: Address | None = Field(None, description="where")

    [problem] = compatibility_problems(schema_of(Published), schema_of(Removed))
    assert "`staff_no` was removed" in problem


def test_a_retyped_property_is_breaking():
    class Retyped(Published):
        joined_on: str = Field(description="now free text")  # type: ignore[assignment]

    [problem] = compatibility_problems(schema_of(Published), schema_of(Retyped))
    assert "`joined_on` changed type" in problem
    assert "string(date)" in problem


def test_a_property_turned_nullable_or_widened_enum_is_breaking():
    class Nullable(Published):
        staff_no: str | None = Field(description="may now be null")  # type: ignore[assignment]

    class MoreKinds(Published):
        kind: Literal["a", "b", "c"] = Field("a", description="kind")  # type: ignore[assignment]

    assert any(
        "`staff_no` changed type" in p
        for p in compatibility_problems(schema_of(Published), schema_of(Nullable))
    )
    assert any(
        "`kind` changed type" in p
        for p in compatibility_problems(schema_of(Published), schema_of(MoreKinds))
    )


def test_a_newly_required_property_is_breaking():
    class EmailRequired(Published):
        email: str = Field(description="now required")

    class NewRequired(Published):
        department: str = Field(description="new and required")

    problems = compatibility_problems(schema_of(Published), schema_of(EmailRequired))
    assert any("`email` became required" in p for p in problems)
    [problem] = compatibility_problems(schema_of(Published), schema_of(NewRequired))
    assert "required property `department` was added" in problem


def test_nested_models_are_compared_field_by_field():
    class Address2(BaseModel):
        city: str = Field(description="city")
        street: str | None = Field(None, description="optional, new")

    class Address3(BaseModel):
        town: str = Field(description="renamed")

    class Nested2(Published):
        address: Address2 | None = Field(None, description="where")  # type: ignore[assignment]

    class NestedOnly(BaseModel):
        address: Address = Field(description="where")

    class NestedOnly3(BaseModel):
        address: Address3 = Field(description="where")

    class NestedOnly2(BaseModel):
        address: Address2 = Field(description="where")

    assert compatibility_problems(schema_of(NestedOnly), schema_of(NestedOnly2)) == []
    problems = compatibility_problems(schema_of(NestedOnly), schema_of(NestedOnly3))
    assert "property `address.city` was removed" in problems
    assert "required property `address.town` was added (old records lack it)" in problems
    # Inside a union (here: nullable) a sub-model is compared as a whole.
    assert compatibility_problems(schema_of(Published), schema_of(Nested2))


def test_the_catalog_check_names_the_next_version_and_removed_types():
    old = {"members.member.joined.v1": schema_of(Published)}

    class Removed(BaseModel):
        member_id: str = Field(description="member id")

    problems = catalog_problems(old, {"members.member.joined.v1": schema_of(Removed)})
    assert problems and all("members.member.joined.v2" in p for p in problems)
    [gone] = catalog_problems(old, {})
    assert "members.member.joined.v1" in gone and "gone" in gone
    assert catalog_problems(old, {**old, "members.member.left.v1": schema_of(Removed)}) == []
    assert next_version("welfare.entitlement.created.v9") == "welfare.entitlement.created.v10"
