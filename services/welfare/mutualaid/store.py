"""Where the schemes, enrolments and claims live: three aggregate stores, each with its topic
(the list views are refreshed from them). An enrolment's ID number is sealed at rest."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from services.welfare.mutualaid.domain import Claim, Enrolment, Scheme
from shared.aggregate import AggregateStore
from shared.crypto import Sealer
from shared.outbox.writer import Outbox

MAX_LIST = 20_000  # a campus's members, far beyond a school's


async def setup_indexes(db: AsyncDatabase) -> None:
    await db["mutual_aid_schemes"].create_index([("campus", 1), ("year", 1)])
    await db["mutual_aid_enrolments"].create_index("scheme_id")
    await db["mutual_aid_enrolments"].create_index("member_id")
    await db["mutual_aid_claims"].create_index("scheme_id")
    await db["mutual_aid_claims"].create_index("member_id")


class MutualAidBook:
    def __init__(self, db: AsyncDatabase, outbox: Outbox, sealer: Sealer) -> None:
        self.schemes: AggregateStore[Scheme] = AggregateStore(
            db,
            outbox,
            Scheme,
            name="mutual_aid_schemes",
            topic="welfare.mutual_aid_scheme",
            not_found=("mutual_aid.scheme_not_found", "该互助保障险种不存在"),
        )
        self.enrolments: AggregateStore[Enrolment] = AggregateStore(
            db,
            outbox,
            Enrolment,
            name="mutual_aid_enrolments",
            topic="welfare.mutual_aid",
            not_found=("mutual_aid.not_enrolled", "未参加该互助保障"),
            sealer=sealer,
        )
        self.claims: AggregateStore[Claim] = AggregateStore(
            db,
            outbox,
            Claim,
            name="mutual_aid_claims",
            topic="welfare.mutual_aid_claim",
            not_found=("mutual_aid.claim_not_found", "未找到该理赔申请"),
        )

    async def schemes_of(self, campus: str, year: int) -> list[Scheme]:
        return await self.schemes.find({"campus": campus, "year": year}, sort=[("code", 1)])

    async def enrolments_of(self, scheme_id: str) -> list[Enrolment]:
        return await self.enrolments.find(
            {"scheme_id": scheme_id}, sort=[("_id", 1)], limit=MAX_LIST
        )

    async def claims_of(self, query: dict) -> list[Claim]:
        return await self.claims.find(query, sort=[("_id", 1)], limit=MAX_LIST)
