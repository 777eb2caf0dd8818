"""Plain async factories: real actions, sensible defaults, overrides by keyword."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from origin.catalog import actions as catalog
from origin.catalog.inputs import NewCollection, NewImage, NewProduct, NewVariant
from origin.catalog.models import Collection, Product
from origin.services import Services
from origin.tenancy import actions as tenancy
from origin.tenancy.models import Tenant

_sequence = itertools.count(1)


async def make_tenant(services: Services, **overrides: Any) -> Tenant:
    number = next(_sequence)
    values = {"slug": f"shop{number}", "name": f"Shop {number}", "currency": "USD"}
    values.update(overrides)
    return await tenancy.do_create_tenant(services, **values)


async def make_product(services: Services, tenant_id: int, **overrides: Any) -> Product:
    number = next(_sequence)
    values: dict[str, Any] = {
        "title": f"Product {number}",
        "handle": f"product-{number}",
        "vendor": "Zelly Goods",
        "tags": ["demo"],
        "option_names": ["Size"],
        "variants": [
            NewVariant(price=Decimal("10.00"), options=["S"], inventory_quantity=5),
            NewVariant(price=Decimal("12.00"), options=["M"], inventory_quantity=0),
        ],
        "images": [NewImage(url=f"/media/p{number}.svg", alt=f"Product {number}")],
    }
    values.update(overrides)
    return await catalog.do_create_product(services, tenant_id, NewProduct(**values))


async def make_collection(services: Services, tenant_id: int, product_ids: list[int] = (), **overrides: Any) -> Collection:
    number = next(_sequence)
    values = {"title": f"Collection {number}", "handle": f"collection-{number}"}
    values.update(overrides)
    collection = await catalog.do_create_collection(services, tenant_id, NewCollection(**values))
    if product_ids:
        await catalog.do_set_collection_products(services, tenant_id, collection.id, list(product_ids))
    return collection
