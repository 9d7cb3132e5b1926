"""Typed FastAPI dependencies any area of the members service may ask for: the caller's
roles, a member id in a path, the audit log, the school's campus.

Each area names its own objects in its api module (`Members` in membership, `Org` in org,
…, through `shared.runtime.provided`), so this module imports no area and no area's routes
import back into one that imports them all. The context they come from: context.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from shared.audit import AuditLog
from shared.auth import Principal, Role, require
from shared.runtime import provided
from shared.text import PLAIN_TEXT

# A member id in a path: derived ids are `m-` and 12 hex digits; older ones differ, so only
# what no id has (control characters) is refused.
MemberId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=PLAIN_TEXT, description="会员 id")
]
Audit = Annotated[AuditLog, Depends(provided("audit"))]
# The campus whose union is the school's (its chair signs in as admin of every campus).
SchoolCampus = Annotated[str, Depends(provided("school_campus"))]
Cadre = Annotated[Principal, Depends(require(Role.cadre))]
Auditor = Annotated[Principal, Depends(require(Role.auditor))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
Finance = Annotated[Principal, Depends(require(Role.finance))]
FinanceReader = Annotated[Principal, Depends(require(Role.finance, Role.auditor))]
