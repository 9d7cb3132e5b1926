"""Every event the welfare service reacts to, in one table."""

from __future__ import annotations

from services.welfare.cases.handlers import Cases, on_attendance, on_deceased, on_retired
from services.welfare.exams.handlers import Exams
from services.welfare.funds.handlers import Funds, on_dues_paid, on_dues_payment_reversed
from services.welfare.mutualaid.handlers import MutualAid
from services.welfare.plans.handlers import (
    Plans,
    on_member_joined,
    on_member_transferred,
    on_member_withdrawn,
)
from shared.events.dues import DuesPaid, DuesPaymentReversed
from shared.events.events import AttendanceRecorded
from shared.events.members import (
    MemberDeceased,
    MemberJoinedV2,
    MemberRetired,
    MemberTransferred,
    MemberWithdrawn,
)
from shared.readmodels.member_directory import MemberDirectory, member_directory_routes
from shared.routing import Routes, on


def subscriptions(directory: MemberDirectory, funds: Funds, plans: Plans, cases: Cases) -> Routes:
    return [
        *member_directory_routes(directory),
        # Dues paid are income (会费收入); each posted once, each reversal put back once.
        on(DuesPaid, on_dues_paid, funds),
        on(DuesPaymentReversed, on_dues_payment_reversed, funds),
        # Festival plans: who joins, or transfers in, before a deadline may get an entitlement
        # (a transfer out takes none away); who leaves has their unissued ones voided.
        on(MemberJoinedV2, on_member_joined, plans),
        on(MemberTransferred, on_member_transferred, plans),
        on(MemberWithdrawn, on_member_withdrawn, plans),
        on(MemberDeceased, on_member_withdrawn, plans),
        # welfare-care: cases raised automatically, each once (the id comes from the facts).
        on(AttendanceRecorded, on_attendance, cases),  # a blood drive's donors
        on(MemberRetired, on_retired, cases),  # the retirement gift
        on(MemberDeceased, on_deceased, cases),  # the bereavement condolence
    ]


# -- welfare-exams: the list views of exams and mutual aid ----------------------------------------


def exams_routes(exams: Exams, aid: MutualAid) -> Routes:
    return [
        *exams.book.plans.view_routes(),
        *exams.book.bookings.view_routes(),
        *aid.book.schemes.view_routes(),
        *aid.book.enrolments.view_routes(),
        *aid.book.claims.view_routes(),
    ]
