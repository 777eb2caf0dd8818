"""zelly seed --demo: the three demo tenants, deterministic and idempotent."""

from __future__ import annotations

import sqlalchemy as sa

from ops.seed import DEMO_TENANTS, PRODUCTS_PER_TENANT, demo_api_token, seed_demo
from origin import db
from origin.tables import metadata
from origin.catalog import queries as catalog_queries
from origin.tenancy import queries as tenancy_queries
from origin.tenancy.actions import authenticate_api_token


async def _snapshot(services) -> dict[str, list[tuple]]:
    snapshot = {}
    async with services.db.connect() as conn:
        for table in metadata.sorted_tables:
            rows = (await conn.execute(sa.select(table))).all()
            snapshot[table.fullname] = sorted((tuple(str(v) for v in row) for row in rows))
    return snapshot


async def test_seed_twice_leaves_exactly_the_same_data(services) -> None:
    messages: list[str] = []

    await seed_demo(services, echo=messages.append)
    first = await _snapshot(services)
    await seed_demo(services, echo=messages.append)
    second = await _snapshot(services)

    assert first == second
    assert len(first["astro_primary.products"]) == PRODUCTS_PER_TENANT * len(DEMO_TENANTS)
    assert any("acme: products 200/200" in message for message in messages)


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
