"""`python -m deploy.local.demo`: seed every service's demo data (see __init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys

import httpx

from deploy.local import demo
from deploy.local.demo import care, events, members
from deploy.local.demo.client import SeedError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.demo", description=demo.__doc__)
    parser.add_argument("--members-url", default="http://127.0.0.1:8001")
    parser.add_argument("--events-url", default="http://127.0.0.1:8002")
    parser.add_argument("--welfare-url", default="http://127.0.0.1:8003")
    args = parser.parse_args(argv)
    try:
        added, existing = asyncio.run(members.seed(args.members_url.rstrip("/")))
        print(
            f"演示会员：新增 {added} 位，已存在 {existing} 位 / demo members: {added} added, {existing} already there"
        )
        added, existing = asyncio.run(events.seed(args.events_url.rstrip("/")))
        print(
            f"演示活动：新增 {added} 项，已存在 {existing} 项 / demo activities: {added} added, {existing} already there"
        )
        added, existing = asyncio.run(care.seed(args.welfare_url.rstrip("/")))
        print(
            f"演示慰问：新增 {added} 件，已存在 {existing} 件 / demo cases: {added} added, {existing} already there"
        )
    except (SeedError, httpx.HTTPError) as exc:
        print(f"演示数据写入失败 / demo data failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
