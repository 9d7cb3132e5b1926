"""Members' HTTP contract on the real database: errors, roles, campus scope, masking."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.conftest import Stack, bearer, join, stack_fixture
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration

# One members service for the module (nothing here reads notify): each test enrols under its
# own staff numbers (`unique`), and a test that writes nothing compares the count before and
# after (the tests run one at a time).
stack = stack_fixture("members", scope="module")

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code and body["status"] == status
    assert body["type"] == f"urn:gonghui:problem:{code}"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["title"])  # said in Chinese
    return body


async def count_members(stack: Stack) -> int:
    """Members written (the change log is the truth; the list view follows it)."""
    return await stack.members.db["members_changes"].count_documents({"version": 1})


def staff_no_of(unique: str) -> str:
    """A staff number no other test uses (T + 12 hex digits, as the rule wants it)."""
    return unique.upper()


def counter(metrics: str, sample: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when not there yet)."""
    for line in metrics.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_invalid_body_is_a_422_problem_listing_each_field(stack: Stack, unique: str):
    before = await count_members(stack)
    response = await stack.members_http.post(
        "/members",
        json={"staff_no": staff_no_of(unique), "name": 5},
        headers=stack.cadre_headers(),
    )
    body = assert_problem(response, 422, "request.invalid")
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert fields["campus"] == "缺少必填项"
    assert fields["name"] == "应为文本"
    assert await count_members(stack) == before


async def test_a_rule_the_schema_states_is_refused_by_field_and_writes_nothing(
    stack: Stack, unique: str
):
    before = await count_members(stack)
    response = await stack.members_http.post(
        "/members",
        json={
            "staff_no": staff_no_of(unique),
            "name": "王",
            "campus": "main",
            "department": "艺术系",
            "phone": "12",
        },
        headers=stack.cadre_headers(),
    )
    body = assert_problem(response, 422, "request.invalid")
    assert [e["field"] for e in body["errors"]] == ["phone"]
    assert body["errors"][0]["message"] == "格式不正确"
    assert await count_members(stack) == before


async def test_duplicate_staff_number_is_409_and_leaves_one_member_and_one_event(
    stack: Stack, unique: str
):
    staff_no = staff_no_of(unique)
    member = await join(stack, staff_no)
    log = stack.members.db["members_changes"]
    before = await log.count_documents({})
    typed = "".join(chr(ord(c) + 0xFEE0) for c in staff_no.lower())  # ｔ３ｆ…: as an IME types
    response = await stack.members_http.post(
        "/members",
        json={"staff_no": typed, "name": "李", "campus": "main", "department": "艺术系"},
        headers=stack.cadre_headers(),
    )
    assert_problem(response, 409, "member.duplicate_staff_no")
    assert await log.count_documents({}) == before  # nothing written by the refused one
    docs = await log.find({"aggregate": member["id"]}).to_list()
    assert len(docs) == 1 and docs[0]["state"]["name"] == "王芳"
    assert docs[0]["by"] == "cadre-1"  # the audit trail rides in the same insert


