"""Product titles and handles for the top-products report (relational side, scoped by tenant).

ClickHouse rows carry only product ids; a product deleted since keeps its
numbers and shows as ``null`` title. Another store's id never resolves here.
"""

from __future__ import annotations

from typing import Any, Sequence

import sqlalchemy as sa

from origin.catalog.tables import products


async def select_product_names(conn, tenant_id: int, product_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    if not product_ids:
        return {}
    rows = await conn.execute(
        sa.select(products.c.id, products.c.title, products.c.handle).where(
            products.c.tenant_id == tenant_id, products.c.id.in_(list(product_ids))
        )
    )
    return {row.id: (row.title, row.handle) for row in rows}


async def with_product_names(services, tenant_id: int, report: list[dict[str, Any]]) -> list[dict[str, Any]]:
    async with services.db.connect() as conn:
        names = await select_product_names(conn, tenant_id, [item["product_id"] for item in report])
    return [
        {**item, "title": names.get(item["product_id"], (None, None))[0], "handle": names.get(item["product_id"], (None, None))[1]}
        for item in report
    ]
