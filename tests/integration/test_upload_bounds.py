"""A row bomb and a zip bomb uploaded as a member list, on the real servers: each is refused at
once with a 413 problem (stable code, Chinese message), no job is kept, and a sign-in made
while the file is being read still answers."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.bombs import dimension_bomb, row_bomb, zip_bomb
from tests.integration.conftest import Stack, bearer
from tests.integration.test_accounts import login, with_password

pytestmark = pytest.mark.integration

ADMIN = bearer("admin-1", ["admin"], ["*"])


@pytest.mark.parametrize(
    ("bomb", "code"),
    [
        (row_bomb, "import.too_many_rows"),
        (dimension_bomb, "import.too_many_rows"),
        (zip_bomb, "import.unpacked_too_large"),
    ],
    ids=["row-bomb", "dimension-bomb", "zip-bomb"],
)
async def test_a_bomb_is_refused_quickly_and_sign_in_still_answers(module_stack: Stack, bomb, code):
    stack = module_stack
    staff_no = {"row_bomb": "B0001", "dimension_bomb": "B0002", "zip_bomb": "B0003"}[bomb.__name__]
    await with_password(stack, staff_no)
    data = bomb()
    jobs_before = await stack.members.db["imports"].count_documents({})

    async def upload() -> tuple[float, httpx.Response]:
        started = time.perf_counter()
        response = await stack.members_http.post(
            "/imports", files={"file": ("名单.xlsx", data)}, headers=ADMIN
        )
        return time.perf_counter() - started, response

    async def sign_in() -> tuple[float, int]:
        await asyncio.sleep(0.05)  # while the file is being read
        started = time.perf_counter()
        response = await login(stack, staff_no, "Chushi-2026")
        return time.perf_counter() - started, response.status_code

    (took, refused), (signing, status) = await asyncio.gather(upload(), sign_in())
    assert refused.status_code == 413, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert body["code"] == code and "请" in body["title"]
    assert took < 2.5, f"refused after {took:.2f} s"
    assert status == 200 and signing < 2.5, f"sign-in answered {status} after {signing:.2f} s"
    assert await stack.members.db["imports"].count_documents({}) == jobs_before
