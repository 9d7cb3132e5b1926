"""Typed FastAPI dependencies any area of the events service may ask for: the caller's roles,
the audit log, the member directory.

Each area names its own objects in its api module (`Catalog` in activities, `Plans` in plans,
…, through `shared.runtime.provided`), so this module imports no area and no area's routes
import back into one that imports them all. The context they come from: context.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.audit import AuditLog
from shared.auth import Principal, Role, require
from shared.readmodels.member_directory import MemberDirectory
from shared.runtime import provided

Audit = Annotated[AuditLog, Depends(provided("audit"))]
Directory = Annotated[MemberDirectory, Depends(provided("directory"))]
Cadre = Annotated[Principal, Depends(require(Role.cadre))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
