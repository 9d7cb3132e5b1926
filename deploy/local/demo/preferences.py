"""我的通知设置 for the demo: a few members have chosen their channels and quiet hours, each
with their own token (a member's settings are theirs alone), so 通知设置 on the phone shows a
real choice and the fan-out and the delivery worker have preferences to honour.

Saved once: a member whose settings differ from the defaults has chosen already (here or on
the phone), and the demo never overrides what a member did.
"""

from __future__ import annotations

from typing import Any

import httpx

from deploy.local.demo.client import check, member_token

# staff number → the settings body of PUT /me/notification-settings
CHOICES: dict[str, dict[str, Any]] = {
    # The teacher of the README's walk-through: activities in the inbox and WeCom only, no
    # e-mail, and a quiet evening from half past nine.
    "T2020": {
        "channels": {"activity": ["inbox", "wecom"], "reminder": ["inbox", "wecom"]},
        "quiet_hours": {"enabled": True, "start": "21:30", "end": "07:30"},
    },
    # Welfare and notices by e-mail too; surveys in the inbox only.
    "T2021": {
        "channels": {
            "welfare": ["inbox", "email"],
            "announcement": ["inbox", "email"],
            "survey": ["inbox"],
        },
        "quiet_hours": {"enabled": True, "start": "22:00", "end": "07:00"},
    },
    # A night-shift worker: no quiet hours, everything by SMS as well.
    "T2022": {
        "channels": {"reminder": ["inbox", "sms"], "activity": ["inbox", "sms"]},
        "quiet_hours": {"enabled": False, "start": "22:00", "end": "07:00"},
    },
}

DEFAULT_QUIET = {"enabled": True, "start": "22:00", "end": "07:00"}


def chosen(settings: dict[str, Any]) -> bool:
    """Whether a member's settings (as GET answers them) are their own rather than the
    defaults: any category narrowed, or quiet hours not the default ones."""
    return bool(settings.get("channels")) or settings.get("quiet_hours") != DEFAULT_QUIET


async def seed(
    notify_url: str, timeout_s: float = 15, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[int, int]:
    """(members' settings saved, already chosen); raises SeedError on any other answer;
    `transport` for a test that runs notify in-process."""
    from deploy.local.demo.members import demo_members
    from services.members.membership.domain import member_id_for

    campus_of = {m.body["staff_no"]: m.body["campus"] for m in demo_members()}
    added = existing = 0
    async with httpx.AsyncClient(
        base_url=notify_url, timeout=timeout_s, transport=transport
    ) as http:
        for staff_no, body in CHOICES.items():
            token = member_token(member_id_for(staff_no), campus_of[staff_no])
            headers = {"Authorization": f"Bearer {token}"}
            now = await http.get("/me/notification-settings", headers=headers)
            check(now, f"GET /me/notification-settings as {staff_no}")
            if chosen(now.json()):
                existing += 1
                continue
            saved = await http.put("/me/notification-settings", json=body, headers=headers)
            check(saved, f"PUT /me/notification-settings as {staff_no}")
            added += 1
    return added, existing
