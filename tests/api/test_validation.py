"""Every way a request body can be wrong: 415, 400, and 422 listing every offending field."""

from __future__ import annotations

import pytest

from origin.catalog.errors import CatalogError
from origin.catalog.inputs import clean_text
from origin.catalog.tables import collections, product_images, products, variants
from tests.api.conftest import make_store, product_body
from tests.conftest import count_rows
from tests.factories import make_product


def fields_of(body: dict) -> dict[str, str]:
    return {field["path"]: field["code"] for field in body["error"]["fields"]}


async def assert_nothing_written(services) -> None:
    async with services.db.connect() as conn:
        for table in (products, variants, product_images, collections):
            assert await count_rows(conn, table) == 0, table.name


async def test_a_body_that_is_not_json_is_415(client, services, store) -> None:
    response = await client.post(
        "/api/v1/products", data="title=Shirt", headers={**store.auth, "Content-Type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 415
    assert (await response.get_json())["error"]["code"] == "unsupported_media_type"
    await assert_nothing_written(services)


async def test_a_body_without_content_type_is_415(client, store) -> None:
    response = await client.post("/api/v1/collections", data='{"title": "Sale"}', headers=store.auth)

    assert response.status_code == 415


async def test_json_with_a_suffix_type_is_accepted(client, store) -> None:
    response = await client.post(
        "/api/v1/collections", data='{"title": "Sale"}', headers={**store.auth, "Content-Type": "application/vnd.zelly+json; charset=utf-8"}
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    "raw",
    ['{"title": "Shirt",', "", "{'title': 'x'}", '{"price": NaN}', '{"price": Infinity}', "[" * 100_000, b'{"title": "\xff"}'],
)
async def test_malformed_json_is_400(client, services, store, raw) -> None:
    response = await client.post("/api/v1/products", data=raw, headers={**store.auth, "Content-Type": "application/json"})

    assert response.status_code == 400
    body = await response.get_json()
    assert body["error"]["code"] == "malformed_json"
    await assert_nothing_written(services)


async def test_malformed_json_message_says_where(client, store) -> None:
    response = await client.post(
        "/api/v1/collections", data='{"title": "Sale",}', headers={**store.auth, "Content-Type": "application/json"}
    )

    assert (await response.get_json())["error"]["message"] == (
        "the body is not valid JSON: Illegal trailing comma before end of object: line 1 column 17 (char 16)"
    )


@pytest.mark.parametrize("body", [[], "product", 12, None])
async def test_a_body_that_is_not_an_object_is_422_at_the_root(client, store, body) -> None:
    response = await client.post("/api/v1/products", json=body, headers=store.auth)

    assert response.status_code == 422
    assert fields_of(await response.get_json()) == {"$": "model_type"}


async def test_every_offending_field_is_listed_at_once(client, services, store) -> None:
    body = product_body(
        title="",
        status="published",
        prcie="1",
        tags=["ok", "has,comma"],
        option_names=["Size", "Color", "Material", "Fit"],
        variants=[
            {"options": ["S"], "price": "abc"},
            {"options": ["M"], "price": "-1"},
            {"options": ["L"], "price": "12.345", "inventory_quantity": "5", "inventory_policy": "sometimes"},
        ],
        images=[{"url": "ftp://example.com/x.png", "width": 0}],
    )

    response = await client.post("/api/v1/products", json=body, headers=store.auth)

    assert response.status_code == 422
    payload = await response.get_json()
    assert payload["error"]["code"] == "validation_failed"
    assert payload["error"]["message"] == "12 fields failed validation; nothing was written"
    assert fields_of(payload) == {
        "title": "string_too_short",
        "status": "literal_error",
        "prcie": "extra_forbidden",
        "tags[1]": "string_pattern_mismatch",
        "option_names": "too_long",
        "variants[0].price": "decimal_parsing",
        "variants[1].price": "greater_than_equal",
        "variants[2].price": "value_error",
        "variants[2].inventory_quantity": "int_type",
        "variants[2].inventory_policy": "literal_error",
        "images[0].url": "string_pattern_mismatch",
        "images[0].width": "greater_than_equal",
    }
    await assert_nothing_written(services)


async def test_field_messages_are_actionable(client, store) -> None:
    body = product_body(variants=[{"options": ["S"], "price": "12.345"}])

    response = await client.post("/api/v1/products", json=body, headers=store.auth)

    assert (await response.get_json())["error"]["fields"] == [
        {"path": "variants[0].price", "code": "value_error", "message": "has more decimals than the store's currency allows (2)"}
    ]


async def test_currency_minor_units_follow_the_store(client, services) -> None:
    yen = await make_store(services, currency="JPY")

    refused = await client.post("/api/v1/products", json=product_body(variants=[{"options": ["S"], "price": "1500.5"}]), headers=yen.auth)
    accepted = await client.post("/api/v1/products", json=product_body(variants=[{"options": ["S"], "price": 1500}]), headers=yen.auth)

    assert refused.status_code == 422
    assert fields_of(await refused.get_json()) == {"variants[0].price": "value_error"}
    assert accepted.status_code == 201
    body = await accepted.get_json()
    assert (body["currency"], body["price_min"], body["variants"][0]["price"]) == ("JPY", "1500", "1500")


async def test_json_numbers_are_exact_decimals(client, store) -> None:
    response = await client.post(
        "/api/v1/products",
        data='{"title": "Cup", "variants": [{"price": 0.1}, {"price": 19.99, "options": []}]}',
        headers={**store.auth, "Content-Type": "application/json"},
    )

    # Two variants without options are alike: the catalog refuses them (a rule across fields).
    assert response.status_code == 422
    assert fields_of(await response.get_json()) == {"variants[1].options": "duplicate_variant"}


async def test_domain_errors_use_the_same_shape(client, services, store) -> None:
    body = product_body(option_names=["Size"], variants=[{"options": ["S", "Red"], "price": "10"}])

    response = await client.post("/api/v1/products", json=body, headers=store.auth)

    assert response.status_code == 422
    assert await response.get_json() == {
        "error": {
            "code": "validation_failed",
            "message": "1 field failed validation; nothing was written",
            "fields": [
                {"path": "variants[0].options", "code": "invalid_options", "message": "variants[0].options must hold one value per product option (1)"}
            ],
        }
    }
    await assert_nothing_written(services)


async def test_a_product_with_one_bad_variant_writes_nothing(client, services, store) -> None:
    body = product_body(
        option_names=["Size"],
        variants=[{"options": ["S"], "price": "10"}, {"options": ["M"], "price": "11"}, {"options": ["S"], "price": "12"}],
    )

    response = await client.post("/api/v1/products", json=body, headers=store.auth)

    assert response.status_code == 422
    assert fields_of(await response.get_json()) == {"variants[2].options": "duplicate_variant"}
    await assert_nothing_written(services)


async def test_duplicate_handle_is_409_naming_the_field(client, services, store) -> None:
    await make_product(services, store.tenant.id, handle="linen-shirt")

    response = await client.post("/api/v1/products", json=product_body(handle="linen-shirt"), headers=store.auth)

    assert response.status_code == 409
    assert await response.get_json() == {
        "error": {
            "code": "duplicate_handle",
            "message": "another product already uses the handle 'linen-shirt'",
            "fields": [{"path": "handle", "code": "duplicate_handle", "message": "another product already uses the handle 'linen-shirt'"}],
        }
    }
    async with services.db.connect() as conn:
        assert await count_rows(conn, products) == 1


async def test_the_same_handle_in_another_store_is_fine(client, services, store, other_store) -> None:
    await make_product(services, other_store.tenant.id, handle="linen-shirt")

    response = await client.post("/api/v1/products", json=product_body(handle="linen-shirt"), headers=store.auth)

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("limit=0", {"limit": "greater_than_equal"}),
        ("limit=251", {"limit": "less_than_equal"}),
        ("limit=ten", {"limit": "int_parsing"}),
        ("limit=1&limit=2", {"limit": "repeated"}),
        ("sort=cheapest", {"sort": "literal_error"}),
        ("status=deleted", {"status": "literal_error"}),
        ("cursor=not-a-cursor", {"cursor": "invalid_cursor"}),
        ("limt=5", {"limt": "extra_forbidden"}),
    ],
)
async def test_bad_query_parameters_are_422(client, store, query: str, expected: dict) -> None:
    response = await client.get(f"/api/v1/products?{query}", headers=store.auth)

    assert response.status_code == 422
    assert fields_of(await response.get_json()) == expected


