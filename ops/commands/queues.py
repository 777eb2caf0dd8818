"""zelly queues: each task stream's backlog (unacknowledged entries, in flight, oldest age).

Streams are never trimmed (issue 12, item 4): what a stream holds is work
accepted and not yet finished. Past ZELLY_TASK_BACKLOG_LIMIT its intake answers
503 until the workers catch up; this is where an operator sees it coming.
"""

from __future__ import annotations

import argparse
import json

from origin.analytics.queue import GROUP as STORE_EVENTS_GROUP, STREAM as STORE_EVENTS_STREAM
from origin.queueing import StreamBacklog, stream_backlog
from origin.services import open_services
from origin.settings import Settings
from workers import queues


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("queues", help="backlog size and age of every task stream")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    parser.set_defaults(handler=show_queues)


async def backlogs(services) -> dict[str, StreamBacklog]:
    redis = services.redis
    found = {queue: await stream_backlog(redis, queues.stream_key(queue), queue) for queue in queues.ALL_QUEUES}
    found["store-events (analytics)"] = await stream_backlog(redis, STORE_EVENTS_STREAM, STORE_EVENTS_GROUP)
    return found


async def show_queues(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.redis_url:
        print("zelly queues: no ZELLY_REDIS_URL: the embedded queues live in the memory of the running `zelly dev`")
        return 1
    async with open_services(settings, with_analytics=False) as services:
        found = await backlogs(services)
    limit = settings.task_backlog_limit
    if args.json:
        print(json.dumps({name: {**backlog.as_dict(), "full": backlog.entries >= limit} for name, backlog in found.items()}))
        return 0
    print(f"{'QUEUE':<26} {'ENTRIES':>9} {'PENDING':>9} {'OLDEST (s)':>11}  STATE")
    for name, backlog in found.items():
        state = "FULL: intake answers 503" if backlog.entries >= limit else "ok"
        print(f"{name:<26} {backlog.entries:>9} {backlog.pending:>9} {backlog.oldest_age_seconds:>11.1f}  {state}")
    print(f"(limit {limit} unacknowledged entries per stream: ZELLY_TASK_BACKLOG_LIMIT)")
    return 0
