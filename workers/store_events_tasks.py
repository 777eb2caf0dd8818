"""No taskiq tasks for store-events: the analytics consumer reads that stream itself.

It must batch thousands of events per ClickHouse insert and acknowledge them only
after the insert, which taskiq's per-message ack does not allow (docs/decisions.md,
"the store-events consumer reads the Redis stream itself"). It runs as
``zelly analytics consume`` (origin/analytics/runtime.py), inside ``zelly dev`` on
the embedded default. This hook stays so every queue keeps a registration point.
"""

from __future__ import annotations

from taskiq import AsyncBroker


def register_store_events_tasks(broker: AsyncBroker) -> None:
    """Nothing to add (see the module docstring)."""
