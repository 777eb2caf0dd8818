"""How origin code enqueues a task without importing the workers.

The process wiring (``zelly dev``, ``zelly origin``, tests) attaches a
TaskQueue as ``Services.task_queue`` (workers.dispatch.open_task_queue builds
one from the brokers); actions call :func:`enqueue` after their transaction
commits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from origin.errors import ErrorKind
from origin.services import Services, TaskQueue
from origin.tasks.errors import TaskError, TaskErrorCode

__all__ = ["TaskQueue", "enqueue", "BOUNDED_XADD_SCRIPT", "StreamBacklog", "stream_backlog"]

# XADD only while the stream holds fewer than ARGV[1] entries; nil when it is full.
# Streams are never trimmed (XADD MAXLEN deletes entries nobody acknowledged, issue 12,
# item 4): consumers XDEL what they acknowledged, so XLEN is the unacknowledged backlog,
# and past the bound the producer refuses, so the sender (Shopify, a shopper's beacon)
# retries later instead of an accepted entry being dropped.
BOUNDED_XADD_SCRIPT = """
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
"""


@dataclass(frozen=True)
class StreamBacklog:
    """What a stream holds that nobody acknowledged yet: for ``zelly queues`` and /healthz."""

    stream: str
    entries: int
    pending: int  # delivered to a consumer, not yet acknowledged
    oldest_age_seconds: float  # of the oldest entry still in the stream (0 when empty)

    def as_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "pending": self.pending, "oldest_age_seconds": round(self.oldest_age_seconds, 1)}


async def stream_backlog(redis, stream: str, group: str) -> StreamBacklog:
    """XLEN, XPENDING and the oldest entry's id time of one stream (its group may not exist yet)."""
    entries = int(await redis.xlen(stream))
    pending = 0
    try:
        summary = await redis.xpending(stream, group)
        pending = int(summary["pending"])
    except Exception as error:  # redis.ResponseError NOGROUP: nobody consumed yet, nothing is pending
        if "NOGROUP" not in str(error):
            raise
    oldest = await redis.xrange(stream, count=1)
    age = 0.0
    if oldest:
        message_id = oldest[0][0]
        milliseconds = int((message_id.decode() if isinstance(message_id, bytes) else message_id).split("-")[0])
        age = max(0.0, time.time() - milliseconds / 1000)
    return StreamBacklog(stream=stream, entries=entries, pending=pending, oldest_age_seconds=age)


async def enqueue(services: Services, queue: str, task_name: str, **kwargs: Any) -> None:
    task_queue = services.task_queue
    if task_queue is None:
        raise TaskError(TaskErrorCode.QUEUE_UNAVAILABLE, "this process has no task queue wired", kind=ErrorKind.UNAVAILABLE)
    await task_queue.enqueue(queue, task_name, **kwargs)
