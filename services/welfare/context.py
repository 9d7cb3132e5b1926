"""What the welfare service's routes use, built once by the composition root (bootstrap.py)
and handed out per route by `shared.runtime.provided` (see deps.py)."""

from __future__ import annotations

from dataclasses import dataclass

from services.welfare.birthdays.handlers import Birthdays
from services.welfare.cases.handlers import Cases
from services.welfare.exams.handlers import Exams
from services.welfare.funds.handlers import Funds
from services.welfare.hardship.handlers import Register
from services.welfare.mutualaid.handlers import MutualAid
from services.welfare.plans.handlers import Plans
from services.welfare.policy.handlers import Policy


@dataclass(frozen=True)
class WelfareContext:
    funds: Funds
    policy: Policy
    plans: Plans
    cases: Cases  # welfare-care: condolence cases and visits
    hardship: Register  # welfare-care: the hardship register (困难职工档案)
    birthdays: Birthdays  # welfare-care: birthday benefits (生日慰问)
    exams: Exams | None = None  # welfare-exams
    mutual_aid: MutualAid | None = None  # welfare-exams
