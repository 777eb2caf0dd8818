"""Worker deployment for the SHOPIFY_SETTINGS_PUSH queue.

    taskiq worker workers.shopify_settings_push:broker --max-async-tasks 16

Settings come from ZELLY_* variables (the one place a worker reads them).
"""

from __future__ import annotations

from origin.settings import Settings
from workers import queues
from workers.brokers import make_broker
from workers.shopify_tasks import register_settings_push_tasks

broker = make_broker(Settings.from_env(), queues.SHOPIFY_SETTINGS_PUSH)
register_settings_push_tasks(broker)
