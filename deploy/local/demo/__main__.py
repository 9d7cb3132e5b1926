"""`python -m deploy.local.demo`: seed every service's demo data (see __init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys

import httpx

from deploy.local import demo
from deploy.local.demo import (
    care,
    events,
    funds,
    members,
    notices,
    voice,
    welfare_exams,
    welfare_plans,
)
from deploy.local.demo.client import SeedError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.demo", description=demo.__doc__)
    parser.add_argument("--members-url", default="http://127.0.0.1:8001")
    parser.add_argument("--events-url", default="http://127.0.0.1:8002")
    parser.add_argument("--welfare-url", default="http://127.0.0.1:8003")
    parser.add_argument("--notify-url", default="http://127.0.0.1:8004")
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
        added, existing = asyncio.run(voice.seed_surveys(args.events_url.rstrip("/")))
        print(
            f"演示问卷与意见箱 / demo survey and suggestions: {added} added, {existing} already there"
        )
        added, existing = asyncio.run(voice.seed_congress(args.events_url.rstrip("/")))
        print(
            f"演示评选与教代会 / demo voice (campaign, congress): {added} added, {existing} there"
        )
        # budgets, incomes, payments and a reversal (dues income comes by Kafka)
        added, existing = asyncio.run(funds.seed(args.welfare_url.rstrip("/")))
        print(
            f"演示经费：新增 {added} 笔，已存在 {existing} 笔 / demo funds: {added} added, {existing} already there"
        )
        # after the funds demo data (its budget pays the 中秋 gifts)
        added, existing = asyncio.run(welfare_plans.seed(args.welfare_url.rstrip("/")))
        print(
            f"演示福利方案：新增 {added} 个，已存在 {existing} 个 / demo welfare plans: {added} added, {existing} already there"
        )
        # this year's exam plan with bookings, mutual-aid schemes with enrolments
        added, existing = asyncio.run(welfare_exams.seed(args.welfare_url.rstrip("/")))
        print(
            f"演示体检与互助保障 / demo exams and mutual aid: {added} added, {existing} already there"
        )
        # after the funds demo data (a case is paid only where this year's budget has its line)
        added, existing = asyncio.run(care.seed(args.welfare_url.rstrip("/")))
        print(
            f"演示慰问：新增 {added} 件，已存在 {existing} 件 / demo cases: {added} added, {existing} already there"
        )
        # 通知公告: one mandatory notice, partly read
        added, existing = asyncio.run(notices.seed(args.notify_url.rstrip("/")))
        print(f"演示通知公告 / demo notices: {added} added, {existing} already there")
    except (SeedError, httpx.HTTPError) as exc:
        print(f"演示数据写入失败 / demo data failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
