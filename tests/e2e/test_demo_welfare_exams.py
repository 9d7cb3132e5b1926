"""The exam and mutual-aid demo data (deploy/local/demo/welfare_exams.py) over HTTP against
members and welfare as processes: a plan with bookings, both schemes with enrolments and
premiums on the ledger, one claim with the insurer — and seeding twice adds nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from shared.timeutil import local_today
from tests.e2e.conftest import Platform, bearer
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(infra, tmp_path_factory) -> AsyncIterator[Platform]:
    p = Platform(infra, tmp_path_factory.mktemp("demo-exams"), services=("members", "welfare"))
    async with p.running():
        yield p


async def test_the_exam_and_mutual_aid_demo_seeds_once(platform: Platform):
    from deploy.local.demo.members import seed as seed_members
    from deploy.local.demo.welfare_exams import seed

    await seed_members(platform.url("members"))
    welfare = platform.url("welfare")
    added, existing = await seed(welfare)
    assert added > 20 and existing == 0
    assert await seed(welfare) == (0, added)  # twice: nothing new
    year = local_today().year
    admin = bearer("e2e-admin", ["admin"], ["*"])
    async with httpx.AsyncClient(base_url=welfare, timeout=10) as client:
        plan = (await client.get(f"/exams/plans/main/{year}", headers=admin)).json()
        assert sum(s["taken"] for s in plan["slots"]) == 24

        async def claims() -> list:
            url = f"/mutual-aid/schemes/main/{year}/major/claims"
            return (await client.get(url, headers=admin)).json()

        async def one_claim() -> bool:
            return len(await claims()) == 1

        await wait_until(one_claim, 20, "the demo claim")
        assert [c["status"] for c in await claims()] == ["with_insurer"]
        entries = (
            await client.get(f"/funds/ledgers/main/{year}/entries?kind=payment", headers=admin)
        ).json()["entries"]
        premiums = [e for e in entries if (e["cause_ref"] or "").startswith("welfare.mutual_aid:")]
        assert len(premiums) == added - 24  # once per enrolment, also after the second seed
