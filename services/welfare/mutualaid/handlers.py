"""Mutual-aid use cases: set up a scheme, enrol (the premium posted once), the insurer's
list, claims and their moves.

Who may: a cadre of the campus sets up its schemes, enrols members, reads the list and moves
claims on; a member enrols themself and submits their own claims; finance and the auditor of
the campus read the enrolments (their premiums are on the ledger); the ID number on the list
is shown in full to finance and the chair (admin) only, masked to everyone else.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.welfare.funds.benefits import pay_benefit
from services.welfare.funds.chart import LineKind
from services.welfare.funds.handlers import Funds
from services.welfare.mutualaid.domain import (
    Claim,
    ClaimStatus,
    Enrolment,
    Scheme,
    SchemeSettings,
    clean_id_number,
    mask_id_number,
    refusal,
    scheme_id_of,
)
from services.welfare.mutualaid.store import MutualAidBook
from shared.aggregate import Actor
from shared.auth import Principal, Role
from shared.errors import Invalid
from shared.mongo import find_by_ids
from shared.readmodels.member_directory import MemberDirectory
from shared.timeutil import local_today


@dataclass(frozen=True)
class MutualAid:
    book: MutualAidBook
    directory: MemberDirectory
    funds: Funds


def may_act_for(user: Principal, campus: str, member_id: str) -> bool:
    """A member for themself; a cadre of the campus for anyone. True: a cadre acting."""
    if user.subject == member_id:
        user.require_campus(campus)
        return False
    user.require(Role.cadre, campus=campus)
    return True


# Who reads a campus's enrolments: its cadres, finance, and the auditor (经费审查委员), who
# traces each premium on the ledger (`welfare.mutual_aid:<enrolment>`) to its enrolment. Not
# the claims: the insurer pays those, nothing of them is on the union's ledger.
ENROLMENT_READERS = (Role.cadre, Role.finance, Role.auditor)


def may_read_enrolment(user: Principal, campus: str, member_id: str) -> None:
    """A member their own; the campus's enrolment readers anyone's (reading only: acting for
    a member stays `may_act_for`)."""
    if user.subject != member_id and user.has_role(*ENROLMENT_READERS):
        user.require(*ENROLMENT_READERS, campus=campus)
        return
    may_act_for(user, campus, member_id)


def sees_id_numbers(user: Principal, campus: str) -> bool:
    """Finance and the chair need the full ID number (the insurer's list); nobody else."""
    return user.has_role(Role.finance) and user.can_access(campus)


def shown_id_number(user: Principal, enrolment: Enrolment) -> str | None:
    if sees_id_numbers(user, enrolment.campus):
        return enrolment.id_number
    return mask_id_number(enrolment.id_number)


async def save_scheme(
    aid: MutualAid, user: Principal, campus: str, year: int, code: str, settings: SchemeSettings
) -> Scheme:
    user.require(Role.cadre, campus=campus)
    aid.funds.chart.postable(settings.line, LineKind.spending)
    actor = Actor.of(user)
    added = await aid.book.schemes.add_if_absent(Scheme.new(campus, year, code, settings), actor)
    if added.created:
        return added.aggregate
    scheme_id = scheme_id_of(campus, year, code)
    enrolled = bool(await aid.book.enrolments.find({"scheme_id": scheme_id}, limit=1))
    return await aid.book.schemes.change(
        scheme_id, lambda s: s.revise(settings, enrolled), actor, "revise"
    )


async def scheme_of(aid: MutualAid, user: Principal, campus: str, year: int, code: str) -> Scheme:
    user.require(campus=campus)
    return await aid.book.schemes.require(scheme_id_of(campus, year, code))


async def enrol(
    aid: MutualAid, user: Principal, scheme: Scheme, member_id: str, id_number: str
) -> tuple[Enrolment, bool]:
    """参保: eligibility (the women-only scheme refuses men, 422 `mutual_aid.women_only`; a
    retiree only where the scheme takes retirees, 422 `mutual_aid.retirees_excluded`), then
    the premium posted under the enrolment's key, then the enrolment — so however often or
    concurrently it is asked, one entry and one enrolment. Returns (enrolment, created)."""
    by_cadre = may_act_for(user, scheme.campus, member_id)
    person = await aid.directory.get(member_id)
    if person is None:
        raise Invalid("member.not_found", "未找到该会员（会员信息可能尚未同步）", id=member_id)
    number = clean_id_number(id_number)
    today = local_today()
    existing = await aid.book.enrolments.get(f"{scheme.id}:{member_id}")
    if existing is not None:
        return existing, False
    refusal(scheme, person, today, by_cadre)
    enrolment_id = f"{scheme.id}:{member_id}"
    actor = Actor.of(user)
    day = today if today.year == scheme.year else min(scheme.enrol_until, date(scheme.year, 12, 31))
    posted = await pay_benefit(
        aid.funds,
        actor,
        campus=scheme.campus,
        year=scheme.year,
        line=scheme.line,
        amount_fen=scheme.premium_fen,
        cause=f"{scheme.year}年度{scheme.name}保费（{scheme.insurer}）",
        cause_ref=f"welfare.mutual_aid:{enrolment_id}",
        approved_by=scheme.name,
        occurred_on=day,
        key=f"mutual_aid:{enrolment_id}",
    )
    added = await aid.book.enrolments.add_if_absent(
        Enrolment.new(scheme, person, number, posted.entry["seq"], today), actor, "enrol"
    )
    return added.aggregate, added.created


async def enrolment_list(
    aid: MutualAid, user: Principal, scheme: Scheme
) -> list[tuple[Enrolment, dict[str, Any]]]:
    """The enrolled members with their directory facts (name, gender, department)."""
    user.require(*ENROLMENT_READERS, campus=scheme.campus)
    enrolments = await aid.book.enrolments_of(scheme.id)
    ids = [e.member_id for e in enrolments]
    people = await find_by_ids(aid.directory.coll, ids, {"name": 1, "gender": 1, "department": 1})
    return [(e, people.get(e.member_id, {})) for e in enrolments]


async def my_enrolment(
    aid: MutualAid, user: Principal, scheme: Scheme, member_id: str
) -> Enrolment:
    may_read_enrolment(user, scheme.campus, member_id)
    return await aid.book.enrolments.require(f"{scheme.id}:{member_id}")


# -- claims -----------------------------------------------------------------------------------


async def submit_claim(
    aid: MutualAid,
    user: Principal,
    scheme: Scheme,
    member_id: str,
    claimed_fen: int,
    occurred_on: date,
) -> Claim:
    """申请理赔: only for an enrolled member."""
    may_act_for(user, scheme.campus, member_id)
    enrolment = await aid.book.enrolments.require(f"{scheme.id}:{member_id}")
    claim = Claim.new(f"clm-{secrets.token_hex(6)}", enrolment, claimed_fen, occurred_on)
    return await aid.book.claims.add(claim, Actor.of(user), "submit")


async def move_claim(
    aid: MutualAid,
    user: Principal,
    claim_id: str,
    to: ClaimStatus,
    paid_fen: int | None,
    reason: str | None,
) -> Claim:
    claim = await aid.book.claims.require(claim_id)
    user.require(Role.cadre, campus=claim.campus)
    return await aid.book.claims.change(
        claim_id, lambda c: c.move(to, paid_fen, reason), Actor.of(user), to.value
    )


async def claim_of(aid: MutualAid, user: Principal, claim_id: str) -> Claim:
    claim = await aid.book.claims.require(claim_id)
    may_act_for(user, claim.campus, claim.member_id)
    return claim


async def claims_of_scheme(aid: MutualAid, user: Principal, scheme: Scheme) -> list[Claim]:
    user.require(Role.cadre, Role.finance, campus=scheme.campus)
    return await aid.book.claims_of({"scheme_id": scheme.id})


async def my_claims(aid: MutualAid, user: Principal) -> list[Claim]:
    return await aid.book.claims_of({"member_id": user.subject})
