"""Typed FastAPI dependencies of the members service: what its routes may ask for.

Every service's deps module has the same shape: one frozen `MembersContext` that the composition
root (services/members/bootstrap.py) builds once at start, `get_context` to reach it from a
request, one `async def get_…` per part (FastAPI runs a plain `def` dependency in a worker thread,
a hop per request), and the `Annotated` names the routes use: the parts, then who may call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request

from services.members.accounts.handlers import AccountService
from services.members.audit.store import AuditTrail
from services.members.childcare.store import Rounds
from services.members.dues.store import Ledger
from services.members.imports.handlers import CHUNK_ROWS
from services.members.imports.runner import ImportRunner
from services.members.imports.store import ImportStore
from services.members.membership.store import MemberRegistry
from services.members.org.store import Organisation
from shared.audit import AuditLog
from shared.auth import Principal, Role, require
from shared.text import PLAIN_TEXT


@dataclass
class ImportWork:
    """Bulk import (新教师入会): the jobs, the worker that works them, rows per chunk."""

    store: ImportStore
    runner: ImportRunner
    chunk_rows: int = CHUNK_ROWS


@dataclass(frozen=True)
class MembersContext:
    """Everything the routes use, built once by the composition root."""

    members: MemberRegistry
    org: Organisation
    audit: AuditLog
    childcare: Rounds
    dues: Ledger
    accounts: AccountService
    trail: AuditTrail
    imports: ImportWork


def get_context(request: Request) -> MembersContext:
    return request.app.state.runtime.context


async def get_members(request: Request) -> MemberRegistry:
    return get_context(request).members


async def get_org(request: Request) -> Organisation:
    return get_context(request).org


async def get_audit(request: Request) -> AuditLog:
    return get_context(request).audit


async def get_childcare(request: Request) -> Rounds:
    return get_context(request).childcare


async def get_dues(request: Request) -> Ledger:
    return get_context(request).dues


async def get_accounts(request: Request) -> AccountService:
    return get_context(request).accounts


async def get_trail(request: Request) -> AuditTrail:
    return get_context(request).trail


async def get_imports(request: Request) -> ImportWork:
    return get_context(request).imports


# A member id in a path: derived ids are `m-` and 12 hex digits; older ones differ, so only
# what no id has (control characters) is refused.
MemberId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=PLAIN_TEXT, description="会员 id")
]
Members = Annotated[MemberRegistry, Depends(get_members)]
Org = Annotated[Organisation, Depends(get_org)]
Audit = Annotated[AuditLog, Depends(get_audit)]
Childcare = Annotated[Rounds, Depends(get_childcare)]
DuesBook = Annotated[Ledger, Depends(get_dues)]
Accounts = Annotated[AccountService, Depends(get_accounts)]
Trail = Annotated[AuditTrail, Depends(get_trail)]
Imports = Annotated[ImportWork, Depends(get_imports)]
Cadre = Annotated[Principal, Depends(require(Role.cadre))]
Auditor = Annotated[Principal, Depends(require(Role.auditor))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
Finance = Annotated[Principal, Depends(require(Role.finance))]
FinanceReader = Annotated[Principal, Depends(require(Role.finance, Role.auditor))]
