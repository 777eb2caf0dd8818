"""Reads only the storefront needs: cart lines and a tenant's theme template overrides.

Connection first, tenant next; every WHERE names the tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.catalog.models import ProductImage, Variant
from origin.catalog.queries import _first_images, variant_from_row
from origin.catalog.tables import products, variants
from origin.tenancy.tables import theme_templates


@dataclass(frozen=True)
class CartVariant:
    """A variant with what a cart line shows of its product."""

    variant: Variant
    product_handle: str
    product_title: str
    option_names: tuple[str, ...]
    image: ProductImage | None


async def select_cart_variants(conn: AsyncConnection, tenant_id: int, variant_ids: Sequence[int]) -> dict[int, CartVariant]:
    """Variants of *active* products by id, with product title and first image: two round trips."""
    if not variant_ids:
        return {}
    rows = (
        await conn.execute(
            sa.select(
                variants,
                products.c.handle.label("product_handle"),
                products.c.title.label("product_title"),
                products.c.option1_name,
                products.c.option2_name,
                products.c.option3_name,
            )
            .join(products, sa.and_(products.c.id == variants.c.product_id, products.c.tenant_id == tenant_id))
            .where(variants.c.tenant_id == tenant_id, variants.c.id.in_(list(variant_ids)), products.c.status == "active")
        )
    ).all()
    images = await _first_images(conn, tenant_id, sorted({row.product_id for row in rows}))
    return {
        row.id: CartVariant(
            variant=variant_from_row(row),
            product_handle=row.product_handle,
            product_title=row.product_title,
            option_names=tuple(n for n in (row.option1_name, row.option2_name, row.option3_name) if n),
            image=images.get(row.product_id),
        )
        for row in rows
    }


async def select_theme_templates(conn: AsyncConnection, tenant_id: int) -> dict[str, str]:
    """The tenant's template overrides, name -> Jinja source (empty for most tenants)."""
    rows = await conn.execute(
        sa.select(theme_templates.c.name, theme_templates.c.source).where(theme_templates.c.tenant_id == tenant_id)
    )
    return {row.name: row.source for row in rows}
