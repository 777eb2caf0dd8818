"""Wait until Redis task streams have nothing left to run: the one drain the worker harnesses share."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from redis.asyncio import Redis

from workers import queues as queue_names


async def busy_entries(redis: Redis, queues: Iterable[str]) -> int:
    """Entries not yet delivered, delivered but unacknowledged, or waiting in a queue's delayed set."""
    busy = 0
    for queue in queues:
        stream = queue_names.stream_key(queue)
        if await redis.exists(stream):
            # Compare ids rather than XINFO's "lag", which is unknown (nil) for a stream entries were deleted from.
            last_added = (await redis.xinfo_stream(stream))["last-generated-id"]
            for group in await redis.xinfo_groups(stream):
                busy += int(group.get("pending", 0)) + (group["last-delivered-id"] != last_added)
        busy += await redis.zcard(queue_names.delayed_key(queue))
    return busy


async def wait_for_streams_drained(redis: Redis, queues: Iterable[str], *, what: str, timeout_s: float = 30.0) -> None:
    queues = tuple(queues)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    idle_checks = 0
    while loop.time() < deadline:
        # Idle twice, 0.1 s apart: a failed task is acknowledged a moment before its retry is scheduled
        # (or dead-lettered), and one idle look can fall in that gap on a busy machine.
        idle_checks = idle_checks + 1 if await busy_entries(redis, queues) == 0 else 0
        if idle_checks == 2:
            return
        await asyncio.sleep(0.1 if idle_checks else 0.05)
    raise AssertionError(f"{what} did not drain")