async def test_concurrent_joins_of_one_staff_number_create_exactly_one_member(
    stack: Stack, unique: str
):
    before = await count_members(stack)

    async def attempt(i: int):
        return await stack.members_http.post(
            "/members",
            json={
                "staff_no": staff_no_of(unique),
                "name": f"并发{i}",
                "campus": "main",
                "department": "艺术系",
            },
            headers=stack.cadre_headers(),
        )

    responses = await asyncio.gather(*(attempt(i) for i in range(12)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 11
    assert await count_members(stack) == before + 1


async def test_no_token_is_401_and_a_member_cannot_enrol_others(stack: Stack, unique: str):
    before = await count_members(stack)
    body = {"staff_no": staff_no_of(unique), "name": "王", "campus": "main", "department": "艺术系"}
    assert_problem(await stack.members_http.post("/members", json=body), 401, "auth.missing_token")
    response = await stack.members_http.post(
        "/members", json=body, headers={"Authorization": "Bearer not-a-token"}
    )
    assert_problem(response, 401, "auth.invalid_token")
    response = await stack.members_http.post(
        "/members", json=body, headers=bearer("m-9", ["member"], ["main"])
    )
    assert_problem(response, 403, "auth.forbidden")
    assert await count_members(stack) == before


async def test_a_cadre_works_only_on_their_own_campus(stack: Stack, unique: str):
    prefix = staff_no_of(unique)  # both staff numbers start with it: the lists look for it
    await join(stack, f"{prefix}-1", campus="east")
    west = bearer("cadre-w", ["cadre"], ["west"])
    response = await stack.members_http.post(
        "/members",
        json={"staff_no": f"{prefix}-2", "name": "赵", "campus": "east", "department": "艺术系"},
        headers=west,
    )
    assert_problem(response, 403, "auth.campus_forbidden")
    east = bearer("c", ["cadre"], ["east"])
    mine = {"q": prefix}

    async def listed() -> bool:  # the list view follows the change log within a moment
        page = await stack.members_http.get("/members", params=mine, headers=east)
        return bool(page.json()["items"])

    await wait_until(listed, 15, "the list view")
    east_list = (await stack.members_http.get("/members", params=mine, headers=east)).json()
    staff_nos = [m["staff_no"] for m in east_list["items"]]
    assert staff_nos == [f"{prefix}-1"] and east_list["total"] == 1
    west_list = await stack.members_http.get("/members", params=mine, headers=west)
    assert west_list.json()["items"] == []


async def test_personal_data_is_masked_except_for_the_member_and_admins(stack: Stack, unique: str):
    staff_no = staff_no_of(unique)
    member = await join(stack, staff_no, phone="13912345678", email="p0001@school.local")
    as_cadre = await stack.members_http.get(
        f"/members/{member['id']}", headers=stack.cadre_headers()
    )
    assert as_cadre.json()["phone"] == "139****5678"
    assert as_cadre.json()["email"] == "p***@school.local"
    as_self = await stack.members_http.get(
        f"/members/{member['id']}", headers=stack.member_headers(member["id"])
    )
    assert as_self.json()["phone"] == "13912345678"
    other = await stack.members_http.get(
        f"/members/{member['id']}", headers=stack.member_headers("m-other")
    )
    assert_problem(other, 403, "auth.forbidden")
    missing = await stack.members_http.get("/members/m-nope", headers=stack.cadre_headers())
    assert_problem(missing, 404, "member.not_found")


async def test_health_readiness_metrics_and_signing_keys(stack: Stack, unique: str):
    assert (await stack.members_http.get("/healthz")).json()["status"] == "ok"

    ready = await stack.members_http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"mongodb": "ok"}  # Kafka is not a reason to refuse

    async def kafka_ok() -> bool:  # the relay connects in the background after start-up
        details = (await stack.members_http.get("/healthz")).json()["details"]
        return details["kafka"] == "ok" and details["outbox"]["waiting"] == 0

    await wait_until(kafka_ok, 15, "healthz to report Kafka")
    created = (
        'gonghui_http_requests_total{method="POST",route="/members",service="members",status="201"}'
    )
    before = counter((await stack.members_http.get("/metrics")).text, created)
    await join(stack, staff_no_of(unique))
    metrics = (await stack.members_http.get("/metrics")).text
    assert counter(metrics, created) == before + 1  # this enrolment counted, once
    assert "gonghui_outbox_backlog" in metrics
    keys = (await stack.members_http.get("/.well-known/jwks.json")).json()["keys"]
    assert keys[0]["crv"] == "Ed25519" and keys[0]["alg"] == "EdDSA"


async def test_unknown_route_is_a_problem_too(stack: Stack):
    assert_problem(await stack.members_http.get("/nowhere"), 404, "resource.not_found")


@pytest.mark.parametrize(
    ("raw", "message"),
    [(b'{"staff_no": "T1", ', "请求体不是合法的 JSON"), (b'["T1"]', "请求体应为 JSON 对象")],
)
async def test_a_body_that_is_not_a_json_object_is_a_clear_422(stack: Stack, raw, message):
    before = await count_members(stack)
    response = await stack.members_http.post(
        "/members",
        content=raw,
        headers={**stack.cadre_headers(), "Content-Type": "application/json"},
    )
    body = assert_problem(response, 422, "request.invalid")
    assert message in body["detail"]
    assert await count_members(stack) == before


async def test_a_nul_in_a_filter_or_an_id_is_refused_by_the_schema_not_a_500(stack: Stack):
    """PostgreSQL (FerretDB's storage) refuses NUL in any string; the schema says so first for
    filters (422), and a path with one names nothing (404) before any route looks it up."""
    admin = bearer("admin-1", ["admin"], ["*"])
    for path, params in [
        ("/members", {"department": "艺术\x00系"}),
        ("/members", {"q": "\x00"}),
        ("/audit", {"member": "m-\x00"}),
        ("/dues/bills", {"department": "\x00"}),
        ("/childcare/rounds", {"campus": "main\x00"}),
    ]:
        response = await stack.members_http.get(path, params=params, headers=admin)
        assert_problem(response, 422, "request.invalid")
    for path in ["/members/m-%00", "/members/m-%00/children", "/dues/members/m-%00"]:
        response = await stack.members_http.get(path, headers=admin)
        assert_problem(response, 404, "resource.not_found")
