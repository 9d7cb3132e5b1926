"""Typed FastAPI dependencies and path parameters any area of the welfare service may ask for.

Each area names its own objects in its api module (`FundsDep` in funds, through
`shared.runtime.provided`), so this module imports no area and no area's routes import back
into one that imports them all. The context they come from: context.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

CAMPUS_CODE = r"^[a-z][a-z0-9-]{0,31}$"  # campus codes, as members defines them
MEMBER_ID = r"^[A-Za-z0-9_.:-]{1,64}$"  # member ids, as members makes them

CampusCode = Annotated[str, Path(pattern=CAMPUS_CODE, description="校区代码，如 main")]
Year = Annotated[int, Path(ge=2000, le=2100, description="年度（自然年）")]
MemberId = Annotated[str, Path(pattern=MEMBER_ID, description="会员编号")]
