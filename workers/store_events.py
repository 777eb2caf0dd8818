"""The store-events queue's taskiq broker, for completeness only: do not deploy it.

The store-events consumer is ``zelly analytics consume`` (see workers/store_events_tasks.py).
"""

from __future__ import annotations

from origin.settings import Settings
from workers import queues
from workers.brokers import make_broker
from workers.store_events_tasks import register_store_events_tasks

broker = make_broker(Settings.from_env(), queues.STORE_EVENTS)
register_store_events_tasks(broker)
