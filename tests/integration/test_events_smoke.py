import pytest

from tests.integration import events_kit as kit
from tests.integration.conftest import build_stack, close_stack

pytestmark = pytest.mark.integration


async def test_smoke(infra):
    stack = await build_stack(infra, ["members", "events"])
    try:
        m = await kit.enrol(stack, "S0001", gender="female")
        await kit.known_to_events(stack, m)
        a = await kit.activity(stack, capacity=1)
        r = await kit.sign_up(stack, a["id"], m)
        print(r.status_code, r.json())
        assert r.status_code == 201
        r2 = await kit.sign_up(stack, a["id"], m)
        print(r2.status_code, r2.json())
        m2 = await kit.enrol(stack, "S0002")
        await kit.known_to_events(stack, m2)
        r3 = await kit.sign_up(stack, a["id"], m2)
        print(r3.status_code, r3.json())
        c = await stack.events_http.post(
            f"/activities/{a['id']}/registrations/{m}/cancel", headers=kit.member(m)
        )
        print(c.status_code, c.json())
        await kit.settled(stack)
        print(await kit.registration(stack, a["id"], m2))
        q = await stack.events_http.get(
            f"/activities/{a['id']}/registrations/{m2}/qr.png", headers=kit.member(m2)
        )
        print(q.status_code, q.headers)
        code = (await kit.registration(stack, a["id"], m2))["code"]
        ci = await stack.events_http.post(
            f"/activities/{a['id']}/checkins", json={"code": code}, headers=kit.cadre()
        )
        print(ci.status_code, ci.json())
        ci = await stack.events_http.post(
            f"/activities/{a['id']}/checkins", json={"code": code}, headers=kit.cadre()
        )
        print(ci.status_code, ci.json())
        print((await stack.events_http.get("/me/registrations", headers=kit.member(m2))).json())
        print(
            (
                await stack.events_http.get(
                    f"/activities/{a['id']}/attendance", headers=kit.cadre()
                )
            ).json()
        )
        print(
            (
                await stack.events_http.get(
                    f"/activities/{a['id']}/registrations.csv", headers=kit.cadre()
                )
            ).text
        )
    finally:
        await close_stack(stack)
