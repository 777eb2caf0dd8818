"""Two small shops for storefront tests, built through the real catalog actions."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from origin.catalog.inputs import NewImage, NewVariant
from origin.catalog.models import Collection, Product
from origin.services import Services
from origin.tenancy.models import Tenant
from tests.factories import make_collection, make_product, make_tenant


@dataclass
class Shop:
    tenant: Tenant
    host: str
    shirt: Product
    mug: Product
    collection: Collection


async def make_shop(
    services: Services, slug: str, currency: str, *, shirt_price: str, theme: dict | None = None, locale: str | None = None
) -> Shop:
    tenant = await make_tenant(services, slug=slug, name=f"{slug.title()} Store", currency=currency, theme_settings=theme or {}, locale=locale)
    shirt = await make_product(
        services,
        tenant.id,
        title=f"{slug.title()} Linen Shirt",
        handle="linen-shirt",
        vendor=f"{slug.title()} Mills",
        description_html="<p>Soft <strong>linen</strong>.</p>",
        tags=["linen", "summer"],
        option_names=["Size"],
        variants=[
            NewVariant(price=Decimal(shirt_price), compare_at_price=Decimal(shirt_price) * 2, options=["S"], sku=f"{slug}-S", inventory_quantity=3),
            NewVariant(price=Decimal(shirt_price) + 1, options=["M"], sku=f"{slug}-M", inventory_quantity=0),
        ],
        images=[NewImage(url=f"/media/{slug}/shirt.svg", alt="A linen shirt", width=800, height=800)],
    )
    mug = await make_product(
        services,
        tenant.id,
        title=f"{slug.title()} Mug",
        handle="mug",
        vendor="Clayworks",
        tags=["kitchen"],
        option_names=[],
        variants=[NewVariant(price=Decimal("8"), inventory_quantity=10)],
        images=[],
    )
    collection = await make_collection(services, tenant.id, [shirt.id, mug.id], title="Summer", handle="summer")
    return Shop(tenant=tenant, host=f"{slug}.localhost", shirt=shirt, mug=mug, collection=collection)


async def two_shops(services: Services) -> tuple[Shop, Shop]:
    acme = await make_shop(services, "acme", "USD", shirt_price="1234.50")
    nordic = await make_shop(services, "nordic", "EUR", shirt_price="99.90")
    return acme, nordic
