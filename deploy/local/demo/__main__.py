"""`python -m deploy.local.demo`: seed every service's demo data (see __init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys

import httpx

from deploy.local import demo
from deploy.local.demo.client import SeedError
from deploy.local.demo.order import SEEDERS, line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.demo", description=demo.__doc__)
    parser.add_argument("--members-url", default="http://127.0.0.1:8001")
    parser.add_argument("--events-url", default="http://127.0.0.1:8002")
    parser.add_argument("--welfare-url", default="http://127.0.0.1:8003")
    parser.add_argument("--notify-url", default="http://127.0.0.1:8004")
    args = parser.parse_args(argv)
    urls = {
        "members": args.members_url,
        "events": args.events_url,
        "welfare": args.welfare_url,
        "notify": args.notify_url,
    }
    try:
        for seeder in SEEDERS:
            added, existing = asyncio.run(seeder.seed(urls[seeder.service].rstrip("/")))
            print(line(seeder, added, existing))
    except (SeedError, httpx.HTTPError) as exc:
        print(f"演示数据写入失败 / demo data failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
