"""Variants, images and inventory through the API, each with its other-tenant and other-product cases."""

from __future__ import annotations

import pytest

from origin.catalog.tables import product_images, variants
from origin.catalog import queries
from tests.conftest import count_rows
from tests.factories import make_product


async def test_add_a_variant(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)

    response = await client.post(
        f"/api/v1/products/{product.id}/variants",
        json={"options": ["L"], "price": "14.00", "sku": "SHIRT-L", "inventory_quantity": 7},
        headers=store.auth,
    )

    assert response.status_code == 201
    body = await response.get_json()
    assert {k: body[k] for k in ("product_id", "title", "sku", "options", "price", "currency", "inventory_quantity", "position")} == {
        "product_id": product.id,
        "title": "L",
        "sku": "SHIRT-L",
        "options": ["L"],
        "price": "14.00",
        "currency": "USD",
        "inventory_quantity": 7,
        "position": 3,
    }
    fetched = await client.get(f"/api/v1/products/{product.id}", headers=store.auth)
    assert (await fetched.get_json())["price_max"] == "14.00"


async def test_variant_domain_errors_name_the_fields_the_client_sent(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)  # sizes S and M

    duplicate = await client.post(f"/api/v1/products/{product.id}/variants", json={"options": ["S"], "price": "1"}, headers=store.auth)
    wrong_count = await client.post(f"/api/v1/products/{product.id}/variants", json={"options": [], "price": "1"}, headers=store.auth)

    assert duplicate.status_code == wrong_count.status_code == 422
    assert [f["path"] for f in (await duplicate.get_json())["error"]["fields"]] == ["options"]
    assert [f["path"] for f in (await wrong_count.get_json())["error"]["fields"]] == ["options"]
    async with services.db.connect() as conn:
        assert await count_rows(conn, variants, product_id=product.id) == 2


async def test_get_and_patch_a_variant(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)
    variant = product.variants[0]
    path = f"/api/v1/products/{product.id}/variants/{variant.id}"

    patched = await client.patch(path, json={"price": "9.99", "compare_at_price": "15", "sku": "S-1"}, headers=store.auth)
    cleared = await client.patch(path, json={"compare_at_price": None}, headers=store.auth)
    fetched = await client.get(path, headers=store.auth)

    assert patched.status_code == 200
    assert [(await patched.get_json())[k] for k in ("price", "compare_at_price", "sku")] == ["9.99", "15.00", "S-1"]
    assert (await cleared.get_json())["compare_at_price"] is None
    assert await fetched.get_json() == await cleared.get_json()


async def test_patch_a_variant_with_bad_fields_lists_them_all(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)
    path = f"/api/v1/products/{product.id}/variants/{product.variants[0].id}"

    response = await client.patch(path, json={"price": None, "inventory_quantity": 1.5, "inventory_policy": "maybe"}, headers=store.auth)

    assert response.status_code == 422
    assert {f["path"] for f in (await response.get_json())["error"]["fields"]} == {"inventory_quantity", "inventory_policy"}


async def test_patch_price_null_is_refused(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)
    path = f"/api/v1/products/{product.id}/variants/{product.variants[0].id}"

    response = await client.patch(path, json={"price": None}, headers=store.auth)

    assert response.status_code == 422
    assert [f["path"] for f in (await response.get_json())["error"]["fields"]] == ["price"]


