"""Wait until Redis task streams have nothing left to run, and stop in-process stream workers: what the worker harnesses share."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from redis.asyncio import Redis

from workers import queues as queue_names
from workers.brokers import ReclaimingStreamBroker


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


async def stop_stream_workers(brokers: Sequence[ReclaimingStreamBroker], receivers: Sequence[asyncio.Task], *, timeout_s: float = 30.0) -> None:
    """Stop in-process receivers (``run_receiver_task``) the way a SIGTERM'd worker stops: nothing left running after.

    Each listener leaves its blocking read once ``_closing`` is set, and taskiq's runner then waits
    for the tasks it started. Cancelling the receiver instead (what the harnesses did after a fixed
    1.2 s) is not a stop: taskiq's runner breaks on cancel without cancelling its running tasks, and
    on a loaded machine a listener can still be in XREADGROUP. Either then outlives the test, and the
    next test's ``flushdb`` makes it fail ("UNBLOCKED the stream key no longer exists", NOGROUP) or it
    takes, acks or re-kicks that test's messages.
    """
    for broker in brokers:
        broker._closing = True
    _, still_running = await asyncio.wait(receivers, timeout=timeout_s) if receivers else ((), ())
    for task in still_running:
        task.cancel()
    await asyncio.gather(*receivers, return_exceptions=True)
    for broker in brokers:
        await broker.shutdown()
    if still_running:
        raise AssertionError(f"{len(still_running)} stream worker(s) still running {timeout_s:.0f} s after being told to stop")