async def test_patch_refuses_null_for_a_required_field(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)

    response = await client.patch(f"/api/v1/products/{product.id}", json={"title": None, "vendor": None}, headers=store.auth)

    assert response.status_code == 422
    assert fields_of(await response.get_json()) == {"title": "null_not_allowed", "vendor": "null_not_allowed"}


async def test_patch_refuses_fields_it_cannot_change(client, services, store) -> None:
    product = await make_product(services, store.tenant.id)

    response = await client.patch(f"/api/v1/products/{product.id}", json={"option_names": ["Color"], "id": 5}, headers=store.auth)

    assert response.status_code == 422
    assert fields_of(await response.get_json()) == {"option_names": "extra_forbidden", "id": "extra_forbidden"}


async def test_oversized_body_is_413(client, store) -> None:
    response = await client.post(
        "/api/v1/products", data="x" * (3 * 1024 * 1024), headers={**store.auth, "Content-Type": "application/json"}
    )

    assert response.status_code == 413


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x1c", "\x7f", "\x85", "\x9b"])
async def test_control_characters_in_catalog_text_are_422(client, services, store, character) -> None:
    title = await client.post("/api/v1/products", json=product_body(title=f"Linen{character}Shirt"), headers=store.auth)
    vendor = await client.post("/api/v1/products", json={**product_body(), "vendor": f"Mill{character}s"}, headers=store.auth)
    tag = await client.post("/api/v1/products", json={**product_body(), "tags": [f"lin{character}en"]}, headers=store.auth)
    collection = await client.post("/api/v1/collections", json={"title": f"Sa{character}le"}, headers=store.auth)

    assert title.status_code == 422
    assert fields_of(await title.get_json()) == {"title": "invalid_title"}
    assert (await title.get_json())["error"]["fields"][0]["message"] == f"title contains a control character (U+{ord(character):04X}); remove it"
    assert fields_of(await vendor.get_json()) == {"vendor": "invalid_field"}
    assert fields_of(await tag.get_json()) == {"tags[0]": "invalid_tag"}
    assert collection.status_code == 422
    await assert_nothing_written(services)