async def test_a_variant_of_another_product_is_404(client, services, store) -> None:
    first = await make_product(services, store.tenant.id)
    second = await make_product(services, store.tenant.id)
    path = f"/api/v1/products/{first.id}/variants/{second.variants[0].id}"

    responses = [
        await client.get(path, headers=store.auth),
        await client.patch(path, json={"price": "1"}, headers=store.auth),
        await client.delete(path, headers=store.auth),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert [(await r.get_json())["error"]["code"] for r in responses] == ["unknown_variant"] * 3


async def test_other_tenants_variants_and_images_are_404(client, services, store, other_store) -> None:
    theirs = await make_product(services, other_store.tenant.id)
    variant_path = f"/api/v1/products/{theirs.id}/variants/{theirs.variants[0].id}"
    image_path = f"/api/v1/products/{theirs.id}/images/{theirs.images[0].id}"

    responses = [
        await client.get(variant_path, headers=store.auth),
        await client.patch(variant_path, json={"price": "1"}, headers=store.auth),
        await client.delete(variant_path, headers=store.auth),
        await client.post(f"/api/v1/products/{theirs.id}/variants", json={"options": ["XL"], "price": "1"}, headers=store.auth),
        await client.post(f"/api/v1/products/{theirs.id}/images", json={"url": "/x.png"}, headers=store.auth),
        await client.delete(image_path, headers=store.auth),
        await client.get(f"/api/v1/inventory/{theirs.variants[0].id}", headers=store.auth),
        await client.put(f"/api/v1/inventory/{theirs.variants[0].id}", json={"quantity": 0}, headers=store.auth),
    ]

    assert [r.status_code for r in responses] == [404] * 8
    async with services.db.connect() as conn:
        unchanged = await queries.select_product(conn, other_store.tenant.id, theirs.id)
    assert unchanged == theirs


async def test_delete_a_variant_but_never_the_last(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)
    first, second = product.variants

    deleted = await client.delete(f"/api/v1/products/{product.id}/variants/{first.id}", headers=store.auth)
    last = await client.delete(f"/api/v1/products/{product.id}/variants/{second.id}", headers=store.auth)

    assert (deleted.status_code, await deleted.get_json()) == (200, {"id": first.id, "deleted": True})
    assert last.status_code == 422
    assert (await last.get_json())["error"]["fields"][0]["code"] == "no_variants"


async def test_add_and_delete_an_image(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)

    added = await client.post(
        f"/api/v1/products/{product.id}/images", json={"url": "https://cdn.example.com/back.jpg", "alt": "Back"}, headers=store.auth
    )
    image = await added.get_json()
    deleted = await client.delete(f"/api/v1/products/{product.id}/images/{image['id']}", headers=store.auth)
    again = await client.delete(f"/api/v1/products/{product.id}/images/{image['id']}", headers=store.auth)

    assert added.status_code == 201
    assert (image["url"], image["alt"], image["position"]) == ("https://cdn.example.com/back.jpg", "Back", 2)
    assert deleted.status_code == 200
    assert again.status_code == 404


async def test_an_image_of_another_product_is_404(client, services, store) -> None:
    first = await make_product(services, store.tenant.id)
    second = await make_product(services, store.tenant.id)

    response = await client.delete(f"/api/v1/products/{first.id}/images/{second.images[0].id}", headers=store.auth)

    assert response.status_code == 404
    async with services.db.connect() as conn:
        assert await count_rows(conn, product_images, product_id=second.id) == 1


async def test_bad_image_fields(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)

    response = await client.post(
        f"/api/v1/products/{product.id}/images", json={"url": "javascript:alert(1)", "height": -4, "alt": 3}, headers=store.auth
    )

    assert response.status_code == 422
    assert {f["path"] for f in (await response.get_json())["error"]["fields"]} == {"url", "height", "alt"}


async def test_read_and_set_inventory(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)
    variant = product.variants[1]  # M, 0 in stock

    before = await client.get(f"/api/v1/inventory/{variant.id}", headers=store.auth)
    after = await client.put(f"/api/v1/inventory/{variant.id}", json={"quantity": 12}, headers=store.auth)

    assert await before.get_json() == {
        "variant_id": variant.id,
        "product_id": product.id,
        "sku": None,
        "inventory_quantity": 0,
        "inventory_policy": "deny",
        "is_available": False,
    }
    assert ((await after.get_json())["inventory_quantity"], (await after.get_json())["is_available"]) == (12, True)


async def test_bad_inventory_bodies(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)
    path = f"/api/v1/inventory/{product.variants[0].id}"

    responses = [
        await client.put(path, json={"quantity": "5"}, headers=store.auth),
        await client.put(path, json={"quantity": 10**12}, headers=store.auth),
        await client.put(path, json={}, headers=store.auth),
        await client.put(path, json={"quantity": True}, headers=store.auth),
    ]

    assert [r.status_code for r in responses] == [422] * 4
    assert [[f["path"] for f in (await r.get_json())["error"]["fields"]] for r in responses] == [["quantity"]] * 4


@pytest.mark.parametrize("url", ["http://[", "https://a]b/x.png", "https://cdn.example.com:99999/x.png", "https://cdn.example.com:port/x.png"])
async def test_an_image_url_that_does_not_parse_is_422(client, services, store, url: str) -> None:
    product = await make_product(services, store.tenant.id)

    response = await client.post(f"/api/v1/products/{product.id}/images", json={"url": url}, headers=store.auth)

    assert response.status_code == 422
    assert [(f["path"], f["code"]) for f in (await response.get_json())["error"]["fields"]] == [("url", "value_error")]
