"""Worker deployment for the SHOPIFY_WEBHOOK queue.

    taskiq worker workers.shopify_webhook:broker --max-async-tasks 16

Settings come from ZELLY_* variables (the one place a worker reads them).
"""

from __future__ import annotations

from origin.settings import Settings
from workers import queues
from workers.brokers import make_broker
from workers.shopify_tasks import register_webhook_tasks

broker = make_broker(Settings.from_env(), queues.SHOPIFY_WEBHOOK)
register_webhook_tasks(broker)
