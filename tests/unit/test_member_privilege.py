"""Pure rules of who may act on a member: covering their grants, and confirming an e-mail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.members.membership.confirmations import (
    CONFIRM_PATH,
    ask_if_pending,
    digest,
    open_for_notify,
)
from services.members.membership.domain import (
    ContactDetails,
    JoinMember,
    Member,
    UnionRole,
    join,
)
from services.members.membership.grants import check_contact_change, require_covers_member
from shared.crypto import Sealer
from shared.errors import Forbidden, Refused
from shared.events.members import ContactChanged, EmailChangeRequested, MemberUpdated
from shared.principal import Principal

NOW = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
SEALER = Sealer(b"k" * 32)
MAIN_CADRE = Principal("m-cadre", frozenset({"member", "cadre"}), frozenset({"main"}))
ADMIN = Principal("m-admin", frozenset({"member", "admin"}), frozenset({"*"}))


def member(*roles: UnionRole, campus: str = "main", email: str | None = "old@school.local"):
    found = join(
        JoinMember(
            staff_no="P0001",
            name="张主席",
            campus=campus,
            department="校工会",
            roles=list(roles),
            email=email,
        ),
        date(2026, 9, 1),
    )
    found.pull_events()
    return found


def test_a_campus_cadre_does_not_cover_the_school_unions_chair():
    chair = member(UnionRole.chair)
    with pytest.raises(Forbidden) as err:
        require_covers_member(MAIN_CADRE, chair, "main")
    assert err.value.code == "member.grants_exceeded" and err.value.status == 403
    require_covers_member(ADMIN, chair, "main")  # the admin does
    require_covers_member(MAIN_CADRE, member(UnionRole.group_leader), "main")  # an equal
    # The member may always act on themself.
    require_covers_member(Principal(chair.id, frozenset({"member"}), frozenset()), chair, "main")


def test_only_a_change_to_where_sign_in_links_go_needs_the_grants():
    chair = member(UnionRole.chair)
    check_contact_change(MAIN_CADRE, chair, ContactDetails(phone="13800000009"), "main")
    for change in (ContactDetails(email="mine@evil.test"), ContactDetails(wecom_userid="evil")):
        with pytest.raises(Forbidden):
            check_contact_change(MAIN_CADRE, chair, change, "main")
    # Sending the address the chair has already is no change.
    check_contact_change(MAIN_CADRE, chair, ContactDetails(email="old@school.local"), "main")


def confirmation(found: Member) -> tuple[str, EmailChangeRequested]:
    ask_if_pending(found, SEALER, NOW)
    [event] = [e for e in found.pull_events() if isinstance(e, EmailChangeRequested)]
    to, path = open_for_notify(SEALER, event.sealed_for_notify)
    assert to == found.pending_email and path.startswith(CONFIRM_PATH)
    return path.removeprefix(CONFIRM_PATH), event


def test_a_pending_email_is_confirmed_once_by_its_link_and_only_then_used():
    found = member(email="old@school.local")
    found.change_contact(ContactDetails(email="new@school.local"))
    found.pull_events()
    token, event = confirmation(found)
    # Only the hash is kept; the event carries the link sealed, never in clear.
    assert found.email_confirmation_digest == digest(token)
    assert (
        token not in event.model_dump_json() and "new@school.local" not in event.model_dump_json()
    )
    assert event.had_email and event.expires_at == NOW + timedelta(hours=24)
    with pytest.raises(Refused) as err:
        found.confirm_email(digest("x" * 43), NOW)
    assert err.value.code == "member.email_confirmation_invalid"
    assert found.email == "old@school.local"
    found.confirm_email(digest(token), NOW)
    updated, contact = found.pull_events()
    assert isinstance(updated, MemberUpdated) and isinstance(contact, ContactChanged)
    assert contact.email == found.email == "new@school.local" and found.pending_email is None
    with pytest.raises(Refused):  # single use
        found.confirm_email(digest(token), NOW)


def test_an_expired_link_confirms_nothing_and_the_confirmed_address_drops_a_pending_one():
    found = member()
    found.change_contact(ContactDetails(email="new@school.local"))
    token, _ = confirmation(found)
    with pytest.raises(Refused):
        found.confirm_email(digest(token), NOW + timedelta(hours=24))
    found.change_contact(ContactDetails(email="old@school.local"))
    assert found.pending_email is None and found.email_confirmation_digest is None


def test_an_address_on_an_application_is_held_for_the_member():
    found = member()
    found.hold_email_for_confirmation()
    assert found.email is None and found.pending_email == "old@school.local"
    assert not found.has_contact


def test_an_enrolment_address_waits_for_the_member_once_their_roles_give_more():
    from services.members.membership.domain import UpdateDetails
    from services.members.membership.grants import raises_grants

    found = member(email="set-by-cadre@school.local")
    assert found.email_from_enrolment
    before = found.model_copy(deep=True)
    found.update(UpdateDetails(roles=[UnionRole.group_leader]))
    assert raises_grants(before, found, "main")
    found.reconfirm_email()
    events = found.pull_events()
    assert found.email is None and found.pending_email == "set-by-cadre@school.local"
    [contact] = [e for e in events if isinstance(e, ContactChanged)]
    assert contact.email is None  # notify stops mailing it
    # Fewer roles, or the same, raise nothing; an address the member confirmed stays.
    assert not raises_grants(found, before, "main")
    confirmed = member(email="mine@school.local")
    confirmed.email_from_enrolment = False
    confirmed.reconfirm_email()
    assert confirmed.email == "mine@school.local" and confirmed.pull_events() == []
