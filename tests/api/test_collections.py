"""Collections through the API: CRUD, membership and its order, pagination, other tenants."""

from __future__ import annotations

from origin.catalog.tables import collection_products, collections
from tests.conftest import count_rows
from tests.factories import make_collection, make_product


async def test_create_get_patch_delete(client, store) -> None:
    created = await client.post(
        "/api/v1/collections", json={"title": "Summer Sale", "description_html": "<p>Hot</p>"}, headers=store.auth
    )
    collection = await created.get_json()
    path = f"/api/v1/collections/{collection['id']}"

    fetched = await client.get(path, headers=store.auth)
    patched = await client.patch(path, json={"title": "Winter Sale", "image_url": "/media/winter.svg"}, headers=store.auth)
    cleared = await client.patch(path, json={"image_url": None}, headers=store.auth)
    deleted = await client.delete(path, headers=store.auth)
    gone = await client.get(path, headers=store.auth)

    assert created.status_code == 201
    assert (collection["handle"], collection["title"], collection["description_html"], collection["image_url"]) == (
        "summer-sale", "Summer Sale", "<p>Hot</p>", None,
    )
    assert await fetched.get_json() == collection
    assert ((await patched.get_json())["title"], (await patched.get_json())["image_url"]) == ("Winter Sale", "/media/winter.svg")
    assert ((await cleared.get_json())["handle"], (await cleared.get_json())["image_url"]) == ("summer-sale", None)
    assert (deleted.status_code, await deleted.get_json()) == (200, {"id": collection["id"], "deleted": True})
    assert gone.status_code == 404


async def test_bad_collection_bodies(client, services, store) -> None:
    await make_collection(services, store.tenant.id, handle="taken")

    invalid = await client.post("/api/v1/collections", json={"title": " ", "handle": "", "image_url": "nope", "extra": 1}, headers=store.auth)
    taken = await client.post("/api/v1/collections", json={"title": "Taken", "handle": "taken"}, headers=store.auth)
    bad_handle = await client.post("/api/v1/collections", json={"title": "Bad", "handle": "Not A Handle"}, headers=store.auth)

    assert invalid.status_code == 422
    assert {f["path"] for f in (await invalid.get_json())["error"]["fields"]} == {"title", "handle", "image_url", "extra"}
    assert taken.status_code == 409
    assert bad_handle.status_code == 422
    assert (await bad_handle.get_json())["error"]["fields"][0]["code"] == "invalid_handle"
    async with services.db.connect() as conn:
        assert await count_rows(conn, collections, tenant_id=store.tenant.id) == 1


async def test_list_collections_page_by_page(client, services, store, other_store) -> None:
    mine = [await make_collection(services, store.tenant.id) for _ in range(7)]
    await make_collection(services, other_store.tenant.id)

    first = await (await client.get("/api/v1/collections?limit=3", headers=store.auth)).get_json()
    second = await (await client.get(f"/api/v1/collections?limit=3&cursor={first['next_cursor']}", headers=store.auth)).get_json()
    third = await (await client.get(f"/api/v1/collections?limit=3&cursor={second['next_cursor']}", headers=store.auth)).get_json()
    bad = await client.get("/api/v1/collections?cursor=abc", headers=store.auth)

    assert [c["id"] for page in (first, second, third) for c in page["items"]] == [c.id for c in mine]
    assert third["next_cursor"] is None
    assert bad.status_code == 422


