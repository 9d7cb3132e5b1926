"""Typed FastAPI dependencies of the welfare service: what its routes may ask for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.welfare.funds.handlers import Funds


@dataclass(frozen=True)
class WelfareContext:
    """Everything the routes use, built once by the composition root."""

    funds: Funds


def get_context(request: Request) -> WelfareContext:
    return request.app.state.runtime.context


# `async def`: FastAPI would run a plain `def` in a worker thread, a hop per request.
async def get_funds(request: Request) -> Funds:
    return get_context(request).funds


FundsDep = Annotated[Funds, Depends(get_funds)]
