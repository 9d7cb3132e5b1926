"""Members the browser tests sign in as: enrolled by the chair, given a first password by a
cadre, and changed to their own at first sign-in, as a real member does."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import bearer

FIRST_PASSWORD = "Chushi-2026"  # the one a cadre sets; the member must change it


def _admin() -> dict[str, str]:
    return bearer("e2e-admin", ["admin"], ["*"])


async def member_who_signs_in(
    client: httpx.AsyncClient, members: str, password: str, **body: Any
) -> str:
    """Enrol a member of main (艺术系 unless `body` says otherwise) who signs in with
    `password`; their id."""
    body = {"campus": "main", "department": "艺术系", **body}
    r = await client.post(f"{members}/members", headers=_admin(), json=body)
    assert r.status_code == 201, r.text
    member_id: str = r.json()["id"]
    r = await client.put(
        f"{members}/members/{member_id}/password",
        headers=_admin(),
        json={"password": FIRST_PASSWORD},
    )
    assert r.status_code == 200, r.text
    login = {"staff_no": body["staff_no"], "password": FIRST_PASSWORD}
    r = await client.post(f"{members}/auth/login", json=login)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{members}/auth/password",
        headers={"Authorization": f"Bearer {r.json()['password_token']}"},
        json={"new_password": password},
    )
    assert r.status_code == 200, r.text
    return member_id
