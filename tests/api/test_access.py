"""Who may call the API, from which host, and what a refusal says (nothing about other tenants)."""

from __future__ import annotations

import pytest

from origin.tenancy import actions as tenancy
from tests.api.conftest import make_store
from tests.factories import make_product

UNAUTHORIZED = {"error": {"code": "invalid_token", "message": "invalid or revoked API token"}}


async def test_missing_token_is_401_asking_for_a_bearer_token(client, store) -> None:
    response = await client.get("/api/v1/products")

    assert response.status_code == 401
    assert (await response.get_json())["error"]["code"] == "invalid_token"
    assert "Authorization: Bearer" in (await response.get_json())["error"]["message"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token zly_abc", "zly_abc", "Bearer zly_" + "x" * 300],
)
async def test_malformed_authorization_is_401(client, store, header: str) -> None:
    response = await client.get("/api/v1/products", headers={"Authorization": header})

    assert response.status_code == 401
    assert (await response.get_json())["error"]["code"] == "invalid_token"


async def test_unknown_and_revoked_tokens_get_the_same_401(client, services, store) -> None:
    await tenancy.do_revoke_api_token(services, store.tenant.id, store.token_id)

    revoked = await client.get("/api/v1/products", headers=store.auth)
    unknown = await client.get("/api/v1/products", headers={"Authorization": "Bearer zly_doesnotexist"})

    assert revoked.status_code == unknown.status_code == 401
    assert await revoked.get_json() == await unknown.get_json() == UNAUTHORIZED


async def test_a_token_sees_only_its_own_tenant(client, services, store, other_store) -> None:
    mine = await make_product(services, store.tenant.id, handle="mine")
    await make_product(services, other_store.tenant.id, handle="theirs")

    response = await client.get("/api/v1/products", headers=store.auth)

    assert [item["id"] for item in (await response.get_json())["items"]] == [mine.id]


async def test_suspended_tenant_is_403(client, services, store) -> None:
    await tenancy.do_suspend_tenant(services, store.tenant.id)

    response = await client.get("/api/v1/products", headers=store.auth)

    assert response.status_code == 403
    assert await response.get_json() == {"error": {"code": "tenant_suspended", "message": "this store is suspended"}}


async def test_suspended_tenant_cannot_write(client, services, store) -> None:
    await tenancy.do_suspend_tenant(services, store.tenant.id)

    response = await client.post("/api/v1/collections", json={"title": "Sale"}, headers=store.auth)

    assert response.status_code == 403


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8000", "api.localhost", "api.localhost.:443"])
async def test_served_on_the_platform_host_and_its_api_subdomain(client, store, host: str) -> None:
    response = await client.get("/api/v1/products", headers={**store.auth, "Host": host})

    assert response.status_code == 200


@pytest.mark.parametrize("host", ["shop1.localhost", "acme.localhost:8000", "shop.example.com", "127.0.0.1:8000", "[::1]:8000", "localhost.evil.com"])
async def test_storefront_and_other_hosts_do_not_expose_the_api(client, store, host: str) -> None:
    for path in ("/api/v1/products", "/api/v1/openapi.json"):
        response = await client.get(path, headers={**store.auth, "Host": host})

        assert response.status_code == 404
        assert (await response.get_json())["error"]["code"] == "not_found"


async def test_a_storefront_host_is_refused_before_the_token_is_read(client) -> None:
    response = await client.get("/api/v1/products", headers={"Host": "shop1.localhost"})

    assert response.status_code == 404


async def test_unknown_route_is_json_404(client, store) -> None:
    response = await client.get("/api/v1/nope", headers=store.auth)

    assert response.status_code == 404
    assert response.content_type == "application/json"
    assert (await response.get_json())["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/products/0", "/api/v1/products/-1", "/api/v1/products/99999999999999999999999", "/api/v1/products/9223372036854775808", "/api/v1/products/007", "/api/v1/products/abc"])
async def test_ids_out_of_range_are_404_not_a_database_error(client, store, path: str) -> None:
    response = await client.get(path, headers=store.auth)

    assert response.status_code == 404


async def test_wrong_method_is_405_with_allow(client, store) -> None:
    response = await client.put("/api/v1/products", headers=store.auth, json={})

    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert (await response.get_json())["error"]["code"] == "method_not_allowed"


async def test_other_tenants_product_answers_exactly_like_a_missing_one(client, services, store, other_store) -> None:
    theirs = await make_product(services, other_store.tenant.id)
    missing_id = theirs.id + 1000

    foreign = await client.get(f"/api/v1/products/{theirs.id}", headers=store.auth)
    missing = await client.get(f"/api/v1/products/{missing_id}", headers=store.auth)

    assert foreign.status_code == missing.status_code == 404
    foreign_body, missing_body = await foreign.get_json(), await missing.get_json()
    assert foreign_body == {"error": {"code": "unknown_product", "message": f"no product {theirs.id}"}}
    assert missing_body == {"error": {"code": "unknown_product", "message": f"no product {missing_id}"}}
    assert dict(foreign.headers) .keys() == dict(missing.headers).keys()


async def test_two_stores_with_tokens_are_independent(services, client) -> None:
    first = await make_store(services)
    second = await make_store(services)

    first_created = await client.post("/api/v1/collections", json={"title": "Sale"}, headers=first.auth)
    second_created = await client.post("/api/v1/collections", json={"title": "Sale"}, headers=second.auth)

    assert first_created.status_code == second_created.status_code == 201
    assert (await first_created.get_json())["handle"] == (await second_created.get_json())["handle"] == "sale"


async def test_an_out_of_range_id_is_404_for_every_method(client, store) -> None:
    for method in ("get", "patch", "delete"):
        response = await getattr(client, method)("/api/v1/collections/48220467156500545536", headers=store.auth)

        assert response.status_code == 404, method
