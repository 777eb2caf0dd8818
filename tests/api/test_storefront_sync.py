"""A change made through the seller API is what the storefront shows on its very next request."""

from __future__ import annotations

import pytest

from origin.app import create_app
from origin.tenancy import actions as tenancy
from tests.storefront.conftest import get, parse_html, texts
from tests.storefront.shops import two_shops


@pytest.fixture
async def served(services):
    # Served as hypercorn would (start-up hooks run), so storefront caching is live.
    application = create_app(services.settings, services=services)
    async with application.test_app() as test_app:
        yield test_app.test_client()


async def _token(services, tenant_id: int) -> dict[str, str]:
    issued = await tenancy.do_issue_api_token(services, tenant_id)
    return {"Authorization": f"Bearer {issued.token}", "Host": "localhost"}


async def test_a_price_change_through_the_api_shows_on_the_next_page_view(services, served) -> None:
    acme, nordic = await two_shops(services)
    auth = await _token(services, acme.tenant.id)
    _, before = await get(served, acme.host, "/products/linen-shirt")
    await get(served, acme.host, "/collections/summer")  # both pages are in the cache now
    _, nordic_before = await get(served, nordic.host, "/products/linen-shirt")

    changed = await served.patch(
        f"/api/v1/products/{acme.shirt.id}/variants/{acme.shirt.variants[0].id}", json={"price": "15.00"}, headers=auth
    )
    _, after = await get(served, acme.host, "/products/linen-shirt")
    _, listing = await get(served, acme.host, "/collections/summer")
    _, nordic_after = await get(served, nordic.host, "/products/linen-shirt")

    assert changed.status_code == 200
    assert texts(parse_html(before), ".//span[@data-price]") == ["$1,234.50"]
    assert texts(parse_html(after), ".//span[@data-price]") == ["$15.00"]
    assert texts(parse_html(listing), ".//ul[@class='grid']/li//span[@class='price']")[0] == "From $15.00"
    assert nordic_after == nordic_before


async def test_a_title_change_and_a_delete_through_the_api_reach_the_storefront(services, served) -> None:
    acme, _ = await two_shops(services)
    auth = await _token(services, acme.tenant.id)
    await get(served, acme.host, "/products/mug")
    await get(served, acme.host, "/products/linen-shirt")

    await served.patch(f"/api/v1/products/{acme.mug.id}", json={"title": "Big Mug"}, headers=auth)
    await served.delete(f"/api/v1/products/{acme.shirt.id}", headers=auth)
    _, renamed = await get(served, acme.host, "/products/mug")
    gone, _ = await get(served, acme.host, "/products/linen-shirt")

    assert texts(parse_html(renamed), ".//h1") == ["Big Mug"]
    assert gone.status_code == 404


async def test_the_storefront_host_does_not_answer_the_api(services, served) -> None:
    acme, _ = await two_shops(services)
    auth = await _token(services, acme.tenant.id)

    response = await served.get("/api/v1/products", headers={**auth, "Host": acme.host})

    assert response.status_code == 404
    assert (await response.get_json())["error"]["code"] == "not_found"
