"""The shared Redis tier and Redis pub/sub purges, on the real Redis (own db index, flushed)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from edge import tags
from edge.cache_keys import edge_index_shard
from edge.redis_tier import decode_entry, encode_entry
from origin.broadcast import RedisBroadcast
from tests.conftest import REDIS_URL
from tests.edge.conftest import running_edge, shop


async def test_a_second_edge_process_is_filled_from_redis_without_asking_the_origin(origin, redis_client) -> None:
    standin, url = origin
    async with running_edge(url, redis=redis_client) as (first_app, first):
        async with running_edge(url, redis=redis_client) as (second_app, second):

            filled = await first.get("/products/hat", headers=shop())
            shared = await second.get("/products/hat", headers=shop())

    assert filled.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; stored; ttl=60"
    assert shared.headers["cache-status"].startswith("Zelly; hit; ttl=")
    assert shared.text == filled.text == "GET shop-a.test/products/hat #1"
    assert shared.headers["etag"] == '"v1"'
    assert standin.total() == 1
    assert 55 <= await redis_client.ttl("zelly:edge:e:GET|shop-a.test/products/hat?|gzip") <= 120
    shard = edge_index_shard("GET|shop-a.test/products/hat?|gzip")
    assert await redis_client.zrange(f"zelly:edge:tag:t1:s{shard}", 0, -1) == [b"GET|shop-a.test/products/hat?|gzip"]


async def test_a_redis_pubsub_purge_clears_every_edge_process_and_the_shared_tier(origin, redis_client) -> None:
    standin, url = origin
    broadcast = RedisBroadcast(redis_client)
    async with running_edge(url, redis=redis_client, broadcast_subscribe=broadcast.subscribe) as (first_app, first):
        async with running_edge(url, redis=redis_client, broadcast_subscribe=broadcast.subscribe) as (second_app, second):
            await asyncio.wait_for(first_app.subscribed.wait(), 5)
            await asyncio.wait_for(second_app.subscribed.wait(), 5)
            for client in (first, second):
                await client.get("/", headers=shop("shop-a.test"))
                await client.get("/", headers=shop("shop-b.test"))

            await broadcast.publish(tags.PURGE_CHANNEL, tags.purge_message(tags=["t1"]))
            for _ in range(300):
                if len(first_app.store) == 1 and len(second_app.store) == 1:
                    break
                await asyncio.sleep(0.01)
            after_a = await second.get("/", headers=shop("shop-a.test"))
            after_b = await second.get("/", headers=shop("shop-b.test"))

    assert after_a.text == "GET shop-a.test/ #2"
    assert after_a.headers["cache-status"].startswith("Zelly; fwd=uri-miss")
    assert after_b.headers["cache-status"].startswith("Zelly; hit")
    assert standin.hits[("shop-b.test", "/")] == 1


async def test_a_broken_redis_is_a_miss_not_an_error(origin) -> None:
    standin, url = origin
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    async with running_edge(url, redis=dead) as (app, client):

        first = await client.get("/", headers=shop())
        second = await client.get("/", headers=shop())
        third = await client.get("/about", headers=shop())

    await dead.aclose()
    assert first.status_code == second.status_code == 200
    assert second.headers["cache-status"].startswith("Zelly; hit")
    assert third.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; stored; ttl=60"
    assert app.redis_tier.is_paused


def test_entries_survive_the_redis_encoding_byte_for_byte() -> None:
    from edge.store import Entry

    entry = Entry(key="GET|h/p?|br", url_key="h/p?", host="h", status=200, headers=[(b"x-bin", b"\xff\x00\n")],
                  body=b"\n\x00body\xff", stored_at=1.5, initial_age=3, ttl=60, stale_while_revalidate=5,
                  stale_if_error=7, etag=b'W/"1"', vary=(("accept-encoding", b"br"),), tags=("t1",), tenant="1")

    assert decode_entry(encode_entry(entry)) == entry


async def test_purges_on_another_redis_db_do_not_reach_this_edge(origin, redis_client) -> None:
    standin, url = origin
    other_db = aioredis.Redis.from_url(REDIS_URL.rsplit("/", 1)[0] + "/15")
    async with running_edge(url, broadcast_subscribe=RedisBroadcast(redis_client).subscribe) as (app, client):
        await asyncio.wait_for(app.subscribed.wait(), 5)
        await client.get("/", headers=shop())

        await RedisBroadcast(other_db).publish(tags.PURGE_CHANNEL, tags.purge_message(tags=["t1"]))
        await RedisBroadcast(redis_client).publish(tags.PURGE_CHANNEL, tags.purge_message(tags=["t2"]))  # a marker after it
        for _ in range(200):
            if app.purger.generation == 1:
                break
            await asyncio.sleep(0.01)
        again = await client.get("/", headers=shop())

    await other_db.aclose()
    assert app.purger.generation == 1
    assert again.headers["cache-status"].startswith("Zelly; hit")
