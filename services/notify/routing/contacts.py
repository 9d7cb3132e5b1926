"""Contact details notify learns from the compacted topic `members.contact` (it alone reads it).

The latest record per member wins (`shared.readmodels.newest`, the rule of every read model
kept from events); a tombstone — the member left — removes the member's details entirely.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from shared.envelope import CloudEvent
from shared.mongo import find_by_ids
from shared.readmodels.newest import apply_if_newer

CONTACTS = "contacts"


@dataclass(frozen=True)
class Contact:
    member_id: str
    name: str
    campus: str
    phone: str | None
    email: str | None
    wecom_userid: str | None


class Contacts:
    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[CONTACTS]

    async def get(self, member_id: str) -> Contact | None:
        doc = await self.coll.find_one({"_id": member_id})
        return None if doc is None else _contact(doc)

    async def get_many(self, member_ids: list[str]) -> dict[str, Contact]:
        if not member_ids:
            return {}
        docs = await find_by_ids(self.coll, member_ids)
        return {i: _contact(d) for i, d in docs.items()}

    async def apply(self, contact: Contact, envelope: CloudEvent) -> bool:
        """Keep the newest details; the consumer of the member's partition is the one writer."""
        doc = {
            "name": contact.name,
            "campus": contact.campus,
            "phone": contact.phone,
            "email": contact.email,
            "wecom_userid": contact.wecom_userid,
        }
        return await apply_if_newer(
            self.coll, contact.member_id, envelope.sequence, doc, replace=True
        )

    async def erase(self, member_id: str) -> None:
        await self.coll.delete_one({"_id": member_id})


def _contact(doc: dict) -> Contact:
    return Contact(
        member_id=doc["_id"],
        name=doc["name"],
        campus=doc["campus"],
        phone=doc.get("phone"),
        email=doc.get("email"),
        wecom_userid=doc.get("wecom_userid"),
    )


def address_of(contact: Contact | None, channel: str) -> str | None:
    """Where a channel reaches the member: e-mail, WeCom user id or mobile number."""
    if contact is None:
        return None
    return {"email": contact.email, "wecom": contact.wecom_userid, "sms": contact.phone}.get(
        channel
    )
