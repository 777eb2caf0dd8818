"""Seller API: connect, status, start sync, progress; bad input and other tenants."""

from __future__ import annotations

import pytest

from origin.app import create_app
from tests.shopify_harness import make_shop, running_fake, running_queues


@pytest.fixture
async def env(services):
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, _ = await make_shop(services, fake, "acme")
        other, _ = await make_shop(services, fake, "other")
        yield create_app(services.settings, services=services).test_client(), shop, other, queues


def auth(shop):
    return {"Authorization": f"Bearer {shop.api_token}"}


async def test_connect_status_sync_and_progress(env):
    client, shop, other, queues = env

    connected = await client.put("/api/shopify/connection", json={"shop_domain": "acme-new.myshopify.com", "access_token": "shpat_acme_token", "webhook_secret": "whsec_acme_secret"}, headers=auth(shop))
    status = await client.get("/api/shopify/connection", headers=auth(shop))
    started = await client.post("/api/shopify/syncs", json={"kind": "full"}, headers=auth(shop))
    run_id = (await started.get_json())["sync"]["id"]
    await queues.drain()
    progress = await client.get(f"/api/shopify/syncs/{run_id}", headers=auth(shop))
    foreign = await client.get(f"/api/shopify/syncs/{run_id}", headers=auth(other))

    assert connected.status_code == 200
    body = await status.get_json()
    assert body["connection"]["shop_domain"] == "acme-new.myshopify.com"
    assert "access_token" not in body["connection"] and "shpat" not in str(body)
    assert started.status_code == 202
    assert (await progress.get_json())["sync"]["state"] == "succeeded"
    assert foreign.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"shop_domain": "evil.example.com", "access_token": "shpat_12345678", "webhook_secret": "whsec_12345678"}, "shop_domain"),
        ({"shop_domain": "a.myshopify.com", "access_token": "short", "webhook_secret": "whsec_12345678"}, "access_token"),
        ({"shop_domain": "a.myshopify.com", "access_token": "shpat_12345678", "webhook_secret": 5}, "webhook_secret"),
    ],
)
async def test_connect_rejects_bad_input(env, body, field):
    client, shop, _, _ = env

    response = await client.put("/api/shopify/connection", json=body, headers=auth(shop))

    assert response.status_code == 422
    assert (await response.get_json())["error"]["field"] == field


async def test_a_shop_connected_to_another_tenant_is_409_and_bad_kind_is_422(env):
    client, shop, other, _ = env

    taken = await client.put("/api/shopify/connection", json={"shop_domain": other.domain, "access_token": "shpat_12345678", "webhook_secret": "whsec_12345678"}, headers=auth(shop))
    bad_kind = await client.post("/api/shopify/syncs", json={"kind": "everything"}, headers=auth(shop))
    not_json = await client.post("/api/shopify/syncs", data=b"[", headers=auth(shop))
    anonymous = await client.get("/api/shopify/connection")

    assert taken.status_code == 409
    assert bad_kind.status_code == 422
    assert not_json.status_code == 422
    assert anonymous.status_code == 401
