"""Enrol a few demo members so a fresh `make run` has something to look at.

    python -m deploy.local.demo --members-url http://127.0.0.1:8001

Mints an admin token the way `gonghui token --role admin --campus '*'` does (the dev key, or
GONGHUI_AUTH_PRIVATE_KEY_FILE) and POSTs each member to /members. A 409 means the member is
already there (an earlier run seeded it), which is fine: running it twice changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import httpx

DEMO_MEMBERS: tuple[dict[str, str], ...] = (
    {
        "staff_no": "T2023001",
        "name": "王芳",
        "campus": "main",
        "department": "学前教育系",
        "email": "wang@school.local",
        "phone": "13800000001",
    },
    {
        "staff_no": "T2023002",
        "name": "李静",
        "campus": "main",
        "department": "艺术系",
        "email": "li@school.local",
        "phone": "13800000002",
    },
    {
        "staff_no": "T2023003",
        "name": "张伟",
        "campus": "main",
        "department": "体育部",
        "email": "zhang@school.local",
        "phone": "13800000003",
    },
    {
        "staff_no": "T2023004",
        "name": "刘洋",
        "campus": "north",
        "department": "音乐系",
        "email": "liu@school.local",
        "phone": "13800000004",
    },
    {
        "staff_no": "T2023005",
        "name": "陈晨",
        "campus": "north",
        "department": "后勤处",
        "email": "chen@school.local",
        "phone": "13800000005",
    },
)


DEMO_CAMPUSES: dict[str, dict] = {
    "main": {
        "name": "主校区",
        "departments": ["学前教育系", "艺术系", "体育部"],
        "small_groups": [{"code": "g-main-art", "name": "艺术教工小家"}],
    },
    "north": {
        "name": "北校区",
        "departments": ["音乐系", "后勤处"],
        "small_groups": [{"code": "g-north-music", "name": "音乐教工小家"}],
    },
}


class SeedError(RuntimeError):
    pass


def admin_token() -> str:
    from shared.auth import mint_token
    from shared.settings import DEV_PRIVATE_KEY

    key = Path(os.environ.get("GONGHUI_AUTH_PRIVATE_KEY_FILE") or DEV_PRIVATE_KEY)
    return mint_token("demo-seeder", ["admin"], ["*"], private_key_file=key)


async def seed(members_url: str, timeout_s: float = 15) -> tuple[int, int]:
    """Returns (added, already there); raises SeedError on any other answer."""
    headers = {"Authorization": f"Bearer {admin_token()}"}
    added = existing = 0
    async with httpx.AsyncClient(base_url=members_url, timeout=timeout_s) as client:
        for code, campus in DEMO_CAMPUSES.items():
            response = await client.put(f"/campuses/{code}", json=campus, headers=headers)
            if response.status_code != 200:
                raise SeedError(f"PUT /campuses/{code} → {response.status_code}: {response.text}")
        for member in DEMO_MEMBERS:
            response = await client.post("/members", json=member, headers=headers)
            if response.status_code == 201:
                added += 1
            elif response.status_code == 409:
                existing += 1
            else:
                raise SeedError(
                    f"POST /members {member['staff_no']} → {response.status_code}: "
                    f"{response.text[:500]}"
                )
    return added, existing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.demo", description=__doc__)
    parser.add_argument("--members-url", default="http://127.0.0.1:8001")
    args = parser.parse_args(argv)
    try:
        added, existing = asyncio.run(seed(args.members_url.rstrip("/")))
    except (SeedError, httpx.HTTPError) as exc:
        print(f"演示数据写入失败 / demo data failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"演示会员：新增 {added} 位，已存在 {existing} 位 / demo members: {added} added, {existing} already there"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
