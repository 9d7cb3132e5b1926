"""Mutual-aid insurance (互助保障) on the real Kafka and MongoDB wire: the women-only scheme
refuses men with a clear 422, and a scheme takes retirees only when set to (退休会员可参加,
off by default); the premium is posted once per enrolment however often and
however concurrently it is asked; the insurer's XLSX list shows full ID numbers to finance
and the chair only; claims move through their table only; events valid and free of personal
data."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openpyxl import load_workbook

from shared.readmodels.member_directory import MEMBER_DIRECTORY
from tests.integration.conftest import Stack, bearer, build_stack, close_stack
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration

YEAR = 2027
LINE = "spend_rights_other"
CHAIR = bearer("chair-x", ["admin"], ["*"])
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(serial: int) -> str:
    body = f"32010219800101{serial:03d}"
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def conforms(event: dict[str, Any]) -> dict[str, Any]:
    schema = json.loads((SCHEMAS / f"{event['type']}.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])
    return event


@pytest.fixture(scope="module")
async def welfare(infra) -> AsyncIterator[Stack]:
    s = await build_stack(infra, ["welfare"])
    try:
        yield s
    finally:
        await close_stack(s)


def campus() -> str:
    return f"y{uuid.uuid4().hex[:8]}"


def cadre(c: str) -> dict[str, str]:
    return bearer(f"cadre-{c}", ["cadre"], [c])


def finance(c: str) -> dict[str, str]:
    return bearer(f"fin-{c}", ["finance"], [c])


def member(m: str, c: str) -> dict[str, str]:
    return bearer(m, ["member"], [c])


def auditor(c: str) -> dict[str, str]:
    return bearer(f"aud-{c}", ["auditor", "member"], [c])


async def people(stack: Stack, c: str, count: int, **over: Any) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    ids = [f"m-{tag}-{i:04d}" for i in range(count)]
    await stack.welfare.db[MEMBER_DIRECTORY].insert_many(
        [
            {
                "_id": m,
                "staff_no": f"M{tag}{i}",
                "name": f"李老师{i}",
                "campus": c,
                "department": "音乐系",
                "gender": "female",
                "status": "active",
                "roles": [],
                "sequence": "0000000001.000",
                **over,
            }
            for i, m in enumerate(ids)
        ]
    )
    return ids


async def set_up(stack: Stack, c: str, budget: int = 10_000_000) -> None:
    adopted = await stack.welfare_http.post(
        f"/funds/budgets/{c}/{YEAR}", json={"lines": {LINE: budget}, "note": "互助"}, headers=CHAIR
    )
    assert adopted.status_code == 201, adopted.text
    for code, name, kind, premium in (
        ("major", "大病互助保障", "major_illness", 5_000),
        ("women", "女职工特殊疾病互助保障", "women", 3_000),
    ):
        body = {
            "name": name,
            "kind": kind,
            "insurer": "职工保险互助会",
            "premium_fen": premium,
            "enrol_until": f"{YEAR}-03-31",
        }
        saved = await stack.welfare_http.put(
            f"/mutual-aid/schemes/{c}/{YEAR}/{code}", json=body, headers=cadre(c)
        )
        assert saved.status_code == 200, saved.text


def enrol(stack: Stack, c: str, code: str, m: str, serial: int, headers=None):
    return stack.welfare_http.post(
        f"/mutual-aid/schemes/{c}/{YEAR}/{code}/enrolments",
        json={"id_number": id_number(serial)},
        headers=headers or member(m, c),
    )


async def premiums(stack: Stack, c: str) -> list[dict[str, Any]]:
    entries = await stack.welfare_http.get(
        f"/funds/ledgers/{c}/{YEAR}/entries?kind=payment", headers=finance(c)
    )
    return [
        e
        for e in entries.json()["entries"]
        if (e["cause_ref"] or "").startswith("welfare.mutual_aid:")
    ]


async def test_the_womens_scheme_refuses_men_with_a_clear_problem(welfare: Stack):
    stack, c = welfare, campus()
    await set_up(stack, c)
    [man] = await people(stack, c, 1, gender="male")
    refused = await enrol(stack, c, "women", man, 1)
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "mutual_aid.women_only"
    assert problem["title"] == "「女职工特殊疾病互助保障」仅限女职工参加"
    assert await premiums(stack, c) == []  # nothing posted
    assert (await enrol(stack, c, "major", man, 1)).status_code == 201
    bad = await enrol(stack, c, "major", man, 0)
    assert bad.status_code == 200  # enrolled already: the first enrolment stands


async def test_a_retiree_takes_part_only_when_the_scheme_is_set_to_take_retirees(
    welfare: Stack,
):
    stack, c = welfare, campus()
    await set_up(stack, c)
    schemes = await stack.welfare_http.get(f"/mutual-aid/schemes/{c}/{YEAR}", headers=cadre(c))
    assert [s["retirees"] for s in schemes.json()] == [False, False]  # the default
    [retiree] = await people(stack, c, 1, status="retired")
    by_cadre = stack.welfare_http.post(
        f"/mutual-aid/schemes/{c}/{YEAR}/major/enrolments",
        json={"id_number": id_number(40), "member_id": retiree},
        headers=cadre(c),
    )
    # Neither the retiree themself nor a cadre for them.
    for refused in (await enrol(stack, c, "major", retiree, 40), await by_cadre):
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "mutual_aid.retirees_excluded"
        assert refused.json()["title"] == "「大病互助保障」未开放退休会员参加"
    assert await premiums(stack, c) == []

    body = {
        "name": "大病互助保障",
        "kind": "major_illness",
        "insurer": "职工保险互助会",
        "premium_fen": 5_000,
        "enrol_until": f"{YEAR}-03-31",
        "retirees": True,
    }
    url = f"/mutual-aid/schemes/{c}/{YEAR}/major"
    saved = await stack.welfare_http.put(url, json=body, headers=cadre(c))
    assert saved.status_code == 200 and saved.json()["retirees"] is True, saved.text
    taken = await enrol(stack, c, "major", retiree, 40)
    assert taken.status_code == 201, taken.text
    assert [e["amount_fen"] for e in await premiums(stack, c)] == [5_000]
    # The setting is the scheme's own: the women's scheme still refuses the retiree.
    other = await enrol(stack, c, "women", retiree, 40)
    assert other.json()["code"] == "mutual_aid.retirees_excluded"
    # Turned off again, it refuses the next retiree; the one enrolled stays enrolled.
    saved = await stack.welfare_http.put(url, json={**body, "retirees": False}, headers=cadre(c))
    assert saved.json()["retirees"] is False
    [later] = await people(stack, c, 1, status="retired")
    assert (await enrol(stack, c, "major", later, 41)).status_code == 422
    again = await enrol(stack, c, "major", retiree, 40)
    assert again.status_code == 200 and again.json()["created"] is False


async def test_premium_posted_once_per_enrolment_under_concurrency(welfare: Stack):
    stack, c = welfare, campus()
    await set_up(stack, c)
    ids = await people(stack, c, 10)
    # Each member asks three times at once (a double tap and a retry), and the women's too.
    answers = await asyncio.gather(
        *(enrol(stack, c, "major", m, i) for i, m in enumerate(ids) for _ in range(3)),
        *(enrol(stack, c, "women", m, i) for i, m in enumerate(ids[:4]) for _ in range(2)),
    )
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    assert sum(1 for a in answers if a.json()["created"]) == 14
    paid = await premiums(stack, c)
    assert sorted(e["amount_fen"] for e in paid) == [3_000] * 4 + [5_000] * 10
    assert len({e["cause_ref"] for e in paid}) == 14
    check = await stack.welfare_http.get(
        f"/funds/ledgers/{c}/{YEAR}/check", headers=bearer("a", ["auditor"], [c])
    )
    assert check.json()["intact"] is True


async def test_no_budget_refuses_the_enrolment_and_changes_nothing(welfare: Stack):
    stack, c = welfare, campus()
    await set_up(stack, c, budget=4_000)  # less than one premium of the major scheme
    [m] = await people(stack, c, 1)
    refused = await enrol(stack, c, "major", m, 3)
    assert refused.status_code == 409 and refused.json()["code"] == "funds.over_budget"
    gone = await stack.welfare_http.get(
        f"/mutual-aid/schemes/{c}/{YEAR}/major/enrolments/{m}", headers=member(m, c)
    )
    assert gone.status_code == 404


async def test_insurer_list_masks_id_numbers_except_for_finance_and_chair(welfare: Stack):
    stack, c = welfare, campus()
    await set_up(stack, c)
    ids = await people(stack, c, 3)
    for i, m in enumerate(ids):
        assert (await enrol(stack, c, "women", m, 10 + i)).status_code == 201
    url = f"/mutual-aid/schemes/{c}/{YEAR}/women/enrolments"

    async def listed() -> bool:
        got = await stack.welfare_http.get(url, headers=cadre(c))
        return len(got.json()) == 3

    await wait_until(listed, 10, "three enrolments in the list view")
    for headers, full in (
        (finance(c), True),
        (CHAIR, True),
        (cadre(c), False),
        (auditor(c), False),
    ):
        sheet = await stack.welfare_http.get(f"{url}.xlsx", headers=headers)
        assert sheet.status_code == 200
        book = load_workbook(io.BytesIO(sheet.content)).active
        assert book is not None
        rows = list(book.iter_rows(values_only=True))
        assert rows[0] == ("姓名", "性别", "身份证号", "校区", "部门", "险种", "保费（元）")
        numbers = sorted(str(r[2]) for r in rows[1:])
        if full:
            assert numbers == sorted(id_number(10 + i) for i in range(3))
        else:
            assert all("*" * 10 in n for n in numbers)
        assert {(r[1], r[5], r[6]) for r in rows[1:]} == {("女", "女职工特殊疾病互助保障", "30.00")}
    assert (await stack.welfare_http.get(url, headers=member(ids[0], c))).status_code == 403
    # The auditor traces each premium on the ledger to its enrolment, ID number masked, and
    # acts for nobody; claims are the insurer's money, not the ledger's: not theirs to read.
    for entry in await premiums(stack, c):
        enrolment_id = entry["cause_ref"].removeprefix("welfare.mutual_aid:")
        member_id = enrolment_id.removeprefix(f"{c}:{YEAR}:women:")
        read = await stack.welfare_http.get(f"{url}/{member_id}", headers=auditor(c))
        assert read.status_code == 200, read.text
        assert (read.json()["id"], read.json()["premium_fen"]) == (enrolment_id, 3_000)
        assert "*" * 10 in read.json()["id_number"]
    others = await people(stack, c, 1)
    for_other = await stack.welfare_http.post(
        f"/mutual-aid/schemes/{c}/{YEAR}/major/enrolments",
        json={"id_number": id_number(30), "member_id": others[0]},
        headers=auditor(c),
    )
    assert for_other.status_code == 403
    claims = f"/mutual-aid/schemes/{c}/{YEAR}/women/claims"
    assert (await stack.welfare_http.get(claims, headers=auditor(c))).status_code == 403
    # Not on any topic: the enrolment's events carry ids only.
    for record in await read_all(stack.bootstrap, stack.topic("welfare.mutual_aid"), 2000):
        event = conforms(json.loads(record.value))
        assert id_number(10) not in record.value.decode()
        assert not {"name", "id_number", "gender"} & set(event["data"])
    # Nor in the database in clear.
    stored = await stack.welfare.db["mutual_aid_enrolments_changes"].find_one(
        {"aggregate": f"{c}:{YEAR}:women:{ids[0]}"}
    )
    assert id_number(10) not in json.dumps(stored["state"], default=str)


async def test_claims_move_through_their_table(welfare: Stack):
    stack, c = welfare, campus()
    await set_up(stack, c)
    [m, other] = await people(stack, c, 2)
    assert (await enrol(stack, c, "major", m, 20)).status_code == 201
    base = f"/mutual-aid/schemes/{c}/{YEAR}/major/claims"
    body = {"claimed_fen": 2_000_000, "occurred_on": f"{YEAR}-05-01"}
    not_enrolled = await stack.welfare_http.post(base, json=body, headers=member(other, c))
    assert not_enrolled.status_code == 404
    claim = (await stack.welfare_http.post(base, json=body, headers=member(m, c))).json()
    assert claim["status"] == "submitted"
    url = f"/mutual-aid/claims/{claim['id']}"

    async def move(status: str, headers=None, **more: Any) -> Any:
        return await stack.welfare_http.post(
            f"{url}/status", json={"status": status, **more}, headers=headers or cadre(c)
        )

    assert (await move("with_insurer", headers=member(m, c))).status_code == 403
    assert (await move("paid", paid_fen=1)).json()["code"] == "mutual_aid.claim_state"
    assert (await move("with_insurer")).json()["status"] == "with_insurer"
    over = await move("paid", paid_fen=3_000_000)
    assert over.status_code == 422 and over.json()["code"] == "mutual_aid.paid_over_claimed"
    paid = await move("paid", paid_fen=1_500_000)
    assert paid.json()["status"] == "paid" and paid.json()["paid_fen"] == 1_500_000
    final = await move("refused", reason="迟了")
    assert final.status_code == 409 and final.json()["code"] == "mutual_aid.claim_state"
    assert (await stack.welfare_http.get(url, headers=member(other, c))).status_code == 403

    async def mine() -> bool:
        got = await stack.welfare_http.get("/mutual-aid/claims/mine", headers=member(m, c))
        return [x["status"] for x in got.json()] == ["paid"]

    await wait_until(mine, 10, "the member's claims in the list view")
    changes = [
        conforms(json.loads(r.value))["data"]["status"]
        for r in await read_all(stack.bootstrap, stack.topic("welfare.mutual_aid_claim"), 2000)
        if json.loads(r.value)["data"]["claim_id"] == claim["id"]
    ]
    assert changes == ["submitted", "with_insurer", "paid"]