@pytest.mark.parametrize("character", ["\x85", "\x1f", "\x00"])
def test_control_characters_at_either_end_are_refused_not_trimmed(character) -> None:
    # str.strip() counts NEL (U+0085) and U+001C-U+001F as whitespace: the catalog refuses them anyway
    # (Shopify records and every other writer go through clean_text, not only the API's schemas).
    for text in (f"Linen Shirt{character}", f"{character}Linen Shirt"):
        with pytest.raises(CatalogError) as refused:
            clean_text(text, "title")

        assert str(refused.value) == f"title contains a control character (U+{ord(character):04X}); remove it"


@pytest.mark.parametrize("character", ["\x85", "\x1f"])
async def test_a_control_character_ending_a_title_is_refused_by_the_api_not_trimmed(client, services, store, character) -> None:
    response = await client.post("/api/v1/products", json=product_body(title=f"Linen Shirt{character}"), headers=store.auth)

    assert response.status_code == 422
    assert fields_of(await response.get_json()) == {"title": "invalid_title"}
    await assert_nothing_written(services)


async def test_spaces_around_a_title_are_still_trimmed(client, store) -> None:
    response = await client.post("/api/v1/products", json=product_body(title="  Linen Shirt\u3000"), headers=store.auth)

    assert response.status_code == 201
    assert (await response.get_json())["title"] == "Linen Shirt"


async def test_newlines_and_tabs_stay_allowed_in_descriptions(client, store) -> None:
    body = product_body(title="Linen Shirt")
    body["description_html"] = "<p>Soft\n\tlinen</p>"

    response = await client.post("/api/v1/products", json=body, headers=store.auth)

    assert response.status_code == 201
