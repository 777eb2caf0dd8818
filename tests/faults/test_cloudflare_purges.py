"""Cloudflare purges while writes burst or Cloudflare is away: coalesced, bounded (issue 12, item 7).

Against the local fake of the purge endpoint (tests/edge/fake_cloudflare.py),
which answers like Cloudflare's v4 API.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.edge.fake_cloudflare import FakeCloudflare
from tests.edge.test_cloudflare import queue_against


@contextlib.asynccontextmanager
async def running(queue):
    sender = asyncio.create_task(queue.run())
    try:
        yield
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender


async def until(predicate, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)


async def test_a_burst_of_purges_within_the_window_is_one_call_per_kind() -> None:
    fake = FakeCloudflare()
    async with queue_against(fake, window_seconds=1.0) as queue, running(queue):
        for write in range(20):  # twenty writes, each letting the sender run, well inside one window
            queue.enqueue(tags=["t1-p1", "t1"], hosts=["shop-a.test"] if write % 2 else ())
            await asyncio.sleep(0.005)
        await until(lambda: len(fake.received) >= 2)
        await asyncio.sleep(0.05)  # nothing else may follow

    assert fake.received == [("tags", ["t1-p1", "t1"]), ("hosts", ["shop-a.test"])]
    assert queue.stats.calls == 2 and queue.pending_count() == 0


async def test_past_the_backlog_bound_purges_fold_to_tenant_tags_and_hosts() -> None:
    fake = FakeCloudflare()
    async with queue_against(fake, backlog_limit=100) as queue:
        # No sender runs: what piles up while Cloudflare is away (or a free plan's 5 calls a minute lag).
        for product_id in range(5000):
            queue.enqueue(tags=[f"t{1 + product_id % 2}-p{product_id}"], urls=[f"https://shop-{product_id % 3}.test/p/{product_id}"])
        pending_while_away = queue.pending_count()

        await queue.drain()

    assert pending_while_away <= 100
    assert sorted(fake.received) == [("hosts", ["shop-0.test", "shop-1.test", "shop-2.test"]), ("tags", ["t1", "t2"])]
    assert queue.stats.coalesced == 1 and queue.stats.dropped == 0

    queue.enqueue(tags=["t1-p7"])  # the backlog is out: exact purges again
    assert queue._pending["tags"] == {"t1-p7": None}
