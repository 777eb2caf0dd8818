"""zelly seed --demo: the three demo tenants, deterministic and idempotent."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from ops.seed import DEMO_TENANTS, PRODUCTS_PER_TENANT, SEEDED_BEFORE, demo_api_token, seed_demo, seed_demo_if_empty
from origin import db
from origin.tables import metadata
from origin.catalog import queries as catalog_queries
from origin.tenancy import queries as tenancy_queries
from origin.tenancy.actions import authenticate_api_token
from origin.web.storefront.media import DRAWINGS, draw_svg


async def _snapshot(services) -> dict[str, list[tuple]]:
    snapshot = {}
    async with services.db.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name == "change_log":  # messages between processes (origin/broadcast.py), not data
                continue
            rows = (await conn.execute(sa.select(table))).all()
            snapshot[table.fullname] = sorted((tuple(str(v) for v in row) for row in rows))
    return snapshot


async def test_seed_twice_leaves_exactly_the_same_data(services) -> None:
    messages: list[str] = []
    later_run: list[str] = []

    await seed_demo(services, echo=messages.append)
    first = await _snapshot(services)
    await seed_demo(services, echo=later_run.append)
    second = await _snapshot(services)
    dev_restart: list[str] = []
    seeded = await seed_demo_if_empty(services, echo=dev_restart.append)

    assert first == second
    assert len(first["astro_primary.products"]) == PRODUCTS_PER_TENANT * len(DEMO_TENANTS)
    assert any("acme: products 200/200" in message for message in messages)
    # A later run reprints the same tokens (what README.md and docs/api.md tell a returning developer).
    tokens = [f"  {demo.slug} API token: {demo_api_token(services.keyring, demo.slug)}" for demo in DEMO_TENANTS]
    assert [m for m in messages if " API token: " in m] == [m for m in later_run if " API token: " in m] == tokens
    assert messages[-1] == later_run[-1] == "  payment: manual (bank transfer / cash on delivery, the merchant marks it paid) (set ZELLY_STRIPE_SECRET_KEY to offer Stripe too)"
    assert (seeded, dev_restart) == (False, [SEEDED_BEFORE])


async def test_demo_tenants_differ_in_currency_and_look(services) -> None:
    await seed_demo(services, echo=lambda _: None)

    async with services.db.connect() as conn:
        tenants = {t.slug: t for t in await tenancy_queries.select_tenants(conn)}
        kyoto_sale = await catalog_queries.select_collection_by_handle(conn, tenants["kyoto"].id, "sale")
        kyoto_page = await catalog_queries.select_collection_products(conn, tenants["kyoto"].id, kyoto_sale.id, limit=5)

    assert {slug: t.currency for slug, t in tenants.items()} == {"acme": "USD", "nordic": "EUR", "kyoto": "JPY"}
    assert len({t.theme_settings["colors"]["primary"] for t in tenants.values()}) == 3
    assert len(kyoto_page.items) == 5
    assert all(item.price_min == item.price_min.to_integral_value() for item in kyoto_page.items)  # yen has no minor unit
    assert all(item.image is not None for item in kyoto_page.items)
    token = demo_api_token(services.keyring, "nordic")
    assert (await authenticate_api_token(services, token)).slug == "nordic"


async def test_demo_stores_are_credible(services) -> None:
    await seed_demo(services, echo=lambda _: None)

    async with services.db.connect() as conn:
        tenants = {t.slug: t for t in await tenancy_queries.select_tenants(conn)}
        footwear = await catalog_queries.select_collection_by_handle(conn, tenants["acme"].id, "footwear")
        boots = await catalog_queries.select_collection_products(conn, tenants["acme"].id, footwear.id, limit=100)
        lights = await catalog_queries.select_collection_by_handle(conn, tenants["nordic"].id, "leuchten")
        lamps = await catalog_queries.select_collection_products(conn, tenants["nordic"].id, lights.id, limit=100)
        bottle = await catalog_queries.select_product_by_handle(conn, tenants["acme"].id, "alpine-water-bottle")
        sencha = await catalog_queries.select_product_by_handle(conn, tenants["kyoto"].id, "uji-sencha")
        chair = await catalog_queries.select_product_by_handle(conn, tenants["nordic"].id, "fjord-stuhl")
        products = {
            slug: (await catalog_queries.select_products(conn, tenant.id, limit=PRODUCTS_PER_TENANT)).items
            for slug, tenant in tenants.items()
        }

    # Each category collection holds only its kinds (no beanies among the boots).
    assert len(boots.items) == 20 and {item.title.rsplit(" ", 2)[-2:] == ["Hiking", "Boot"] for item in boots.items} == {True}
    assert {item.title.split(" ")[0] for item in lamps.items} == {"Pendelleuchte"}
    # Prices in the range such a thing costs: a water bottle is not $343.95.
    assert all(Decimal("14") <= v.price <= Decimal("60") for v in bottle.variants)
    assert all(Decimal("800") <= v.price <= Decimal("6000") and v.price % 100 == 0 for v in sencha.variants)
    # The description names the vendor; kyoto and nordic speak their language.
    assert bottle.vendor in bottle.description_html
    assert sencha.title == "宇治煎茶" and sencha.vendor == "宇治園" and "宇治園の宇治煎茶" in sencha.description_html
    assert chair.option_names == ("Holz",) and [v.options[0] for v in chair.variants] == ["Eiche", "Esche", "Nussbaum"]
    assert tenants["kyoto"].theme_settings["hero_title"] == "お茶と器のある、静かな朝"
    # Every product has an illustration of its kind, drawn locally.
    for slug, items in products.items():
        assert len(items) == PRODUCTS_PER_TENANT
        for item in items:
            picture = item.image.url.rsplit("/", 1)[1].split("-")[0]
            assert item.image.url.startswith(f"/media/demo/{slug}/") and picture in DRAWINGS, item.image.url


async def test_illustrations_are_drawings_of_the_kind(services) -> None:
    boot = draw_svg("acme", "boot-plain-alpine-hiking-boot")
    teapot = draw_svg("kyoto", "teapot-plain-uji-kyusu")
    unknown = draw_svg("acme", "old-style-name-1")

    assert boot.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and boot != teapot
    assert "<text" not in boot  # no words to render in a font the shopper may not have
    assert 'fill="#7a4a2a"' in boot  # the boot's leather
    assert "<circle" in unknown or "<rect x=" in unknown or "<polygon" in unknown
