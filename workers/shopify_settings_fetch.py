"""Worker deployment for the SHOPIFY_SETTINGS_FETCH queue.

    taskiq worker workers.shopify_settings_fetch:broker --max-async-tasks 16

Settings come from ZELLY_* variables (the one place a worker reads them).
"""

from __future__ import annotations

from origin.settings import Settings
from workers import queues
from workers.brokers import make_broker
from workers.shopify_tasks import register_settings_fetch_tasks

broker = make_broker(Settings.from_env(), queues.SHOPIFY_SETTINGS_FETCH)
register_settings_fetch_tasks(broker)
