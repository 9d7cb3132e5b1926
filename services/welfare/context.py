"""What the welfare service's routes use, built once by the composition root (bootstrap.py)
and handed out per route by `shared.runtime.provided` (see deps.py)."""

from __future__ import annotations

from dataclasses import dataclass

from services.welfare.exams.handlers import Exams
from services.welfare.funds.handlers import Funds
from services.welfare.mutualaid.handlers import MutualAid
from services.welfare.plans.handlers import Plans
from services.welfare.policy.handlers import Policy


@dataclass(frozen=True)
class WelfareContext:
    funds: Funds
    policy: Policy
    plans: Plans
    exams: Exams | None = None  # welfare-exams
    mutual_aid: MutualAid | None = None  # welfare-exams
