"""Worker deployment for the SHOPIFY_CATALOG_SYNC queue.

    taskiq worker workers.shopify_catalog_sync:broker --max-async-tasks 16

Settings come from ZELLY_* variables (the one place a worker reads them).
"""

from __future__ import annotations

from origin.settings import Settings
from workers import queues
from workers.brokers import make_broker
from workers.observed import ObservedScheduler
from workers.shopify_tasks import register_catalog_sync_tasks

settings = Settings.from_env()
broker = make_broker(settings, queues.SHOPIFY_CATALOG_SYNC)
register_catalog_sync_tasks(broker)

# `taskiq scheduler workers.shopify_catalog_sync:scheduler` queues incremental syncs every 15 minutes.
from taskiq.schedule_sources import LabelScheduleSource  # noqa: E402

scheduler = ObservedScheduler(broker, [LabelScheduleSource(broker)], settings=settings, queue=queues.SHOPIFY_CATALOG_SYNC)
