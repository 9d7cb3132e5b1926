"""Check-in at the door, the QR image, attendance, the CSV, and what events publishes."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
import resvg_py
import zxingcpp
from jsonschema import Draft202012Validator, FormatChecker
from PIL import Image

from tests.integration import events_kit as kit
from tests.integration.conftest import Stack, stack_fixture
from tests.kafka_tools import read_all

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"


stack = stack_fixture("members", "events", scope="module")


@pytest.fixture(scope="module")
async def door(stack: Stack) -> dict[str, str]:
    """A cadre who is also a member (王芳), so the door list shows her name."""
    wang = await kit.enrol(stack, "K0001", name="王芳")
    await kit.known_to_events(stack, wang)
    return kit.bearer(wang, ["cadre", "member"], ["main"])


async def confirmed_member(stack: Stack, staff_no: str, activity_id: str) -> tuple[str, str]:
    member = await kit.enrol(stack, staff_no, name="李静", department="艺术系")
    await kit.known_to_events(stack, member)
    response = await kit.sign_up(stack, activity_id, member)
    assert response.json()["status"] == "confirmed", response.text
    return member, response.json()["code"]


async def test_check_in_valid_repeated_and_another_activitys_code(stack: Stack, door):
    lecture = await kit.activity(stack, capacity=10)
    other = await kit.activity(stack, title="合唱排练")
    member, code = await confirmed_member(stack, "K0101", lecture["id"])
    _, foreign = await confirmed_member(stack, "K0102", other["id"])
    url = f"/activities/{lecture['id']}/checkins"

    first = await stack.events_http.post(url, json={"code": code.lower()}, headers=door)
    assert first.status_code == 200, first.text
    assert first.json()["checked_in_by"] == "王芳" and first.json()["checked_in_at"]

    again = await stack.events_http.post(url, json={"code": code}, headers=door)
    assert again.status_code == 409 and again.json()["code"] == "checkin.already"
    assert again.json()["title"].startswith("已于 ") and again.json()["title"].endswith(
        " 由 王芳 签到"
    )

    wrong = await stack.events_http.post(url, json={"code": foreign}, headers=door)
    assert wrong.status_code == 409 and wrong.json()["code"] == "checkin.other_activity"
    unknown = await stack.events_http.post(url, json={"code": "ZZZZZZ"}, headers=door)
    assert unknown.status_code == 422 and unknown.json()["code"] == "checkin.unknown_code"
    as_member = await stack.events_http.post(url, json={"code": code}, headers=kit.member(member))
    assert as_member.status_code == 403


async def test_concurrent_check_ins_of_one_registration_write_one(stack: Stack, door):
    activity = await kit.activity(stack)
    _, code = await confirmed_member(stack, "K0201", activity["id"])
    url = f"/activities/{activity['id']}/checkins"
    results = await asyncio.gather(
        *(stack.events_http.post(url, json={"code": code}, headers=door) for _ in range(12))
    )
    assert sorted(r.status_code for r in results) == [200] + [409] * 11
    assert {r.json()["code"] for r in results if r.status_code == 409} == {"checkin.already"}


async def test_a_walk_in_is_recorded_once(stack: Stack, door):
    activity = await kit.activity(stack, capacity=1)
    walker = await kit.enrol(stack, "K0301", name="赵强")
    await kit.known_to_events(stack, walker)
    url = f"/activities/{activity['id']}/walkins"
    by_staff_no = await stack.events_http.post(url, json={"member": "k0301"}, headers=door)
    assert by_staff_no.status_code == 200, by_staff_no.text
    assert by_staff_no.json()["walk_in"] and by_staff_no.json()["seats"] == 0
    twice = await stack.events_http.post(url, json={"member": walker}, headers=door)
    assert twice.status_code == 409 and twice.json()["code"] == "checkin.already"
    nobody = await stack.events_http.post(url, json={"member": "NOBODY1"}, headers=door)
    assert nobody.status_code == 422 and nobody.json()["code"] == "member.not_found"


async def test_a_walk_in_outside_the_cadres_campuses_answers_like_an_unknown_member(
    stack: Stack, door
):
    """The desk of campus main learns nothing about people of other campuses: the same 422,
    the same code and the same words as for a staff number nobody has."""
    activity = await kit.activity(stack)
    elsewhere = await kit.enrol(stack, "K0311", name="孙丽", campus="east")
    await kit.known_to_events(stack, elsewhere)
    url = f"/activities/{activity['id']}/walkins"
    for asked in ("K0311", elsewhere):
        outside = await stack.events_http.post(url, json={"member": asked}, headers=door)
        unknown = await stack.events_http.post(url, json={"member": "NOBODY2"}, headers=door)
        assert outside.status_code == unknown.status_code == 422, outside.text
        shape = {k: v for k, v in outside.json().items() if k not in ("member", "instance")}
        assert shape == {
            **{k: v for k, v in unknown.json().items() if k not in ("member", "instance")},
            "title": f"未找到会员「{asked}」",
        }
    listed = await stack.events_http.get(
        f"/activities/{activity['id']}/registrations", headers=door
    )
    assert elsewhere not in json.dumps(listed.json())


async def test_the_qr_image_decodes_back_to_the_code(stack: Stack):
    activity = await kit.activity(stack)
    member, code = await confirmed_member(stack, "K0401", activity["id"])
    base = f"/activities/{activity['id']}/registrations/{member}"
    png = await stack.events_http.get(f"{base}/qr.png", headers=kit.member(member))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert found.text == code and found.format == zxingcpp.BarcodeFormat.QRCode

    svg = await stack.events_http.get(f"{base}/qr.svg", headers=kit.member(member))
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    rendered = resvg_py.svg_to_bytes(svg_string=svg.text)  # an independent SVG renderer
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(bytes(rendered))))
    assert found.text == code

    stranger = await stack.events_http.get(f"{base}/qr.png", headers=kit.member("m-stranger"))
    assert stranger.status_code == 403


async def test_attendance_statistics_and_the_csv_export(stack: Stack, door):
    activity = await kit.activity(stack, capacity=2, guests_max=1)
    aid = activity["id"]
    _, code_a = await confirmed_member(stack, "K0501", aid)
    b = await kit.enrol(stack, "K0502", name="=HYPERLINK(1)", department="音乐系")
    c = await kit.enrol(stack, "K0503", department="音乐系")
    await kit.known_to_events(stack, b, c)
    assert (await kit.sign_up(stack, aid, c)).json()["status"] == "confirmed"
    assert (await kit.sign_up(stack, aid, b, guests=1)).json()["status"] == "waitlisted"
    assert (
        await stack.events_http.post(
            f"/activities/{aid}/checkins", json={"code": code_a}, headers=door
        )
    ).is_success
    await kit.settled(stack)

    stats = (await stack.events_http.get(f"/activities/{aid}/attendance", headers=door)).json()
    assert stats["total"] == {
        "registered": 2,
        "seats": 2,
        "waitlisted": 1,
        "cancelled": 0,
        "attended": 1,
        "walk_ins": 0,
        "rate": 0.5,
    }
    departments = {g["group"]: (g["registered"], g["attended"]) for g in stats["by_department"]}
    assert departments == {"艺术系": (1, 1), "音乐系": (1, 0)}
    assert [g["group"] for g in stats["by_campus"]] == ["main"]

    export = await stack.events_http.get(f"/activities/{aid}/registrations.csv", headers=door)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.content.startswith(b"\xef\xbb\xbf")  # the BOM Chinese Excel needs
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["姓名", "部门", "校区", "状态"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["李静"][3] == "报名成功（已签到）" and by_name["李静"][8] == "王芳"
    assert "'=HYPERLINK(1)" in by_name  # no formula runs in Excel
    assert by_name["'=HYPERLINK(1)"][5]  # its waitlist number

    report = (await stack.events_http.get("/attendance", headers=door)).json()
    mine = [x for x in report["by_activity"] if x["activity_id"] == aid]
    assert mine and mine[0]["attended"] == 1


async def test_published_events_match_the_catalog_and_blood_donation_is_attended(
    stack: Stack, door
):
    drive = await kit.activity(
        stack, kind="无偿献血", title="无偿献血活动", capacity=5, venue="校医院"
    )
    member, code = await confirmed_member(stack, "K0601", drive["id"])
    checked = await stack.events_http.post(
        f"/activities/{drive['id']}/checkins", json={"code": code}, headers=door
    )
    assert checked.status_code == 200
    moved = await stack.events_http.patch(
        f"/activities/{drive['id']}", json={"venue": "体育馆"}, headers=door
    )
    assert moved.status_code == 200
    await kit.settled(stack)

    topics = ("events.activity", "events.registration", "events.attendance")
    found = await asyncio.gather(
        *(read_all(stack.bootstrap, stack.topic(t), timeout_ms=1000) for t in topics)
    )
    records = dict(zip(topics, found, strict=True))
    seen: dict[str, int] = {}
    for topic in topics:
        for record in records[topic]:
            event = json.loads(record.value)
            schema = json.loads((SCHEMAS / f"{event['type']}.json").read_text())
            Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])
            seen[event["type"]] = seen.get(event["type"], 0) + 1
            if topic != "events.activity":  # keyed by activity: one activity, one partition
                assert record.key.decode() == event["data"]["activity_id"]
            else:
                assert record.key.decode() == event["subject"]
    for wanted in (
        "events.activity.drafted.v1",
        "events.activity.published.v1",
        "events.activity.changed.v1",
        "events.registration.confirmed.v1",
        "events.registration.checked_in.v1",
        "events.attendance.recorded.v1",
    ):
        assert seen.get(wanted), f"no {wanted} published"

    attendance = [json.loads(r.value)["data"] for r in records["events.attendance"]]
    donation = [a for a in attendance if a["activity_id"] == drive["id"]]
    assert [(a["member_id"], a["activity_kind"]) for a in donation] == [(member, "blood_donation")]
    changed = [
        json.loads(r.value)["data"]
        for r in records["events.activity"]
        if json.loads(r.value)["type"] == "events.activity.changed.v1"
    ]
    assert any(c["activity_id"] == drive["id"] and c["changed"] == ["venue"] for c in changed)
