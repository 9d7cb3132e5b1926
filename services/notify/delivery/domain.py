"""Deliveries (投递), pure: one per (event id, recipient, channel), and what a failure means."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.labels import Labelled

MAX_BACKOFF = timedelta(hours=1)
# While a channel's service is down, look again this often (an outage never fails a delivery).
OUTAGE_WAIT = timedelta(seconds=30)


class DeliveryStatus(Labelled):
    queued = "queued", "待发送"
    sent = "sent", "已发送"
    failed = "failed", "发送失败"
    read = "read", "已读"
    skipped = "skipped", "未发送"


def delivery_id(event_id: str, member_id: str, channel: str, variant: str = "") -> str:
    """The unique key of a delivery: whatever is redelivered or replayed inserts it once.
    `variant` tells apart two messages of one event to one person on one channel (the new
    and the old address of an e-mail change)."""
    key = f"{event_id}:{member_id}:{channel}"
    return f"{key}:{variant}" if variant else key


def notice_id(event_id: str, member_id: str) -> str:
    return f"{event_id}:{member_id}"


def backoff(failures: int, first_s: float) -> timedelta:
    """The wait after the n-th failed attempt: first_s, 2×, 4× … at most an hour."""
    wait = timedelta(seconds=first_s * 2 ** max(0, failures - 1))
    return min(wait, MAX_BACKOFF)


def after_failure(
    failures: int, max_attempts: int, now: datetime, first_s: float
) -> tuple[DeliveryStatus, datetime | None]:
    """What a failed attempt leaves: queued again later, or failed for good after N."""
    if failures >= max_attempts:
        return DeliveryStatus.failed, None
    return DeliveryStatus.queued, now + backoff(failures, first_s)
