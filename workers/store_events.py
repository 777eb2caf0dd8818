"""Worker deployment for the store-events queue (the analytics consumer adds its task).

    taskiq worker workers.store_events:broker --max-async-tasks 16
"""

from __future__ import annotations

from origin.settings import Settings
from workers import queues
from workers.brokers import make_broker
from workers.store_events_tasks import register_store_events_tasks

broker = make_broker(Settings.from_env(), queues.STORE_EVENTS)
register_store_events_tasks(broker)
