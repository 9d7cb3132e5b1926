"""Every event the welfare service reacts to, in one table."""

from __future__ import annotations

from services.welfare.cases.handlers import Cases, on_attendance, on_deceased, on_retired
from services.welfare.funds.handlers import Funds, on_dues_paid, on_dues_payment_reversed
from shared.events.dues import DuesPaid, DuesPaymentReversed
from shared.events.events import AttendanceRecorded
from shared.events.members import MemberDeceased, MemberRetired
from shared.readmodels.member_directory import MemberDirectory, member_directory_routes
from shared.routing import Routes, on


def subscriptions(directory: MemberDirectory, funds: Funds, cases: Cases) -> Routes:
    return [
        *member_directory_routes(directory),
        # Dues paid are income (会费收入); each posted once, each reversal put back once.
        on(DuesPaid, on_dues_paid, funds),
        on(DuesPaymentReversed, on_dues_payment_reversed, funds),
        # welfare-care: cases raised automatically, each once (the id comes from the facts).
        on(AttendanceRecorded, on_attendance, cases),  # a blood drive's donors
        on(MemberRetired, on_retired, cases),  # the retirement gift
        on(MemberDeceased, on_deceased, cases),  # the bereavement condolence
    ]
