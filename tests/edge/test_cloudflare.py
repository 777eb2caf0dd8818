"""The Cloudflare purge queue against a local fake of the purge endpoint served on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

import httpx
import pytest

from edge.cloudflare import PLAN_LIMITS, CloudflarePurgeQueue, TokenBucket, retry_after_seconds
from tests.edge.fake_cloudflare import FakeCloudflare
from tests.edge.servers import serve_on_loopback


@contextlib.asynccontextmanager
async def queue_against(fake: FakeCloudflare, **options) -> AsyncIterator[CloudflarePurgeQueue]:
    async with serve_on_loopback(fake) as url:
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
            settings = {"api_base": f"{url}/client/v4", "zone_id": fake.zone_id, "token": fake.token, "plan": "enterprise"}
            settings.update(options)
            yield CloudflarePurgeQueue(client, **settings)


async def test_the_queue_deduplicates_and_batches_at_most_100_per_call() -> None:
    fake = FakeCloudflare()
    async with queue_against(fake) as queue:
        tags = [f"t1-p{n}" for n in range(250)]
        queue.enqueue(tags=tags)
        queue.enqueue(tags=tags[:50], hosts=["shop-a.test", "shop-a.test"])
        queue.enqueue(tags=["t1-p3"], hosts=["shop-b.test"])

        await queue.drain()

    assert [(kind, len(items)) for kind, items in fake.received] == [("tags", 100), ("tags", 100), ("tags", 50), ("hosts", 2)]
    assert [item for kind, items in fake.received if kind == "tags" for item in items] == tags
    assert fake.received[-1] == ("hosts", ["shop-a.test", "shop-b.test"])
    assert queue.stats.purged == 252 and queue.stats.calls == 4 and queue.pending_count() == 0


async def test_older_plans_get_batches_of_30() -> None:
    fake = FakeCloudflare(batch_limit=30)
    async with queue_against(fake, batch_size=30) as queue:
        queue.enqueue(urls=[f"https://shop-a.test/p/{n}" for n in range(65)])

        await queue.drain()

    assert [(kind, len(items)) for kind, items in fake.received] == [("files", 30), ("files", 30), ("files", 5)]
    assert fake.statuses == [200, 200, 200]


async def test_the_fake_refuses_a_batch_over_its_limit() -> None:
    fake = FakeCloudflare(batch_limit=30)
    async with queue_against(fake, batch_size=100) as queue:
        queue.enqueue(tags=[f"t1-p{n}" for n in range(31)])

        await queue.drain()

    assert fake.statuses == [400]
    assert queue.stats.dropped == 31
    assert "1015" in queue.stats.last_error


async def test_a_429_waits_retry_after_and_resends_the_same_batch() -> None:
    fake = FakeCloudflare(rate_per_second=2.0, burst=2)
    slept: list[float] = []
    async with queue_against(fake) as queue:
        real_sleep = queue._sleep

        async def recording_sleep(seconds: float) -> None:
            slept.append(seconds)
            await real_sleep(seconds)

        queue._sleep = recording_sleep
        queue.enqueue(tags=[f"t1-p{n}" for n in range(300)])

        await queue.drain()

    assert fake.statuses == [200, 200, 429, 200]
    assert slept == [1.0]
    assert [len(items) for _, items in fake.received] == [100, 100, 100]
    assert queue.stats.rate_limited == 1 and queue.stats.dropped == 0


async def test_server_errors_back_off_exponentially_then_succeed() -> None:
    fake = FakeCloudflare(fail_next=2)
    slept: list[float] = []

    async def no_wait(seconds: float) -> None:
        slept.append(seconds)

    async with queue_against(fake, sleep=no_wait) as queue:
        queue.enqueue(hosts=["shop-a.test"])

        await queue.drain()

    assert fake.statuses == [500, 500, 200]
    assert slept == [1.0, 2.0]
    assert queue.stats.retried == 2 and queue.stats.purged == 1


@pytest.mark.parametrize("token, status", [("wrong-token", 403)])
async def test_a_bad_token_drops_the_batch_without_retrying(token: str, status: int) -> None:
    fake = FakeCloudflare()
    async with queue_against(fake, token=token) as queue:
        queue.enqueue(tags=["t1"])

        await queue.drain()

    assert fake.statuses == [status]
    assert queue.stats.dropped == 1 and queue.stats.calls == 1
    assert "Authentication error" in queue.stats.last_error
    assert token not in repr(queue)


async def test_the_fake_enforces_the_bearer_header_and_the_envelope() -> None:
    fake = FakeCloudflare()
    async with serve_on_loopback(fake) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            path = f"/client/v4/zones/{fake.zone_id}/purge_cache"
            no_header = await client.post(path, json={"tags": ["t1"]})
            two_kinds = await client.post(path, json={"tags": ["t1"], "hosts": ["h"]}, headers={"authorization": f"Bearer {fake.token}"})
            other_zone = await client.post("/client/v4/zones/other/purge_cache", json={"tags": ["t1"]}, headers={"authorization": f"Bearer {fake.token}"})
            ok = await client.post(path, json={"tags": ["t1"]}, headers={"authorization": f"Bearer {fake.token}"})

    assert no_header.status_code == 400 and no_header.json()["errors"][0]["code"] == 6003
    assert two_kinds.status_code == 400 and two_kinds.json()["success"] is False
    assert other_zone.status_code == 400 and other_zone.json()["errors"][0]["code"] == 7003
    assert ok.json() == {"success": True, "errors": [], "messages": [], "result": {"id": fake.zone_id}}


def test_the_plan_bucket_paces_calls_to_the_documented_limits() -> None:
    now = [0.0]
    bucket = TokenBucket(PLAN_LIMITS["free"], clock=lambda: now[0])
    for _ in range(25):
        assert bucket.delay() == 0.0
        bucket.take()

    assert bucket.delay() == pytest.approx(12.0)
    now[0] = 12.0
    assert bucket.delay() == 0.0


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    assert retry_after_seconds("7", 1.0) == 7.0
    assert retry_after_seconds(None, 1.5) == 1.5
    assert retry_after_seconds("soon", 2.0) == 2.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 3.0) == 0.0


async def test_the_queue_refuses_a_batch_size_or_plan_cloudflare_does_not_have() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(ValueError):
            CloudflarePurgeQueue(client, api_base="http://x", zone_id="z", token="t", batch_size=50)
        with pytest.raises(ValueError):
            CloudflarePurgeQueue(client, api_base="http://x", zone_id="z", token="t", plan="platinum")


async def test_the_origins_purges_reach_cloudflare_through_the_purge_job(services) -> None:
    from ops.commands.edge import cloudflare_purge_job
    from origin.invalidation import publish_purge

    fake = FakeCloudflare()
    async with serve_on_loopback(fake) as url:
        settings = services.settings.replace(cloudflare_api_token=fake.token, cloudflare_zone_id=fake.zone_id, cloudflare_api_base=f"{url}/client/v4")
        job = cloudflare_purge_job(settings, services)
        stop = asyncio.Event()
        running = asyncio.create_task(job(stop))

        await publish_purge(services, 7, ["t7-p1", "t7-p2"], hosts=("shop.example",))
        for _ in range(200):
            if len(fake.received) == 2:
                break
            await asyncio.sleep(0.01)
        attached = services.cloudflare_purge is not None
        stop.set()
        await running

    assert fake.received == [("tags", ["t7-p1", "t7-p2"]), ("hosts", ["shop.example"])]
    assert attached and services.cloudflare_purge is None  # detached when the job stops


def test_the_purge_job_is_off_without_a_token(services) -> None:
    from ops.commands.edge import cloudflare_purge_job

    assert cloudflare_purge_job(services.settings, services) is None
    assert services.cloudflare_purge is None
