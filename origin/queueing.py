"""How origin code enqueues a task without importing the workers.

The process wiring (``zelly dev``, ``zelly origin``, tests) puts a TaskQueue in
``services.extras["task_queue"]`` (workers.dispatch.open_task_queue builds one
from the brokers); actions call :func:`enqueue` after their transaction commits.
"""

from __future__ import annotations

from typing import Any, Protocol

from origin.errors import ErrorKind
from origin.tasks.errors import TaskError, TaskErrorCode
from origin.services import Services

TASK_QUEUE_KEY = "task_queue"


class TaskQueue(Protocol):
    async def enqueue(self, queue: str, task_name: str, **kwargs: Any) -> None: ...


async def enqueue(services: Services, queue: str, task_name: str, **kwargs: Any) -> None:
    task_queue: TaskQueue | None = services.extras.get(TASK_QUEUE_KEY)
    if task_queue is None:
        raise TaskError(TaskErrorCode.QUEUE_UNAVAILABLE, "this process has no task queue wired", kind=ErrorKind.UNAVAILABLE)
    await task_queue.enqueue(queue, task_name, **kwargs)
