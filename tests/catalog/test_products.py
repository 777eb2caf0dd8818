"""Products, variants, images: writes, derived listing fields, bad input, tenant isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from origin.catalog import actions, queries
from origin.catalog.errors import CatalogError
from origin.catalog.inputs import NewImage, NewProduct, NewVariant
from origin.catalog.tables import product_images, products, variants
from origin.errors import ErrorKind
from origin.invalidation import catalog_version
from tests.conftest import count_rows
from tests.factories import make_product, make_tenant


async def test_create_product_with_variants_and_images(services) -> None:
    tenant = await make_tenant(services, currency="EUR")

    product = await actions.do_create_product(
        services,
        tenant.id,
        NewProduct(
            title="Linen Shirt",
            option_names=["Size", "Color"],
            tags=["Summer", "linen"],
            variants=[
                NewVariant(price="49.90", options=["M", "Sand"], inventory_quantity=3, compare_at_price="59.90"),
                NewVariant(price="45.00", options=["S", "Sand"], inventory_quantity=0),
                NewVariant(price="52.5", options=["L", "Sand"], inventory_quantity=0, inventory_policy="continue"),
            ],
            images=[NewImage(url="/media/shirt-1.svg", alt="Front"), NewImage(url="https://cdn.example/b.svg", alt="Back")],
        ),
    )

    assert product.handle == "linen-shirt"
    assert product.tags == ("summer", "linen")
    assert product.option_names == ("Size", "Color")
    assert [v.options for v in product.variants] == [("M", "Sand"), ("S", "Sand"), ("L", "Sand")]
    assert [v.title for v in product.variants] == ["M / Sand", "S / Sand", "L / Sand"]
    assert product.price_min == Decimal("45.0000")
    assert product.price_max == Decimal("52.5000")
    assert product.compare_at_price_min is None  # the cheapest variant has no compare-at price
    assert product.is_available is True
    assert [(i.alt, i.position) for i in product.images] == [("Front", 1), ("Back", 2)]
    assert product.variants[2].is_available and not product.variants[1].is_available


async def test_a_write_bumps_the_tenants_catalog_version_only(services) -> None:
    tenant = await make_tenant(services)
    other = await make_tenant(services)
    product = await make_product(services, tenant.id)
    before, other_before = await catalog_version(services, tenant.id), await catalog_version(services, other.id)

    await actions.do_update_variant(services, tenant.id, product.variants[0].id, {"price": "11.50"})

    assert await catalog_version(services, tenant.id) == before + 1
    assert await catalog_version(services, other.id) == other_before


async def test_price_change_updates_the_listing_fields(services) -> None:
    tenant = await make_tenant(services)
    product = await make_product(services, tenant.id)

    await actions.do_update_variant(services, tenant.id, product.variants[0].id, {"price": "15.00", "inventory_quantity": 0})

    async with services.db.connect() as conn:
        reloaded = await queries.select_product(conn, tenant.id, product.id)
    assert reloaded.price_min == Decimal("12.0000")
    assert reloaded.price_max == Decimal("15.0000")
    assert reloaded.is_available is False


async def test_same_handle_in_two_tenants_each_sees_its_own(services) -> None:
    acme = await make_tenant(services)
    nordic = await make_tenant(services, currency="EUR")
    mine = await make_product(services, acme.id, handle="mug", title="Acme Mug")
    theirs = await make_product(services, nordic.id, handle="mug", title="Nordic Mug")

    async with services.db.connect() as conn:
        seen_by_acme = await queries.select_product_by_handle(conn, acme.id, "mug")
        seen_by_nordic = await queries.select_product_by_handle(conn, nordic.id, "mug")
        cross = await queries.select_product(conn, acme.id, theirs.id)

    assert (seen_by_acme.id, seen_by_acme.title) == (mine.id, "Acme Mug")
    assert (seen_by_nordic.id, seen_by_nordic.title) == (theirs.id, "Nordic Mug")
    assert cross is None


async def test_another_tenants_product_cannot_be_changed_or_deleted(services) -> None:
    acme = await make_tenant(services)
    nordic = await make_tenant(services)
    theirs = await make_product(services, nordic.id, title="Theirs")

    with pytest.raises(CatalogError) as update_error:
        await actions.do_update_product(services, acme.id, theirs.id, {"title": "Hijacked"})
    with pytest.raises(CatalogError) as variant_error:
        await actions.do_update_variant(services, acme.id, theirs.variants[0].id, {"price": "0"})
    with pytest.raises(CatalogError) as delete_error:
        await actions.do_delete_product(services, acme.id, theirs.id)

    assert update_error.value.kind is ErrorKind.NOT_FOUND
    assert variant_error.value.code == "unknown_variant"
    assert delete_error.value.code == "unknown_product"
    async with services.db.connect() as conn:
        unchanged = await queries.select_product(conn, nordic.id, theirs.id)
    assert unchanged.title == "Theirs"
    assert unchanged.variants[0].price == Decimal("10.0000")


async def test_duplicate_handle_is_a_conflict_and_writes_nothing(services) -> None:
    tenant = await make_tenant(services)
    await make_product(services, tenant.id, handle="tee")

    with pytest.raises(CatalogError) as raised:
        await make_product(services, tenant.id, handle="tee")

    assert (raised.value.code, raised.value.field, raised.value.kind) == ("duplicate_handle", "handle", ErrorKind.CONFLICT)
    async with services.db.connect() as conn:
        assert await count_rows(conn, products, tenant_id=tenant.id) == 1
        assert await count_rows(conn, variants, tenant_id=tenant.id) == 2
        assert await count_rows(conn, product_images, tenant_id=tenant.id) == 1


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"variants": [NewVariant(price="-1.00", options=["S"])]}, "invalid_price", "variants[0].price"),
        (
            {"variants": [NewVariant(price="5", options=["S"]), NewVariant(price="abc", options=["M"])]},
            "invalid_price",
            "variants[1].price",
        ),
        ({"variants": [NewVariant(price="1.999", options=["S"])]}, "invalid_price", "variants[0].price"),
        ({"variants": [NewVariant(price="NaN", options=["S"])]}, "invalid_price", "variants[0].price"),
        (
            {"option_names": ["Size", "Color", "Material", "Fit"], "variants": [NewVariant(price="1", options=["S", "R", "C", "F"])]},
            "too_many_options",
            "option_names",
        ),
        ({"variants": [NewVariant(price="1", options=["S", "Red"])]}, "invalid_options", "variants[0].options"),
        (
            {"variants": [NewVariant(price="1", options=["S"]), NewVariant(price="2", options=["s"])]},
            "duplicate_variant",
            "variants[1].options",
        ),
        ({"variants": []}, "no_variants", "variants"),
        ({"title": "   "}, "invalid_title", "title"),
        ({"handle": "Not A Handle"}, "invalid_handle", "handle"),
        ({"status": "published"}, "invalid_status", "status"),
        ({"tags": ["ok", "a,b"]}, "invalid_tag", "tags[1]"),
        ({"images": [NewImage(url="javascript:alert(1)")]}, "invalid_image", "images[0].url"),
        ({"images": [NewImage(url="http://[")]}, "invalid_image", "images[0].url"),
    ],
)
async def test_bad_product_input_is_refused_and_nothing_is_written(services, overrides, code, field) -> None:
    tenant = await make_tenant(services)

    with pytest.raises(CatalogError) as raised:
        await make_product(services, tenant.id, **overrides)

    assert (raised.value.code, raised.value.field) == (code, field)
    assert raised.value.kind is ErrorKind.INVALID
    async with services.db.connect() as conn:
        assert await count_rows(conn, products) == 0
        assert await count_rows(conn, variants) == 0


async def test_prices_follow_the_currency_minor_units(services) -> None:
    yen = await make_tenant(services, currency="JPY")

    product = await make_product(services, yen.id, variants=[NewVariant(price="1200", options=["S"])])
    with pytest.raises(CatalogError) as raised:
        await make_product(services, yen.id, variants=[NewVariant(price="1200.50", options=["S"])])

    assert product.price_min == Decimal("1200")
    assert raised.value.field == "variants[0].price"


async def test_unknown_tenant_is_refused(services) -> None:
    with pytest.raises(Exception) as raised:
        await make_product(services, 424242)

    assert getattr(raised.value, "code", None) == "unknown_tenant"


async def test_last_variant_cannot_be_deleted(services) -> None:
    tenant = await make_tenant(services)
    product = await make_product(services, tenant.id, variants=[NewVariant(price="5", options=["S"])])

    with pytest.raises(CatalogError) as raised:
        await actions.do_delete_variant(services, tenant.id, product.variants[0].id)

    assert raised.value.code == "no_variants"


async def test_variant_create_update_delete_keeps_summary_in_step(services) -> None:
    tenant = await make_tenant(services)
    product = await make_product(services, tenant.id)

    added = await actions.do_create_variant(services, tenant.id, product.id, NewVariant(price="3.00", options=["XS"], inventory_quantity=1))
    with pytest.raises(CatalogError) as duplicate:
        await actions.do_create_variant(services, tenant.id, product.id, NewVariant(price="3.00", options=["xs"]))
    await actions.do_delete_variant(services, tenant.id, product.variants[0].id)

    async with services.db.connect() as conn:
        reloaded = await queries.select_product(conn, tenant.id, product.id)
    assert duplicate.value.code == "duplicate_variant"
    assert added.position == 3
    assert [v.options for v in reloaded.variants] == [("M",), ("XS",)]
    assert (reloaded.price_min, reloaded.price_max) == (Decimal("3.0000"), Decimal("12.0000"))


async def test_delete_product_removes_its_rows_only(services) -> None:
    tenant = await make_tenant(services)
    doomed = await make_product(services, tenant.id)
    kept = await make_product(services, tenant.id)

    await actions.do_delete_product(services, tenant.id, doomed.id)

    async with services.db.connect() as conn:
        assert await queries.select_product(conn, tenant.id, doomed.id) is None
        assert await queries.select_product(conn, tenant.id, kept.id) is not None
        assert await count_rows(conn, variants, product_id=doomed.id) == 0
        assert await count_rows(conn, product_images, product_id=doomed.id) == 0


async def test_images_add_and_delete(services) -> None:
    tenant = await make_tenant(services)
    other = await make_tenant(services)
    product = await make_product(services, tenant.id)

    image = await actions.do_add_image(services, tenant.id, product.id, NewImage(url="/media/x.svg", alt="X", width=800, height=600))
    with pytest.raises(CatalogError) as cross:
        await actions.do_delete_image(services, other.id, image.id)
    await actions.do_delete_image(services, tenant.id, product.images[0].id)

    async with services.db.connect() as conn:
        reloaded = await queries.select_product(conn, tenant.id, product.id)
    assert cross.value.code == "unknown_image"
    assert [(i.url, i.position, i.width) for i in reloaded.images] == [("/media/x.svg", 2, 800)]
