"""E-mail confirmation links (邮箱确认): single-use, kept only as a hash, mailed by notify.

A new address waits as the member's `pending_email`; the link to confirm it is a random
token whose SHA-256 is kept on the member (a private field: never in the history or an
event). notify needs the address and the link to mail them, so they travel in the event
sealed (AES-GCM) under a key notify holds, never in clear on a topic. Whoever reads the
link still needs to be signed in as the member to use it (`handlers.confirm_email`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta

from services.members.membership.domain import Member
from shared.crypto import Sealer

CONFIRM_PATH = "/m/contact/confirm#token="  # the web front end's page; a fragment is not logged
CONFIRM_TTL = timedelta(hours=24)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def seal_for_notify(sealer: Sealer, to: str, link_path: str) -> str:
    return sealer.seal(json.dumps({"to": to, "link_path": link_path}))


def open_for_notify(sealer: Sealer, sealed: str) -> tuple[str, str]:
    """notify's side: the address to mail and the link's path."""
    found = json.loads(sealer.open(sealed))
    return found["to"], found["link_path"]


def ask_if_pending(member: Member, sealer: Sealer, now: datetime) -> None:
    """Record a confirmation link for an address that just became pending (a no-op else)."""
    if not member.awaits_email_confirmation or member.pending_email is None:
        return
    token = secrets.token_urlsafe(32)
    sealed = seal_for_notify(sealer, member.pending_email, f"{CONFIRM_PATH}{token}")
    member.ask_email_confirmation(digest(token), now + CONFIRM_TTL, sealed)
