"""Retries with exponential backoff for transient failures; dead letters for the rest.

taskiq acknowledges a task that raised, and SmartRetryMiddleware's delay is
ignored by the Redis brokers without a schedule source, so this middleware does
both jobs itself:

- a *transient* failure (network, timeout, HTTP 429/5xx, a dropped DB or Redis
  connection) is re-kicked as a new message with ``attempt + 1`` and a delay of
  ``base * 2**(attempt-1)`` (capped, with jitter); the broker parks it until due
  (workers.brokers), so no worker slot waits;
- a permanent failure (bad data, a bug) or the last attempt writes a dead-letter
  row (queue, task, payload, error, attempts) that ``zelly deadletters`` lists
  and replays, and ends the run the task worked on as failed with the cause
  (workers.job_outcomes), so no sync or push stays ``running`` for ever.

The re-kick happens before the original is acknowledged: a crash in between
runs the task twice, which every task here tolerates (they are idempotent).
If writing the dead letter itself fails, the exception propagates, the message
is not acknowledged, and the stream redelivers it later.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

import httpx
import redis.exceptions
import sqlalchemy.exc
from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult

from workers.observed import count_outcome

log = logging.getLogger(__name__)

ATTEMPT_LABEL = "attempt"
DELAY_LABEL = "delay"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay_s: float = 2.0
    max_delay_s: float = 300.0
    jitter: float = 0.2  # +-20 %, so a fleet of failures does not retry in lock-step

    def delay_for(self, attempt: int) -> float:
        """Delay before attempt ``attempt + 1``, after attempt ``attempt`` failed."""
        delay = min(self.base_delay_s * 2 ** (attempt - 1), self.max_delay_s)
        return delay * (1 + random.uniform(-self.jitter, self.jitter))


def is_transient(error: BaseException) -> bool:
    """Worth retrying later: the same input may well succeed."""
    if getattr(error, "is_transient", False):  # e.g. origin.shopify.errors.ShopifyUnavailable
        return True
    return isinstance(
        error,
        (
            httpx.TransportError,  # connect/read errors and timeouts
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            sqlalchemy.exc.OperationalError,  # lost connection, deadlock, lock wait timeout
            sqlalchemy.exc.IntegrityError,  # two workers inserted the same key: the retry sees it
            ConnectionError,
            TimeoutError,
        ),
    )


class RetryWithBackoff(TaskiqMiddleware):
    def __init__(self, queue: str, policy: RetryPolicy) -> None:
        super().__init__()
        self.queue = queue
        self.policy = policy

    async def on_error(self, message: TaskiqMessage, result: TaskiqResult, exception: BaseException) -> None:
        attempt = int(message.labels.get(ATTEMPT_LABEL, 1))
        if is_transient(exception) and attempt < self.policy.max_attempts:
            delay = self.policy.delay_for(attempt)
            log.warning("%s attempt %d failed (%s); retrying in %.1fs", message.task_name, attempt, exception, delay)
            retry = message.model_copy(
                update={
                    "task_id": self.broker.id_generator(),
                    "labels": {**message.labels, ATTEMPT_LABEL: attempt + 1, DELAY_LABEL: delay},
                }
            )
            await self.broker.kick(self.broker.formatter.dumps(retry))  # the labels (request id) go along
            count_outcome(getattr(self.broker.state, "services", None), self.queue, message.task_name, "retry")
            return
        from workers import deadletters, job_outcomes

        services = self.broker.state.services
        count_outcome(services, self.queue, message.task_name, "dead_letter")
        await deadletters.record(services, queue=self.queue, message=message, error=exception, attempts=attempt)
        await job_outcomes.job_dead_lettered(services, message.task_name, message.kwargs, failure_cause(exception, attempt))
        log.error("%s dead-lettered after %d attempt(s): %r", message.task_name, attempt, exception)


def failure_cause(error: BaseException, attempts: int) -> str:
    """One line a seller can read: what failed, and how often it was tried."""
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    tries = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
    return f"{text}{tries}"
