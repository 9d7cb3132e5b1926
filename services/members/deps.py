"""Typed FastAPI dependencies of the members service: what its routes may ask for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.members.membership.store import MemberRegistry
from shared.auth import Principal, Role, require


@dataclass(frozen=True)
class MembersContext:
    """Everything the routes use, built once by the composition root."""

    members: MemberRegistry


def get_context(request: Request) -> MembersContext:
    return request.app.state.runtime.context


def get_members(request: Request) -> MemberRegistry:
    return get_context(request).members


Members = Annotated[MemberRegistry, Depends(get_members)]
Cadre = Annotated[Principal, Depends(require(Role.cadre))]
Auditor = Annotated[Principal, Depends(require(Role.auditor))]
