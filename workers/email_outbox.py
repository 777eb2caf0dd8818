"""Worker deployment for the EMAIL_OUTBOX queue, and its scheduler (the periodic sweep).

    taskiq worker workers.email_outbox:broker --max-async-tasks 16
    taskiq scheduler workers.email_outbox:scheduler      # exactly one: the sweep every minute

Settings come from ZELLY_* variables (the one place a worker reads them). On the
embedded default ``zelly dev`` runs the sweep in-process instead (ops/commands/dev.py).
"""

from __future__ import annotations

from taskiq.schedule_sources import LabelScheduleSource

from origin.settings import Settings
from workers import queues
from workers.brokers import make_broker
from workers.observed import ObservedScheduler
from workers.email_tasks import register_email_tasks

settings = Settings.from_env()
broker = make_broker(settings, queues.EMAIL_OUTBOX)
register_email_tasks(broker)

scheduler = ObservedScheduler(broker, [LabelScheduleSource(broker)], settings=settings, queue=queues.EMAIL_OUTBOX)
