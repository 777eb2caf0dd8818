"""Task errors: no queue wired in this process, no such dead letter."""

from __future__ import annotations

import enum

from origin.errors import ZellyError


class TaskErrorCode(enum.Enum):
    QUEUE_UNAVAILABLE = "queue_unavailable"
    QUEUE_FULL = "queue_full"  # the stream's backlog is above ZELLY_TASK_BACKLOG_LIMIT: retry later
    UNKNOWN_DEAD_LETTER = "unknown_dead_letter"


class TaskError(ZellyError):
    codes = (TaskErrorCode,)