async def test_membership_set_add_remove_in_order(client, services, store) -> None:
    a, b, c = [await make_product(services, store.tenant.id) for _ in range(3)]
    draft = await make_product(services, store.tenant.id, status="draft")
    collection = await make_collection(services, store.tenant.id)
    path = f"/api/v1/collections/{collection.id}/products"

    put = await client.put(path, json={"product_ids": [c.id, a.id]}, headers=store.auth)
    added = await client.post(path, json={"product_ids": [a.id, b.id, draft.id]}, headers=store.auth)
    removed = await client.delete(f"{path}/{c.id}", headers=store.auth)
    listed = await client.get(path, headers=store.auth)

    assert await put.get_json() == {"collection_id": collection.id, "product_ids": [c.id, a.id]}
    assert await added.get_json() == {"collection_id": collection.id, "product_ids": [c.id, a.id, b.id, draft.id]}
    assert await removed.get_json() == {"collection_id": collection.id, "product_ids": [a.id, b.id, draft.id]}
    page = await listed.get_json()
    assert [(item["id"], item["status"]) for item in page["items"]] == [(a.id, "active"), (b.id, "active"), (draft.id, "draft")]
    assert page["next_cursor"] is None


async def test_collection_products_page_by_page(client, services, store) -> None:
    products = [await make_product(services, store.tenant.id) for _ in range(5)]
    collection = await make_collection(services, store.tenant.id, product_ids=[p.id for p in reversed(products)])
    path = f"/api/v1/collections/{collection.id}/products?limit=2"

    seen, cursor = [], None
    for _ in range(3):
        page = await (await client.get(path + (f"&cursor={cursor}" if cursor else ""), headers=store.auth)).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]

    assert seen == [p.id for p in reversed(products)]
    assert cursor is None


async def test_membership_refuses_bad_ids(client, services, store, other_store) -> None:
    mine = await make_product(services, store.tenant.id)
    theirs = await make_product(services, other_store.tenant.id)
    collection = await make_collection(services, store.tenant.id, product_ids=[mine.id])
    path = f"/api/v1/collections/{collection.id}/products"

    shape = await client.put(path, json={"product_ids": [mine.id, "7", 0, -1]}, headers=store.auth)
    twice = await client.put(path, json={"product_ids": [mine.id, mine.id]}, headers=store.auth)
    foreign = await client.put(path, json={"product_ids": [theirs.id]}, headers=store.auth)
    missing = await client.post(path, json={"product_ids": [theirs.id + 1000]}, headers=store.auth)
    not_member = await client.delete(f"{path}/{theirs.id}", headers=store.auth)

    assert shape.status_code == 422
    assert {f["path"] for f in (await shape.get_json())["error"]["fields"]} == {"product_ids[1]", "product_ids[2]", "product_ids[3]"}
    assert twice.status_code == 422
    assert (foreign.status_code, (await foreign.get_json())["error"]) == (404, {"code": "unknown_product", "message": f"no product {theirs.id}"})
    assert missing.status_code == 404
    assert not_member.status_code == 404
    members = await (await client.get(path, headers=store.auth)).get_json()
    assert [item["id"] for item in members["items"]] == [mine.id]


async def test_other_tenants_collections_are_404_everywhere(client, services, store, other_store) -> None:
    mine = await make_product(services, store.tenant.id)
    theirs = await make_product(services, other_store.tenant.id)
    collection = await make_collection(services, other_store.tenant.id, product_ids=[theirs.id], title="Theirs")
    path = f"/api/v1/collections/{collection.id}"

    responses = [
        await client.get(path, headers=store.auth),
        await client.patch(path, json={"title": "Mine"}, headers=store.auth),
        await client.get(f"{path}/products", headers=store.auth),
        await client.put(f"{path}/products", json={"product_ids": [mine.id]}, headers=store.auth),
        await client.post(f"{path}/products", json={"product_ids": [mine.id]}, headers=store.auth),
        await client.delete(f"{path}/products/{theirs.id}", headers=store.auth),
        await client.delete(path, headers=store.auth),
    ]

    assert [r.status_code for r in responses] == [404] * 7
    assert {(await r.get_json())["error"]["code"] for r in responses} == {"unknown_collection"}
    listed = await (await client.get("/api/v1/collections", headers=store.auth)).get_json()
    assert listed["items"] == []
    async with services.db.connect() as conn:
        assert await count_rows(conn, collection_products, collection_id=collection.id) == 1
        assert await count_rows(conn, collections, id=collection.id, title="Theirs") == 1
