"""Typed FastAPI dependencies any area of the welfare service may ask for.

Each area names its own objects in its api module (`FundsDep` in funds, through
`shared.runtime.provided`), so this module imports no area and no area's routes import back
into one that imports them all. The context they come from: context.py.
"""

from __future__ import annotations
