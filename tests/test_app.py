"""The app factory's wiring: health, error shapes, demo media."""

from __future__ import annotations

from origin.app import create_app, create_internal_app
from origin.catalog.inputs import NewImage
from tests.factories import make_product, make_tenant


async def test_healthz_reports_each_store_on_the_internal_listener(services, backend) -> None:
    client = create_internal_app(services.settings, services=services).test_client()

    response = await client.get("/healthz")

    body = await response.get_json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    expected = {"database": "sqlite", "cache": "memory"} if backend == "embedded" else {"database": "mysql", "cache": "redis"}
    assert {name: store["backend"] for name, store in body["stores"].items()} == expected
    assert {store["status"] for store in body["stores"].values()} == {"ok"}


async def test_the_public_healthz_is_liveness_only_and_asks_no_store(services) -> None:
    client = create_app(services.settings, services=services).test_client()
    await services.db.dispose()  # a store that cannot answer changes nothing: it is not asked

    response = await client.get("/healthz", headers={"Host": "shop.example.com"})

    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


async def test_unknown_api_route_is_json_404(services) -> None:
    client = create_app(services.settings, services=services).test_client()

    response = await client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert (await response.get_json())["error"]["code"] == "not_found"


async def test_demo_media_is_a_deterministic_svg(services) -> None:
    tenant = await make_tenant(services, slug="acme")
    await make_product(services, tenant.id, images=[NewImage(url="/media/demo/acme/alpine-tent-001-1.svg")])
    client = create_app(services.settings, services=services).test_client()

    first = await client.get("/media/demo/acme/alpine-tent-001-1.svg", headers={"Host": "acme.localhost"})
    again = await client.get("/media/demo/acme/alpine-tent-001-1.svg", headers={"Host": "acme.localhost"})
    bad = await client.get("/media/demo/acme/..%2Fsecret.svg", headers={"Host": "acme.localhost"})

    assert first.status_code == 200
    assert first.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert (await first.get_data()) == (await again.get_data())
    assert (await first.get_data()).startswith(b"<svg")
    assert bad.status_code == 404
