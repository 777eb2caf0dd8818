"""Consumer insert rate: queued events -> chDB, by batch size.

    python bench/analytics_consumer.py [--rows 500000] [--batches 1000,5000,10000] [--redis redis://127.0.0.1:6379/6]

Fills the store-events queue with --rows events in messages of 50 (what one
beacon request carries), then runs the real EventConsumer (read, decode,
INSERT off the loop, ack) until the queue is empty, and reports rows/s per
batch size. Without --redis the in-process queue of the embedded default; with
it a private stream in that Redis db (deleted afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import clickhouse_connect  # noqa: E402

from origin.analytics import schema  # noqa: E402
from origin.analytics.consumer import EventConsumer  # noqa: E402
from origin.analytics.queue import MemoryQueue, RedisStreamQueue  # noqa: E402
from origin.services import make_redis  # noqa: E402

MESSAGE_ROWS = 50


def make_rows(start: int, count: int) -> list[dict]:
    now = round(time.time(), 3)
    return [
        {"tenant_id": 1 + n % 3, "ts": now, "event_id": uuid.uuid4().hex, "name": "page_view",
         "visitor_id": 1 + n % 5000, "session_id": 1 + n % 9000, "path": f"/products/{n % 300}",
         "referrer_host": "www.google.com" if n % 4 == 0 else "", "utm_source": "", "utm_medium": "",
         "utm_campaign": "", "device": "mobile", "product_id": n % 300, "variant_id": 0, "quantity": 0,
         "value": "0", "currency": "", "order_id": ""}
        for n in range(start, start + count)
    ]


async def run(client, queue, rows: int, batch_rows: int) -> float:
    for start in range(0, rows, MESSAGE_ROWS):
        await queue.publish(make_rows(start, min(MESSAGE_ROWS, rows - start)))
    consumer = EventConsumer(client, queue, batch_rows=batch_rows, flush_seconds=0.2)
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run(stop))
    while consumer.stats.rows < rows:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--batches", default="1000,5000,10000")
    parser.add_argument("--redis", default="")
    args = parser.parse_args()
    redis = make_redis(args.redis) if args.redis else None
    stream = f"bench-store-events-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="zelly-bench-chdb-") as path:
        client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
        await schema.migrate(client, 400)
        print(f"queue: {'redis stream ' + stream if redis else 'in-process'}; {args.rows:,} rows in messages of {MESSAGE_ROWS}")
        try:
            for batch_rows in [int(b) for b in args.batches.split(",")]:
                queue = RedisStreamQueue(redis, stream=stream) if redis else MemoryQueue()
                seconds = await run(client, queue, args.rows, batch_rows)
                print(f"  batch {batch_rows:>6} rows: {args.rows / seconds:>10,.0f} rows/s ({seconds:.2f} s)")
            total = client.command("SELECT count() FROM events FINAL")
            print(f"rows in chDB (FINAL): {total:,}")
        finally:
            if redis is not None:
                await redis.delete(stream)
                await redis.aclose()
            client.close()


if __name__ == "__main__":
    asyncio.run(main())
