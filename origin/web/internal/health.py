"""GET /healthz: on the internal listener, the state of each store (503 when one is down) and each queue's backlog.

The public listener answers ``/healthz`` too, with a liveness answer only
(``liveness_blueprint``): this process is up and serving. It asks no store, so
a stranger polling it cannot make every request fan out to the database, Redis
and ClickHouse (issue 13, item 7), and it says nothing about them.

The backlog (unacknowledged entries and the age of the oldest) is reported,
not judged: a queue past ZELLY_TASK_BACKLOG_LIMIT says ``"full": true`` (its
intake answers 503 until workers catch up), and the process itself is healthy.
"""

from __future__ import annotations

import asyncio

from quart import Blueprint, jsonify

from origin.analytics.queue import STREAM as STORE_EVENTS_STREAM, GROUP as STORE_EVENTS_GROUP
from origin.queueing import stream_backlog
from origin.web.context import current_services

blueprint = Blueprint("health", __name__)
liveness_blueprint = Blueprint("liveness", __name__)

BACKLOG_PROBE_SECONDS = 2.0


@blueprint.get("/healthz")
async def healthz():
    services = current_services()
    stores = await services.health()
    is_ok = all(store["status"] == "ok" for store in stores.values())
    body: dict = {"status": "ok" if is_ok else "degraded", "stores": stores}
    if services.redis_breaker is not None:
        body["redis_breaker"] = services.redis_breaker.state()
    if services.request_redis is not None and stores["cache"]["status"] == "ok":
        body["queues"] = await _queues(services)
    response = jsonify(body)
    response.status_code = 200 if is_ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@liveness_blueprint.get("/healthz")
async def liveness():
    response = jsonify({"status": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response


async def _queues(services) -> dict[str, dict]:
    limit = services.settings.task_backlog_limit

    async def collect() -> dict[str, dict]:
        backlogs = dict(await services.task_queue.backlogs()) if services.task_queue is not None else {}
        backlogs["store-events (analytics)"] = await stream_backlog(services.request_redis, STORE_EVENTS_STREAM, STORE_EVENTS_GROUP)
        return {name: {**backlog.as_dict(), "full": backlog.entries >= limit} for name, backlog in backlogs.items()}

    try:
        return await asyncio.wait_for(collect(), timeout=BACKLOG_PROBE_SECONDS)
    except Exception as error:  # a health report describes failures, it does not raise them
        return {"error": {"status": "down", "error": type(error).__name__}}
