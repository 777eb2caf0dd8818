"""No Redis round trip per beacon event (issue 14, item 3): the script calls of one loop turn go as one pipeline.

A beacon request makes two script calls on the servers backend (its rate-limit
buckets, the visitor's session); origin/redis_scripts.py sends the calls the
loop's concurrent requests make together. These tests hold the batched calls
to the answers their own round trips would give (atomic, in order, a flushed
script cache reloaded) and count the pipelines 32 concurrent beacons cost.
"""

from __future__ import annotations

import asyncio
import json

from origin.app import create_app
from origin.cache import CircuitBreaker, RedisCache
from origin.ratelimit import Charge, Limit, RedisRateLimiter
from origin.redis_scripts import ScriptCalls
from origin.services import make_redis
from origin.web.storefront.site import app_resolver
from tests.analytics.conftest import make_store
from tests.analytics.test_beacon_paths import _body, call
from tests.analytics.web_client import page_view
from tests.conftest import REDIS_URL, require_server


async def test_concurrent_takes_share_one_pipeline_and_spend_each_token_once() -> None:
    require_server("Redis", "127.0.0.1", 6379)
    client = make_redis(REDIS_URL)
    await client.flushdb()
    scripts = ScriptCalls(client)
    limiter = RedisRateLimiter(client, CircuitBreaker(), scripts=scripts)
    limit, other = Limit("x", 25, 60), Limit("y", 1, 60)
    try:
        decisions = await asyncio.gather(*(limiter.take([Charge(limit, "ip:a")]) for _ in range(40)))
        others = await asyncio.gather(limiter.take([Charge(other, "ip:b")]), limiter.take([Charge(other, "ip:c")]))
    finally:
        await client.flushdb()
        await client.aclose()

    assert [decision.allowed for decision in decisions] == [True] * 25 + [False] * 15  # in the order they were made
    assert [decision.remaining for decision in decisions[:3]] == [24, 23, 22]
    assert [decision.allowed for decision in others] == [True, True]  # one bucket each
    assert scripts.batches_sent == 2


async def test_a_flushed_script_cache_is_reloaded_and_the_calls_answered() -> None:
    require_server("Redis", "127.0.0.1", 6379)
    client = make_redis(REDIS_URL)
    await client.flushdb()
    limiter = RedisRateLimiter(client, CircuitBreaker())
    limit = Limit("x", 5, 60)
    try:
        first = await limiter.take([Charge(limit, "ip:a")])
        await client.script_flush()
        after = await asyncio.gather(*(limiter.take([Charge(limit, "ip:a")]) for _ in range(3)))
    finally:
        await client.flushdb()
        await client.aclose()

    assert first.allowed and first.remaining == 4
    assert [decision.remaining for decision in after] == [3, 2, 1]
    assert limiter.failed_open == 0


async def test_32_concurrent_beacons_cost_two_pipelines_not_64_round_trips(analytics):
    await make_store(analytics, "acme")
    app = create_app(analytics.settings, services=analytics)
    await app_resolver(app).resolve("acme.localhost")  # the lean path answers
    await call(app.asgi_app, "acme.localhost", {}, [_body(page_view())])  # today's salt read once
    scripts = analytics.cache.scripts if isinstance(analytics.cache, RedisCache) else None
    sent_before = scripts.batches_sent if scripts else 0

    answers = await asyncio.gather(*(
        call(app.asgi_app, "acme.localhost", {}, [_body(page_view(f"/p{index}"))], ip=f"203.0.113.{index}")
        for index in range(32)
    ))

    assert [(status, json.loads(body)) for status, _, body in answers] == [(202, {"accepted": 1})] * 32
    if scripts is not None:  # servers: the rate limits' takes in one pipeline, the sessions in another
        assert scripts.batches_sent - sent_before == 2
