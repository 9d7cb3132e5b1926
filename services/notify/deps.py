"""Typed FastAPI dependencies of the notify service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.notify.notices.store import Inbox


@dataclass(frozen=True)
class NotifyContext:
    inbox: Inbox


def get_inbox(request: Request) -> Inbox:
    context: NotifyContext = request.app.state.runtime.context
    return context.inbox


InboxDep = Annotated[Inbox, Depends(get_inbox)]
