"""What the notify service's routes use, built once by the composition root (bootstrap.py)
and handed out per route by `shared.runtime.provided` (see notices/api.py)."""

from __future__ import annotations

from dataclasses import dataclass

from services.notify.notices.store import Inbox
from services.notify.webhooks.handlers import Webhooks


@dataclass(frozen=True)
class NotifyContext:
    inbox: Inbox
    webhooks: Webhooks
