"""What the notify service's routes use, built once by the composition root (bootstrap.py)
and handed out per route by `shared.runtime.provided` (see the areas' api modules)."""

from __future__ import annotations

from dataclasses import dataclass

from services.notify.announcements.fanout import AnnouncementFanout
from services.notify.announcements.store import Announcements
from services.notify.delivery.handlers import Dispatcher
from services.notify.delivery.store import Deliveries
from services.notify.notices.store import Inbox
from services.notify.preferences.store import PreferenceStore
from services.notify.templates.store import Templates
from services.notify.webhooks.handlers import Webhooks


@dataclass(frozen=True)
class NotifyContext:
    inbox: Inbox
    deliveries: Deliveries
    preferences: PreferenceStore
    templates: Templates
    dispatcher: Dispatcher  # for tests and tools that dispatch without Kafka
    webhooks: Webhooks
    announcements: Announcements
    announcement_fanout: AnnouncementFanout
