"""Seller API under /api/v1/shopify: connect, status, start sync, progress, settings; bad input, other tenants, secrets."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from origin.app import create_app
from origin.idempotency.tables import api_idempotency_keys
from origin.shopify.tables import shopify_connections, shopify_sync_runs
from tests.conftest import count_rows
from tests.fakes.shopify import make_catalog
from tests.shopify_harness import make_shop, running_fake, running_queues

BASE = "/api/v1/shopify"
NEW_CONNECTION = {"shop_domain": "acme-new.myshopify.com", "access_token": "shpat_acme_new_token", "webhook_secret": "whsec_acme_new_secret"}


@pytest.fixture
async def env(services):
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, _ = await make_shop(services, fake, "acme")
        other, _ = await make_shop(services, fake, "other")
        fake.add_shop(NEW_CONNECTION["shop_domain"], NEW_CONNECTION["access_token"], make_catalog(0))  # the shop acme moves to
        yield create_app(services.settings, services=services).test_client(), shop, other, queues


def auth(shop, **extra):
    return {"Authorization": f"Bearer {shop.api_token}", **extra}


async def test_connect_status_sync_and_progress(env):
    client, shop, other, queues = env

    connected = await client.put(f"{BASE}/connection", json=NEW_CONNECTION, headers=auth(shop))
    status = await client.get(f"{BASE}/connection", headers=auth(shop))
    started = await client.post(f"{BASE}/syncs", json={"kind": "full"}, headers=auth(shop))
    run = await started.get_json()
    await queues.drain()
    progress = await client.get(f"{BASE}/syncs/{run['id']}", headers=auth(shop))
    listed = await client.get(f"{BASE}/syncs", headers=auth(shop))
    foreign = await client.get(f"{BASE}/syncs/{run['id']}", headers=auth(other))
    foreign_list = await client.get(f"{BASE}/syncs", headers=auth(other))

    assert connected.status_code == 200
    assert connected.headers["Cache-Control"] == "no-store"
    body = await status.get_json()
    assert set(body) == {"shop_domain", "status", "connected_at", "disconnected_at", "last_synced_at"}
    assert (body["shop_domain"], body["status"], body["disconnected_at"]) == ("acme-new.myshopify.com", "connected", None)
    assert (await connected.get_json())["shop_domain"] == "acme-new.myshopify.com"
    assert started.status_code == 202
    assert started.headers["Location"] == f"/api/v1/shopify/syncs/{run['id']}"
    assert (run["kind"], run["state"]) == ("full", "queued")
    assert (await progress.get_json())["state"] == "succeeded"
    assert [item["id"] for item in (await listed.get_json())["syncs"]] == [run["id"]]
    assert foreign.status_code == 404
    assert (await foreign.get_json())["error"]["code"] == "sync_not_found"
    assert (await foreign_list.get_json()) == {"syncs": []}


async def test_secrets_never_leave_the_server(env):
    client, shop, _, _ = env

    answers = [
        await client.put(f"{BASE}/connection", json=NEW_CONNECTION, headers=auth(shop)),
        await client.get(f"{BASE}/connection", headers=auth(shop)),
        # A refused connect echoes nothing of what was sent either.
        await client.put(f"{BASE}/connection", json={**NEW_CONNECTION, "shop_domain": "bad"}, headers=auth(shop)),
        await client.put(f"{BASE}/connection", json={**NEW_CONNECTION, "webhook_secret": "whsec with spaces"}, headers=auth(shop)),
    ]

    for answer in answers:
        text = (await answer.get_data(as_text=True))
        assert "shpat_" not in text and "whsec_" not in text and "whsec " not in text, text
    assert [answer.status_code for answer in answers] == [200, 200, 422, 422]


@pytest.mark.parametrize(
    ("body", "path", "code"),
    [
        ({**NEW_CONNECTION, "shop_domain": "evil.example.com"}, "shop_domain", "invalid_shop_domain"),
        ({**NEW_CONNECTION, "access_token": "short"}, "access_token", "invalid_token"),
        ({**NEW_CONNECTION, "webhook_secret": 5}, "webhook_secret", "string_type"),
        ({"shop_domain": "a.myshopify.com", "access_token": "shpat_12345678"}, "webhook_secret", "missing"),
        ({**NEW_CONNECTION, "shop": "typo"}, "shop", "extra_forbidden"),
    ],
)
async def test_connect_rejects_bad_input_on_its_field(env, services, body, path, code):
    client, shop, _, _ = env

    response = await client.put(f"{BASE}/connection", json=body, headers=auth(shop))

    assert response.status_code == 422
    error = (await response.get_json())["error"]
    assert error["code"] == "validation_failed"
    assert [(field["path"], field["code"]) for field in error["fields"]] == [(path, code)]
    async with services.db.connect() as conn:  # nothing written: acme still has its first shop
        domain = (await conn.execute(sa.select(shopify_connections.c.shop_domain).where(shopify_connections.c.tenant_id == shop.tenant_id))).scalar_one()
    assert domain == "acme.myshopify.com"


async def test_conflicts_bad_bodies_and_auth(env):
    client, shop, other, _ = env

    # With that shop's own token (the same owner runs both stores): still one store per shop.
    taken = await client.put(f"{BASE}/connection", json={**NEW_CONNECTION, "shop_domain": other.domain, "access_token": other.token}, headers=auth(shop))
    bad_kind = await client.post(f"{BASE}/syncs", json={"kind": "everything"}, headers=auth(shop))
    not_json = await client.post(f"{BASE}/syncs", data=b"[", headers=auth(shop, **{"Content-Type": "application/json"}))
    form = await client.post(f"{BASE}/syncs", data=b"kind=full", headers=auth(shop, **{"Content-Type": "application/x-www-form-urlencoded"}))
    anonymous = await client.get(f"{BASE}/connection")
    big_id = await client.get(f"{BASE}/syncs/{10**30}", headers=auth(shop))

    assert taken.status_code == 409
    assert (await taken.get_json())["error"]["code"] == "shop_taken"
    assert bad_kind.status_code == 422
    assert [field["path"] for field in (await bad_kind.get_json())["error"]["fields"]] == ["kind"]
    assert not_json.status_code == 400
    assert (await not_json.get_json())["error"]["code"] == "malformed_json"
    assert form.status_code == 415
    assert anonymous.status_code == 401
    assert big_id.status_code == 404


async def test_a_second_sync_while_one_is_active_is_409(env, services):
    client, shop, _, queues = env
    # No drain between the two: the first run is still queued.
    first = await client.post(f"{BASE}/syncs", json={}, headers=auth(shop))
    second = await client.post(f"{BASE}/syncs", json={"kind": "incremental"}, headers=auth(shop))
    await queues.drain()

    assert first.status_code == 202
    assert (await first.get_json())["kind"] == "full"
    assert second.status_code == 409
    assert (await second.get_json())["error"]["code"] == "sync_running"


async def test_idempotency_key_starts_one_sync(env, services):
    client, shop, _, queues = env
    headers = auth(shop, **{"Idempotency-Key": "sync-1"})

    first = await client.post(f"{BASE}/syncs", json={"kind": "full"}, headers=headers)
    replay = await client.post(f"{BASE}/syncs", json={"kind": "full"}, headers=headers)
    reused = await client.post(f"{BASE}/syncs", json={"kind": "bulk"}, headers=headers)
    await queues.drain()

    assert (first.status_code, replay.status_code, reused.status_code) == (202, 202, 409)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert (await replay.get_json())["id"] == (await first.get_json())["id"]
    async with services.db.connect() as conn:
        assert await count_rows(conn, shopify_sync_runs, tenant_id=shop.tenant_id) == 1
        assert await count_rows(conn, api_idempotency_keys, tenant_id=shop.tenant_id) == 1


async def test_not_connected_store(services):
    from tests.api.conftest import make_store

    store = await make_store(services)
    client = create_app(services.settings, services=services).test_client()

    connection = await client.get(f"{BASE}/connection", headers=store.auth)
    sync = await client.post(f"{BASE}/syncs", json={}, headers=store.auth)
    diff = await client.get(f"{BASE}/settings/diff", headers=store.auth)
    push = await client.post(f"{BASE}/settings/push", headers=store.auth)

    for response in (connection, sync, diff, push):
        assert response.status_code == 404
        assert (await response.get_json())["error"]["code"] == "not_connected"
    assert "PUT /api/v1/shopify/connection" in (await connection.get_json())["error"]["message"]
    async with services.db.connect() as conn:
        assert await count_rows(conn, shopify_sync_runs) == 0


async def test_only_on_the_platform_host(env):
    client, shop, _, _ = env

    storefront = await client.get(f"{BASE}/connection", headers=auth(shop, Host="acme.localhost"))
    old_path = await client.get("/api/shopify/connection", headers=auth(shop))

    assert storefront.status_code == 404
    assert old_path.status_code == 404


async def test_a_sync_that_cannot_be_queued_is_503_and_does_not_block_the_next(services):
    async with running_fake(services) as fake:  # no task queue wired in this process
        shop, _ = await make_shop(services, fake, "acme")
        client = create_app(services.settings, services=services).test_client()

        first = await client.post(f"{BASE}/syncs", json={}, headers=auth(shop))
        second = await client.post(f"{BASE}/syncs", json={}, headers=auth(shop))
        listed = await (await client.get(f"{BASE}/syncs", headers=auth(shop))).get_json()

    assert (first.status_code, second.status_code) == (503, 503)
    assert (await first.get_json())["error"]["code"] == "queue_unavailable"
    assert [(run["state"], run["error"]) for run in listed["syncs"]] == [
        ("failed", "could not be queued: this process has no task queue wired")
    ] * 2
