"""Shared plumbing rules that need no I/O: envelope, topics, auth, masking, time."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.members.settings import MembersSettings
from shared.auth import Principal, Role, TokenVerifier, mint_token
from shared.envelope import CloudEvent, topic_of, trace_id_of
from shared.errors import Forbidden
from shared.events.members import MemberJoined
from shared.principal import Grants
from shared.problems import ProblemError
from shared.settings import DEV_PUBLIC_KEY
from shared.text import mask_email, mask_phone
from shared.timeutil import local_today
from shared.topics import TOPICS, all_topics


def joined() -> MemberJoined:
    return MemberJoined(
        member_id="m-1",
        staff_no="T1",
        name="王老师",
        campus="east",
        department="艺术系",
        joined_on="2026-09-01",
    )


def test_envelope_round_trips_as_cloudevents_json():
    env = joined().envelope(source="members", subject="m-1", campus="east")
    back = CloudEvent.from_json_bytes(env.to_json_bytes())
    assert back == env
    assert back.specversion == "1.0" and back.source == "gonghui/members"
    assert "王老师" in env.to_json_bytes().decode()  # UTF-8, not \\u escapes
    assert trace_id_of(env.traceparent) is not None


def test_event_type_maps_to_its_declared_topic():
    assert topic_of(MemberJoined.type) == MemberJoined.topic == "members.member"
    declared = {t.name for t in all_topics()}
    assert {f"{t.name}.dlq" for t in TOPICS} <= declared


def test_an_event_is_built_from_its_aggregate_and_carries_its_sequence():
    class Person:
        id = "m-1"
        staff_no, name, campus, department = "T1", "王老师", "east", "艺术系"
        email, phone, joined_on = None, "13800000001", "2026-09-01"

    event = MemberJoined.of(Person())
    assert event.member_id == "m-1" and event == joined()  # the phone has nowhere to go
    env = event.envelope(source="members", subject="m-1", campus="east", sequence="x")
    assert CloudEvent.from_json_bytes(env.to_json_bytes()).sequence == "x"


def test_sequences_order_as_strings_the_way_versions_order_as_numbers():
    from shared.events import sequence_of

    order = [sequence_of(v, i) for v, i in [(1, 0), (2, 0), (2, 1), (9, 0), (10, 0), (10, 11)]]
    assert sorted(order) == order


def test_tokens_carry_roles_and_campuses_and_reject_tampering():
    verifier = TokenVerifier(DEV_PUBLIC_KEY, "gonghui-members")
    token = mint_token("m-1", ["member"], ["east"])
    principal = verifier.verify(token)
    assert principal.roles == {"member"} and principal.campuses == {"east"}
    head, body, sig = token.split(".")
    with pytest.raises(ProblemError) as err:
        verifier.verify(f"{head}.{body}.{sig[::-1]}")
    assert err.value.code == "auth.invalid_token"
    with pytest.raises(ProblemError) as err:
        verifier.verify(mint_token("m-1", ["member"], ["east"], ttl_s=-10))
    assert err.value.code == "auth.token_expired"


def test_campus_scope_and_roles():
    cadre = Principal("c-1", frozenset({"cadre"}), frozenset({"east"}))
    school = Principal("a-1", frozenset({"admin"}), frozenset({"*"}))
    assert cadre.campus_filter() == {"campus": "east"}
    two = Principal("c-2", frozenset({"cadre"}), frozenset({"east", "west"}))
    assert two.campus_filter() == {"campus": {"$in": ["east", "west"]}}
    assert school.campus_filter() == {}
    assert cadre.has_role(Role.cadre) and not cadre.has_role(Role.finance)
    assert school.has_role(Role.finance)
    with pytest.raises(Forbidden) as refused:
        cadre.require_campus("west")
    assert refused.value.status == 403 and refused.value.code == "auth.campus_forbidden"
    with pytest.raises(Forbidden) as refused:
        cadre.require(Role.finance)
    assert refused.value.code == "auth.forbidden"
    assert cadre.require(Role.cadre, campus="east") is cadre
    assert school.require(Role.finance, campus="west") is school


def test_covers_is_each_role_on_each_campus():
    cadre = Principal("c-1", frozenset({"member", "cadre"}), frozenset({"east"}))
    assert cadre.covers(Grants(("cadre", "member"), ("east",)))
    assert not cadre.covers(Grants(("member",), ("west",)))
    assert not cadre.covers(Grants(("admin", "member"), ("*", "east")))
    with pytest.raises(Forbidden) as refused:
        cadre.require_covers(Grants(("finance", "member"), ("east",)))
    assert refused.value.code == "auth.grants_exceeded"


def test_production_refuses_the_checked_in_dev_keys(monkeypatch):
    monkeypatch.setenv("GONGHUI_ENV", "production")
    with pytest.raises(ValueError, match="development key"):
        MembersSettings()
    monkeypatch.setenv("GONGHUI_AUTH_PUBLIC_KEY_FILE", "/etc/gonghui/signing.pub.pem")
    monkeypatch.setenv("GONGHUI_AUTH_PRIVATE_KEY_FILE", "/etc/gonghui/signing.pem")
    with pytest.raises(ValueError, match=r"dev-data\.key"):
        MembersSettings()  # the data key too
    monkeypatch.setenv("GONGHUI_DATA_KEY_FILE", "/etc/gonghui/data.key")
    with pytest.raises(ValueError, match=r"dev-link\.pub\.pem"):
        MembersSettings()  # notify's public key for login links too
    monkeypatch.setenv("GONGHUI_LINK_PUBLIC_KEY_FILE", "/etc/gonghui/link.pub.pem")
    assert MembersSettings().env == "production"


def test_settings_derive_database_and_group_per_service(monkeypatch):
    monkeypatch.setenv("GONGHUI_TOPIC_PREFIX", "t1.")
    settings = MembersSettings()
    assert settings.mongo_db == "gonghui_members"
    assert settings.consumer_group == "gonghui-members"
    assert settings.topic("members.member") == "t1.members.member"


def test_masking_personal_data():
    assert mask_phone("13800000001") == "138****0001"
    assert mask_email("wang@school.local") == "w***@school.local"


def test_business_date_is_shanghai_date():
    # 2026-09-01 17:30 UTC is already 2 September in Suzhou.
    assert str(local_today(datetime(2026, 9, 1, 17, 30, tzinfo=UTC))) == "2026-09-02"


def test_dev_key_files_exist():
    assert Path(DEV_PUBLIC_KEY).is_file()


def test_production_refuses_a_copy_of_the_dev_key_mounted_elsewhere(monkeypatch, tmp_path):
    copy = tmp_path / "signing.pub.pem"
    copy.write_bytes(Path(DEV_PUBLIC_KEY).read_bytes())
    monkeypatch.setenv("GONGHUI_ENV", "production")
    monkeypatch.setenv("GONGHUI_AUTH_PUBLIC_KEY_FILE", str(copy))
    monkeypatch.setenv("GONGHUI_AUTH_PRIVATE_KEY_FILE", "/etc/gonghui/signing.pem")
    with pytest.raises(ValueError, match="development key"):
        MembersSettings()


def test_dead_letter_headers_are_the_documented_ones():
    from aiokafka import ConsumerRecord

    from shared.dlq import DEAD_LETTER_HEADERS, dead_letter_headers

    record = ConsumerRecord("t.members.member", 2, 41, 0, 0, b"k", b"v", None, 1, 1, [])
    headers = dict(dead_letter_headers(record, "g", "on_x", ValueError("坏数据"), 3))
    assert set(headers) == set(DEAD_LETTER_HEADERS)
    assert headers["x-original-offset"] == b"41" and headers["x-error"] == "坏数据".encode()


def test_a_problem_naming_a_moment_shows_it_in_beijing_time():
    """A rule may name a datetime (an activity's start); the answer is JSON, never a 500."""
    import json

    from shared.problems import problem_response

    response = problem_response(
        "activity.in_the_past",
        409,
        "活动开始时间已过，不能发布",
        starts_at=datetime(2026, 3, 1, 6, 30, tzinfo=UTC),
        rule=None,
    )
    body = json.loads(bytes(response.body))
    assert response.status_code == 409
    assert body["starts_at"] == "2026-03-01T14:30:00+08:00"
    assert "rule" not in body


def test_keys_are_asked_one_by_one_only_on_ferretdb_and_only_where_it_pays():
    from shared.mongo import KEYS_PER_SCAN, key_by_key

    assert not key_by_key(False, 3, 50_000)  # MongoDB answers $in from its index
    assert not key_by_key(True, 0, 50_000)
    assert key_by_key(True, 3, 50_000)
    assert not key_by_key(True, 3, 40)  # a few nominations: one read of them all
    assert key_by_key(True, 500, 50_000)
    assert not key_by_key(True, 500, 1_000)  # reading 1,000 documents beats 500 round trips
    assert not key_by_key(True, 100, KEYS_PER_SCAN * 100)
    assert key_by_key(True, 100, KEYS_PER_SCAN * 100 + 1)
