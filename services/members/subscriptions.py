"""Every event the members service reacts to, in one table."""

from __future__ import annotations

from shared.routing import Routes


def subscriptions() -> Routes:
    # members reacts to no other service's events yet; its own aggregates' views are
    # subscribed by `runtime.aggregate(...)` in the composition root.
    return []
