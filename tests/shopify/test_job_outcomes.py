"""Every sync and settings run ends (issue 12, item 9): failed with the cause, cancelled, or abandoned, never `running` for ever."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket

import sqlalchemy as sa

from origin.app import create_app
from origin.db import utcnow
from origin.shopify.errors import ShopifyError
from origin.shopify.runs import SYNC_LEASE, do_start_sync, get_run
from origin.shopify.tables import shopify_sync_runs
from origin.tasks.tables import task_dead_letters
from tests.conftest import swap_in_place
from tests.fakes.shopify import make_catalog
from tests.shopify_harness import catalog_rows, fake_rows, make_shop, running_fake, running_queues
from workers import deadletters

BASE = "/api/v1/shopify"


def closed_port_url() -> str:
    """A loopback URL nothing listens on: Shopify unreachable (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def dead_letters(services) -> list:
    async with services.db.connect() as conn:
        return (await conn.execute(sa.select(task_dead_letters).order_by(task_dead_letters.c.id))).all()


async def test_a_sync_against_an_unreachable_shopify_fails_with_the_cause_and_the_next_sync_starts(services):
    services.attach(shopify_client_options={"backoff_base_s": 0.01})
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, fake_shop = await make_shop(services, fake, "acme", make_catalog(8), restore_rate=20000)
        reachable = services.settings
        swap_in_place(services, settings=reachable.replace(shopify_api_base_url=closed_port_url()))

        failed = await do_start_sync(services, shop.tenant_id, "full")
        await queues.drain()
        failed = await get_run(services, shop.tenant_id, failed.id)
        letters = await dead_letters(services)

        swap_in_place(services, settings=reachable)
        following = await do_start_sync(services, shop.tenant_id, "full")
        await queues.drain()
        following = await get_run(services, shop.tenant_id, following.id)

    assert failed.state == "failed"
    assert failed.error.startswith("Shopify did not answer after 4 attempts (")
    assert failed.error.endswith("(gave up after 3 attempts)")
    assert failed.finished_at is not None
    assert [(letter.task_name, letter.payload["kwargs"]) for letter in letters] == [
        ("shopify.run_catalog_sync", {"tenant_id": shop.tenant_id, "run_id": failed.id})
    ]
    assert following.state == "succeeded"
    assert await catalog_rows(services, shop.tenant_id) == fake_rows(fake_shop.catalog)


async def test_replaying_the_dead_letter_runs_the_same_run_again_to_the_end(services):
    services.attach(shopify_client_options={"backoff_base_s": 0.01})
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, fake_shop = await make_shop(services, fake, "acme", make_catalog(8), restore_rate=20000)
        reachable = services.settings
        swap_in_place(services, settings=reachable.replace(shopify_api_base_url=closed_port_url()))
        run = await do_start_sync(services, shop.tenant_id, "full")
        await queues.drain()
        swap_in_place(services, settings=reachable)

        (letter,) = await deadletters.select_dead_letters(services)
        await deadletters.replay(services, queues.task_queue.brokers[letter.queue], letter)
        await queues.drain()
        replayed = await get_run(services, shop.tenant_id, run.id)
        runs_of_the_store = len(await _runs(services, shop.tenant_id))

    assert (replayed.state, replayed.error, replayed.products_seen) == ("succeeded", None, 8)
    assert runs_of_the_store == 1
    assert await catalog_rows(services, shop.tenant_id) == fake_rows(fake_shop.catalog)


async def test_a_replay_waits_for_the_run_in_progress(services):
    services.attach(shopify_client_options={"backoff_base_s": 0.01})
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, _ = await make_shop(services, fake, "acme", make_catalog(2), restore_rate=20000)
        reachable = services.settings
        swap_in_place(services, settings=reachable.replace(shopify_api_base_url=closed_port_url()))
        await do_start_sync(services, shop.tenant_id, "full")
        await queues.drain()
        (letter,) = await deadletters.select_dead_letters(services)
        await _insert_run(services, shop.tenant_id, "running", utcnow())

        try:
            await deadletters.replay(services, queues.task_queue.brokers[letter.queue], letter)
            refused = None
        except ShopifyError as error:
            refused = error
        still = await deadletters.select_dead_letters(services)

    assert refused is not None and refused.code == "sync_running"
    assert [item.id for item in still] == [letter.id]  # not marked replayed: nothing was sent


async def test_a_run_left_running_by_a_dead_worker_stops_blocking_after_its_lease(services):
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, _ = await make_shop(services, fake, "acme", make_catalog(3), restore_rate=20000)
        other, _ = await make_shop(services, fake, "other", make_catalog(1), restore_rate=20000)
        fresh_id = await _insert_run(services, other.tenant_id, "running", utcnow())
        stale_at = utcnow() - SYNC_LEASE - dt.timedelta(seconds=1)
        stale_id = await _insert_run(services, shop.tenant_id, "running", stale_at)
        client = create_app(services.settings, services=services).test_client()

        blocked = await client.post(f"{BASE}/syncs", json={"kind": "full"}, headers=_auth(other))
        started = await client.post(f"{BASE}/syncs", json={"kind": "full"}, headers=_auth(shop))
        await queues.drain()
        stale = await get_run(services, shop.tenant_id, stale_id)
        new = await get_run(services, shop.tenant_id, (await started.get_json())["id"])
        fresh = await get_run(services, other.tenant_id, fresh_id)

    assert (blocked.status_code, (await blocked.get_json())["error"]["code"]) == (409, "sync_running")
    assert started.status_code == 202
    assert stale.state == "failed"
    assert stale.error == f"abandoned: no progress since {stale_at:%Y-%m-%d %H:%M:%S} UTC (its worker stopped)"
    assert new.state == "succeeded"
    assert fresh.state == "running"  # the other store's live run is untouched


async def test_cancel_stops_a_running_sync_at_its_next_page(services):
    services.attach(shopify_client_options={"backoff_base_s": 0.01})
    async with running_fake(services) as fake, running_queues(services) as queues:
        # 40 products in 7 pages of 998 cost points each; a 1000-point bucket refilling 3000/s
        # makes each page wait about a third of a second: time to cancel between pages.
        shop, fake_shop = await make_shop(services, fake, "acme", make_catalog(40), bucket_size=1000, restore_rate=3000)
        other, _ = await make_shop(services, fake, "other", make_catalog(1), restore_rate=20000)
        client = create_app(services.settings, services=services).test_client()
        run_id = (await (await client.post(f"{BASE}/syncs", json={"kind": "full"}, headers=_auth(shop))).get_json())["id"]
        while (await get_run(services, shop.tenant_id, run_id)).products_seen == 0:
            await asyncio.sleep(0.02)

        foreign = await client.post(f"{BASE}/syncs/{run_id}/cancel", headers=_auth(other))
        cancelled = await client.post(f"{BASE}/syncs/{run_id}/cancel", headers=_auth(shop))
        requests_at_cancel = len(fake_shop.requests)
        await queues.drain()
        requests_by_the_cancelled_run = len(fake_shop.requests)
        again = await client.post(f"{BASE}/syncs/{run_id}/cancel", headers=_auth(shop))
        final = await get_run(services, shop.tenant_id, run_id)
        next_start = await client.post(f"{BASE}/syncs", json={"kind": "full"}, headers=_auth(shop))
        await queues.drain()

    assert (foreign.status_code, (await foreign.get_json())["error"]["code"]) == (404, "sync_not_found")
    assert cancelled.status_code == 200
    assert (await cancelled.get_json())["state"] == "cancelled"
    assert (again.status_code, (await again.get_json())["error"]["code"]) == (409, "sync_finished")
    assert (final.state, final.error) == ("cancelled", "cancelled by the seller")
    assert 0 < final.products_seen < 40
    assert requests_by_the_cancelled_run <= requests_at_cancel + 1  # at most the page in flight
    assert next_start.status_code == 202


async def test_push_and_fetch_outcomes_are_readable_through_the_api(services):
    services.attach(shopify_client_options={"backoff_base_s": 0.01})
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, fake_shop = await make_shop(services, fake, "acme")
        other, _ = await make_shop(services, fake, "other")
        client = create_app(services.settings, services=services).test_client()

        pushed = await client.post(f"{BASE}/settings/push", headers=_auth(shop))
        await queues.drain()
        push_run = await client.get(pushed.headers["Location"], headers=_auth(shop))
        foreign = await client.get(pushed.headers["Location"], headers=_auth(other))
        fake_shop.fail_next(*[503] * 12)  # Shopify down for every HTTP attempt of every task attempt
        fetched = await client.post(f"{BASE}/settings/fetch", headers=_auth(shop))
        await queues.drain()
        fetch_run = await client.get(fetched.headers["Location"], headers=_auth(shop))
        letters = await dead_letters(services)

    assert pushed.status_code == 202
    queued = await pushed.get_json()
    assert (queued["kind"], queued["state"], queued["status"]) == ("push", "queued", "queued")
    body = await push_run.get_json()
    assert (body["state"], body["fields"], body["error"]) == ("succeeded", ["name", "currency", "storefront_url"], None)
    assert (foreign.status_code, (await foreign.get_json())["error"]["code"]) == (404, "settings_run_not_found")
    body = await fetch_run.get_json()
    assert (body["kind"], body["state"], body["fields"]) == ("fetch", "failed", None)
    assert body["error"].startswith("Shopify did not answer after 4 attempts (HTTP 503")
    assert [letter.task_name for letter in letters] == ["shopify.fetch_settings"]


def _auth(shop) -> dict:
    return {"Authorization": f"Bearer {shop.api_token}"}


async def _insert_run(services, tenant_id: int, state: str, updated_at: dt.datetime) -> int:
    """A run row as a worker that died left it (the crash itself: nothing moves it any more)."""
    async with services.db.begin() as conn:
        result = await conn.execute(
            shopify_sync_runs.insert().values(
                tenant_id=tenant_id, kind="full", state=state, cursor="products|", created_at=updated_at, updated_at=updated_at,
                started_at=updated_at,
            )
        )
    return int(result.inserted_primary_key[0])


async def _runs(services, tenant_id: int) -> list:
    async with services.db.connect() as conn:
        return (await conn.execute(sa.select(shopify_sync_runs.c.id).where(shopify_sync_runs.c.tenant_id == tenant_id))).all()
