"""The table routing incoming events to welfare's use cases."""

from __future__ import annotations

from shared.consumer import Routes
from shared.projections import MemberDirectory, member_directory_routes


def routes(directory: MemberDirectory) -> Routes:
    return {**member_directory_routes(directory)}
