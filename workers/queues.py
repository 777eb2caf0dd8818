"""Queue names (docs/architecture.md) and the Redis key of each stream."""

from __future__ import annotations

SHOPIFY_WEBHOOK = "SHOPIFY_WEBHOOK"
SHOPIFY_SETTINGS_PUSH = "SHOPIFY_SETTINGS_PUSH"
SHOPIFY_SETTINGS_FETCH = "SHOPIFY_SETTINGS_FETCH"
SHOPIFY_CATALOG_SYNC = "SHOPIFY_CATALOG_SYNC"
STORE_EVENTS = "store-events"
EMAIL_OUTBOX = "EMAIL_OUTBOX"  # origin.outbox.actions.EMAIL_QUEUE
CHECKOUT_SWEEPS = "CHECKOUT_SWEEPS"  # expired stock holds, unpaid card orders (scheduled only)

ALL_QUEUES = (SHOPIFY_WEBHOOK, SHOPIFY_SETTINGS_PUSH, SHOPIFY_SETTINGS_FETCH, SHOPIFY_CATALOG_SYNC, STORE_EVENTS, EMAIL_OUTBOX, CHECKOUT_SWEEPS)

# Each worker deployment runs `taskiq worker ... --max-async-tasks 16` (README "Workers").
# Pools are sized from it: the Redis pool must exceed it (every in-flight task may ack
# or re-kick while the listener holds its own connection), and so must the DB pool.
MAX_ASYNC_TASKS = 16


def stream_key(queue: str) -> str:
    return f"zelly:tasks:{queue}"


def added_key(queue: str, task_id: str) -> str:
    """Marks a task id as already in its stream, so a kick resent after a timeout adds nothing."""
    return f"zelly:tasks:{queue}:added:{task_id}"


def delayed_key(queue: str) -> str:
    """Sorted set of messages waiting out a retry backoff (score: due unix time)."""
    return f"zelly:tasks:{queue}:delayed"


def validate_queue(queue: str) -> str:
    if queue not in ALL_QUEUES:
        raise ValueError(f"unknown queue {queue!r}; expected one of {', '.join(ALL_QUEUES)}")
    return queue
