"""Products through the API: create, read, list over many pages, change, delete; the storefront sees changes."""

from __future__ import annotations

from decimal import Decimal

from origin.catalog.tables import product_images, variants
from origin.catalog import queries
from origin.invalidation import catalog_version
from tests.api.conftest import make_store, product_body
from tests.conftest import count_rows
from tests.factories import make_product


async def test_create_then_get_returns_the_product_with_prices_as_strings(client, store) -> None:
    created = await client.post("/api/v1/products", json=product_body(), headers=store.auth)

    assert created.status_code == 201
    body = await created.get_json()
    fetched = await client.get(f"/api/v1/products/{body['id']}", headers=store.auth)
    assert await fetched.get_json() == body
    assert {key: body[key] for key in ("handle", "title", "vendor", "tags", "status", "option_names", "currency")} == {
        "handle": "linen-shirt",
        "title": "Linen Shirt",
        "vendor": "Acme",
        "tags": ["summer", "linen"],
        "status": "active",
        "option_names": ["Size"],
        "currency": "USD",
    }
    assert (body["price_min"], body["price_max"], body["is_available"]) == ("49.00", "52.50", True)
    assert [(v["options"], v["price"], v["compare_at_price"], v["inventory_quantity"], v["is_available"]) for v in body["variants"]] == [
        (["S"], "49.00", None, 3, True),
        (["M"], "52.50", "60.00", 0, False),
    ]
    assert [(i["url"], i["alt"], i["width"], i["height"], i["position"]) for i in body["images"]] == [
        ("https://cdn.example.com/shirt.jpg", "A linen shirt", 800, 600, 1)
    ]
    assert created.headers["Cache-Control"] == "no-store"


async def test_prices_are_shown_in_the_stores_currency(client, services) -> None:
    euro = await make_store(services, currency="EUR")
    product = await make_product(services, euro.tenant.id)

    body = await (await client.get(f"/api/v1/products/{product.id}", headers=euro.auth)).get_json()

    assert (body["currency"], body["price_min"], body["variants"][1]["currency"]) == ("EUR", "10.00", "EUR")


async def test_handle_defaults_to_the_title(client, store) -> None:
    response = await client.post("/api/v1/products", json=product_body(handle=None, title="Crème Brûlée Set"), headers=store.auth)

    assert (await response.get_json())["handle"] == "creme-brulee-set"


async def test_list_pages_through_every_product_exactly_once(client, services, store, other_store) -> None:
    created = [await make_product(services, store.tenant.id, title=f"P{i:02d}", variants=_one_variant(i)) for i in range(23)]
    await make_product(services, other_store.tenant.id)

    seen, cursor, pages = [], None, 0
    while True:
        query = "limit=5&sort=price-asc" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(f"/api/v1/products?{query}", headers=store.auth)
        assert response.status_code == 200
        page = await response.get_json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 5
    assert seen == [product.id for product in created]


def _one_variant(index: int):
    from origin.catalog.inputs import NewVariant

    return [NewVariant(price=Decimal(10 + index), options=["One"])]


async def test_list_filters_by_status(client, services, store) -> None:
    active = await make_product(services, store.tenant.id, status="active")
    draft = await make_product(services, store.tenant.id, status="draft")

    every = await (await client.get("/api/v1/products", headers=store.auth)).get_json()
    drafts = await (await client.get("/api/v1/products?status=draft", headers=store.auth)).get_json()

    assert {item["id"] for item in every["items"]} == {active.id, draft.id}
    assert [item["id"] for item in drafts["items"]] == [draft.id]


async def test_patch_changes_only_the_fields_sent(client, services, store) -> None:
    product = await make_product(services, store.tenant.id, vendor="Old Vendor", title="Old Title")

    response = await client.patch(f"/api/v1/products/{product.id}", json={"title": "New Title", "tags": ["a", "b"]}, headers=store.auth)

    assert response.status_code == 200
    body = await response.get_json()
    assert (body["title"], body["vendor"], body["tags"], body["handle"]) == ("New Title", "Old Vendor", ["a", "b"], product.handle)


async def test_patch_with_an_empty_body_changes_nothing(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)

    response = await client.patch(f"/api/v1/products/{product.id}", json={}, headers=store.auth)

    assert response.status_code == 200
    assert (await response.get_json())["title"] == product.title


async def test_patch_to_a_taken_handle_is_409(client, services, store) -> None:
    await make_product(services, store.tenant.id, handle="taken")
    product = await make_product(services, store.tenant.id)

    response = await client.patch(f"/api/v1/products/{product.id}", json={"handle": "taken"}, headers=store.auth)

    assert response.status_code == 409
    assert (await response.get_json())["error"]["code"] == "duplicate_handle"


async def test_delete_removes_the_product_and_its_parts(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)

    response = await client.delete(f"/api/v1/products/{product.id}", headers=store.auth)
    again = await client.get(f"/api/v1/products/{product.id}", headers=store.auth)

    assert (response.status_code, await response.get_json()) == (200, {"id": product.id, "deleted": True})
    assert again.status_code == 404
    async with services.db.connect() as conn:
        assert await count_rows(conn, variants, product_id=product.id) == 0
        assert await count_rows(conn, product_images, product_id=product.id) == 0


async def test_other_tenants_products_cannot_be_read_changed_or_deleted(client, services, store, other_store) -> None:
    theirs = await make_product(services, other_store.tenant.id, title="Theirs")
    path = f"/api/v1/products/{theirs.id}"

    responses = [
        await client.get(path, headers=store.auth),
        await client.patch(path, json={"title": "Mine now"}, headers=store.auth),
        await client.delete(path, headers=store.auth),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert [(await r.get_json())["error"]["code"] for r in responses] == ["unknown_product"] * 3
    async with services.db.connect() as conn:
        unchanged = await queries.select_product(conn, other_store.tenant.id, theirs.id)
    assert unchanged.title == "Theirs"


async def test_a_price_change_retires_the_stores_cached_pages(client, services, store, other_store) -> None:
    product = await make_product(services, store.tenant.id)
    variant_id = product.variants[0].id
    mine_before = await catalog_version(services, store.tenant.id)
    theirs_before = await catalog_version(services, other_store.tenant.id)

    response = await client.patch(f"/api/v1/products/{product.id}/variants/{variant_id}", json={"price": "8.50"}, headers=store.auth)

    assert response.status_code == 200
    assert await catalog_version(services, store.tenant.id) == mine_before + 1
    assert await catalog_version(services, other_store.tenant.id) == theirs_before
    listed = await (await client.get("/api/v1/products", headers=store.auth)).get_json()
    assert listed["items"][0]["price_min"] == "8.50"


async def test_a_long_description_round_trips(client, store) -> None:
    description = "<p>" + "é" * 70_000 + "</p>"  # 140 KB of UTF-8: more than a MySQL TEXT column holds

    created = await client.post("/api/v1/products", json=product_body(description_html=description), headers=store.auth)
    fetched = await client.get(f"/api/v1/products/{(await created.get_json())['id']}", headers=store.auth)

    assert created.status_code == 201
    assert (await fetched.get_json())["description_html"] == description
