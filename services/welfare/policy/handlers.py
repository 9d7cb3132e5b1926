"""Policy use cases: read the profile in force, a person's running totals, and check a payment.

Who may: anyone signed in reads the profile; a member reads their own totals, a cadre or
finance of the member's campus reads anyone's there and checks a payment before making it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.welfare.policy.caps import CapBook
from services.welfare.policy.domain import Standing, breach, check_payment
from services.welfare.policy.profile import Category, Festival
from shared.auth import Principal, Role
from shared.errors import NotFound
from shared.readmodels.member_directory import MemberDirectory


@dataclass(frozen=True)
class Policy:
    caps: CapBook
    directory: MemberDirectory


async def _member(policy: Policy, member_id: str) -> dict:
    found = await policy.directory.get(member_id)
    if found is None or "campus" not in found:
        raise NotFound("welfare.member_not_found", "会员不存在", member_id=member_id)
    return found


async def year_totals(policy: Policy, user: Principal, member_id: str, year: int) -> list[Standing]:
    """本人或本校区会员的年度福利累计：member (own), cadre, finance or auditor of the campus."""
    if user.subject != member_id:
        member = await _member(policy, member_id)
        user.require(Role.cadre, Role.finance, Role.auditor, campus=member["campus"])
    return await policy.caps.year(member_id, year)


async def check(
    policy: Policy,
    user: Principal,
    member_id: str,
    category: Category,
    year: int,
    amount_fen: int,
    festival: Festival | None,
) -> Standing:
    """Would this payment fit? 422 `welfare.cap_exceeded` with cap, used and remaining."""
    member = await _member(policy, member_id)
    user.require(Role.cadre, Role.finance, campus=member["campus"])
    cap = policy.caps.profile.cap(category)
    check_payment(cap, amount_fen, member.get("gender"), festival)
    standing = await policy.caps.standing(member_id, category, year)
    if not standing.allows(amount_fen):
        raise breach(standing, amount_fen)
    return standing
