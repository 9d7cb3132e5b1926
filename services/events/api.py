"""events's HTTP routes (health, readiness and metrics come from the shared runtime)."""

from __future__ import annotations

from fastapi import APIRouter

from shared.problems import PROBLEM_RESPONSES

router = APIRouter(responses=PROBLEM_RESPONSES)
