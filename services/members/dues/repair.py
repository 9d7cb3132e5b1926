"""Announcing the payments and reversals a crash left unannounced (issue 14).

Recording one is two inserts: the ledger entry, then its announcement (`Ledger.announce`, a
document under the entry's id carrying `DuesPaid` / `DuesPaymentReversed` through the outbox).
A crash between the two leaves a payment welfare never books as income; a retry of the same
request repairs it, and this job repairs what no retry came for. Every 10 minutes it announces
the payments and reversals of the last few days (GONGHUI_DUES_ANNOUNCE_WINDOW_DAYS) that have
no announcement, with the same `announce`: keyed by the entry's id, so a second run, another
replica's run, or the request's own retry at the same moment announce nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from services.members.dues.domain import AnnounceWindow, Entry, EntryKind, account_of
from services.members.dues.handlers import announce_reversal, paid_event
from services.members.dues.store import Ledger
from shared.aggregate import Actor
from shared.audit import AuditLog
from shared.scheduler import JobRun

log = logging.getLogger(__name__)

EVERY_S = 600


async def announce_missed(ledger: Ledger, window: AnnounceWindow) -> list[Entry]:
    """Announce every payment and reversal of the window without an announcement, each
    payment before its reversals; returns the entries this run announced."""
    announced: list[Entry] = []
    for entry in await ledger.unannounced(window):
        if entry.kind is EntryKind.payment:
            if await ledger.announce(entry, paid_event(entry)):
                announced.append(entry)
            continue
        payment = await ledger.entry(entry.month, entry.member_id, entry.reverses or 0)
        if payment is None:  # never: a reversal is appended after the payment it puts back
            log.error("dues reversal %s #%d reverses no entry", entry.month, entry.seq)
            continue
        # Its payment too, if that was left out before the window began.
        announced += await announce_reversal(ledger, entry, payment)
    return announced


def announce_job(ledger: Ledger, audit: AuditLog, days: int) -> Callable[[JobRun], Awaitable[None]]:
    """The scheduled run: the last `days` days up to a few minutes ago (`AnnounceWindow`)."""

    async def run(job: JobRun) -> None:
        actor = Actor("system", f"job:{job.job}@{job.slot}#{job.attempt}")
        announced = await announce_missed(ledger, AnnounceWindow.back_from(job.now, days))
        for entry in announced:
            await audit.record(
                actor,
                "dues.announced_late",
                account_of(entry.month, entry.member_id),
                entry.campus,
                seq=entry.seq,
                kind=entry.kind.value,
                amount_fen=entry.amount_fen,
            )
        (log.warning if announced else log.debug)(
            "dues announcements: %d payments and reversals of the last %d days announced "
            "late (a crash had left them out)",
            len(announced),
            days,
        )

    return run
