"""Worker deployment for the CHECKOUT_SWEEPS queue, and its scheduler (the sweeps every minute).

    taskiq worker workers.checkout_sweeps:broker --max-async-tasks 16
    taskiq scheduler workers.checkout_sweeps:scheduler      # exactly one: expired holds, unpaid card orders

Settings come from ZELLY_* variables (the one place a worker reads them). On the
embedded default ``zelly dev`` runs the sweeps in-process instead (ops/commands/dev.py).
"""

from __future__ import annotations

from taskiq.schedule_sources import LabelScheduleSource

from origin.settings import Settings
from workers import queues
from workers.brokers import make_broker
from workers.observed import ObservedScheduler
from workers.checkout_tasks import register_checkout_tasks

settings = Settings.from_env()
broker = make_broker(settings, queues.CHECKOUT_SWEEPS)
register_checkout_tasks(broker)

scheduler = ObservedScheduler(broker, [LabelScheduleSource(broker)], settings=settings, queue=queues.CHECKOUT_SWEEPS)
