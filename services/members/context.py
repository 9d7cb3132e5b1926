"""What the members service's routes use, built once by the composition root (bootstrap.py)
and handed out per route by `shared.runtime.provided` (see deps.py)."""

from __future__ import annotations

from dataclasses import dataclass

from services.members.accounts.handlers import AccountService
from services.members.audit.store import AuditTrail
from services.members.childcare.store import Rounds
from services.members.dues.store import Ledger
from services.members.imports.runner import ImportWork
from services.members.membership.store import MemberRegistry
from services.members.org.store import Organisation
from shared.audit import AuditLog


@dataclass(frozen=True)
class MembersContext:
    members: MemberRegistry
    org: Organisation
    audit: AuditLog
    childcare: Rounds
    dues: Ledger
    accounts: AccountService
    trail: AuditTrail
    imports: ImportWork
    school_campus: str
