"""The checkout's scheduled task: give back expired stock holds, void card orders never paid.

One task for both sweeps, kicked every minute by ``taskiq scheduler
workers.checkout_sweeps:scheduler``. It is idempotent (origin/checkout/sweeps.py): a
redelivery after a crash, or two schedulers, never restock anything twice.
"""

from __future__ import annotations

from taskiq import AsyncBroker, TaskiqDepends

from origin.checkout.sweeps import run_checkout_sweeps
from origin.services import Services
from workers.runtime import task_services

SWEEP_TASK = "checkout.sweep"
SWEEP_EVERY = "* * * * *"  # a hold outlives its 15 minutes by at most one more


async def sweep_checkouts(services: Services = TaskiqDepends(task_services)) -> dict[str, int]:
    return (await run_checkout_sweeps(services)).as_dict()


def register_checkout_tasks(broker: AsyncBroker) -> None:
    broker.register_task(sweep_checkouts, task_name=SWEEP_TASK, schedule=[{"cron": SWEEP_EVERY}])
