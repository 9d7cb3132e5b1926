"""Every event the welfare service reacts to, in one table."""

from __future__ import annotations

from shared.readmodels.member_directory import MemberDirectory, member_directory_routes
from shared.routing import Routes


def subscriptions(directory: MemberDirectory) -> Routes:
    return [*member_directory_routes(directory)]
