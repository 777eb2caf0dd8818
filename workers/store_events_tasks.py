"""The store-events consumer's tasks: the analytics issue adds them here (batch inserts into ClickHouse)."""

from __future__ import annotations

from taskiq import AsyncBroker


def register_store_events_tasks(broker: AsyncBroker) -> None:
    """Add the store-events tasks to ``broker`` (the analytics helper fills this in)."""
