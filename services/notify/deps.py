"""Typed FastAPI dependencies of the notify service: what its routes may ask for.

Every service's deps module has the same shape: one frozen `NotifyContext` that the composition
root (services/notify/bootstrap.py) builds once at start, `get_context` to reach it from a request,
one `async def get_…` per part (FastAPI runs a plain `def` dependency in a worker thread, a hop per
request), and the `Annotated` names the routes use: the parts, then who may call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.notify.notices.store import Inbox


@dataclass(frozen=True)
class NotifyContext:
    """Everything the routes use, built once by the composition root."""

    inbox: Inbox


def get_context(request: Request) -> NotifyContext:
    return request.app.state.runtime.context


async def get_inbox(request: Request) -> Inbox:
    return get_context(request).inbox


InboxDep = Annotated[Inbox, Depends(get_inbox)]
