"""The email outbox's tasks: send one row after its transaction committed, sweep every due row.

Neither raises on an SMTP failure: the outbox row records it and holds its own
back-off (origin.outbox.sending), so the retry lives with the row, survives any
broker, and a message is never retried by two mechanisms at once. What does
raise (the database unreachable) is retried by workers.retry like any task.
"""

from __future__ import annotations

from taskiq import AsyncBroker, TaskiqDepends

from origin.outbox.actions import SEND_TASK, SWEEP_TASK
from origin.outbox.sending import send_due, send_one
from origin.services import Services
from workers.runtime import task_services

SWEEP_EVERY = "* * * * *"  # a lost enqueue or a due retry waits at most a minute


async def send_email(tenant_id: int, outbox_id: int, services: Services = TaskiqDepends(task_services)) -> int:
    return (await send_one(services, outbox_id, tenant_id=tenant_id)).sent


async def sweep_outbox(services: Services = TaskiqDepends(task_services)) -> dict[str, int]:
    result = await send_due(services)
    return {"sent": result.sent, "retrying": result.retrying, "dead": result.dead}


def register_email_tasks(broker: AsyncBroker) -> None:
    broker.register_task(send_email, task_name=SEND_TASK)
    broker.register_task(sweep_outbox, task_name=SWEEP_TASK, schedule=[{"cron": SWEEP_EVERY}])
