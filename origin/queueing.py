"""How origin code enqueues a task without importing the workers.

The process wiring (``zelly dev``, ``zelly origin``, tests) attaches a
TaskQueue as ``Services.task_queue`` (workers.dispatch.open_task_queue builds
one from the brokers); actions call :func:`enqueue` after their transaction
commits.
"""

from __future__ import annotations

from typing import Any

from origin.errors import ErrorKind
from origin.services import Services, TaskQueue
from origin.tasks.errors import TaskError, TaskErrorCode

__all__ = ["TaskQueue", "enqueue"]


async def enqueue(services: Services, queue: str, task_name: str, **kwargs: Any) -> None:
    task_queue = services.task_queue
    if task_queue is None:
        raise TaskError(TaskErrorCode.QUEUE_UNAVAILABLE, "this process has no task queue wired", kind=ErrorKind.UNAVAILABLE)
    await task_queue.enqueue(queue, task_name, **kwargs)
