"""Security notices (安全提醒): a password changed or an account locked, told to the member.

Their routes are in the routing table (`routing/table.py`, mandatory, inbox and e-mail); this
use case only adds when it happened. The events carry no time of their own, and the envelope's
is the one that matters: a notice read after an outage or a replay must still say when the
password was changed, not when notify got round to telling.
"""

from __future__ import annotations

from services.notify.delivery.handlers import Dispatch, Dispatcher, dispatch
from services.notify.routing.table import security_facts
from shared.envelope import CloudEvent
from shared.events.members import AccountLocked, PasswordChanged

SECURITY_EVENTS = (PasswordChanged, AccountLocked)


async def on_security_event(
    event: PasswordChanged | AccountLocked, envelope: CloudEvent, dispatcher: Dispatcher
) -> None:
    """The route's facts, with the time the event happened (Beijing time in the text)."""
    facts = security_facts(event, envelope.time)
    await dispatch(Dispatch(envelope.id, event.type, facts), dispatcher)
