"""Catalog records as plain frozen data (what queries return and views consume)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

T = TypeVar("T")

PRODUCT_STATUSES = ("active", "draft", "archived")
INVENTORY_POLICIES = ("deny", "continue")
MAX_OPTIONS = 3
MAX_VARIANTS = 100


@dataclass(frozen=True)
class Variant:
    id: int
    product_id: int
    title: str
    sku: str | None
    options: tuple[str, ...]
    price: Decimal
    compare_at_price: Decimal | None
    inventory_quantity: int
    inventory_policy: str
    position: int

    @property
    def is_available(self) -> bool:
        return self.inventory_policy == "continue" or self.inventory_quantity > 0


@dataclass(frozen=True)
class ProductImage:
    id: int
    product_id: int
    url: str
    alt: str
    width: int | None
    height: int | None
    position: int


@dataclass(frozen=True)
class Product:
    id: int
    tenant_id: int
    handle: str
    title: str
    description_html: str
    vendor: str
    product_type: str
    tags: tuple[str, ...]
    status: str
    option_names: tuple[str, ...]
    price_min: Decimal
    price_max: Decimal
    compare_at_price_min: Decimal | None
    is_available: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    variants: tuple[Variant, ...] = ()
    images: tuple[ProductImage, ...] = ()
    shopify_gid: str | None = None


@dataclass(frozen=True)
class ProductSummary:
    """A product as listings show it: no variants, its first image."""

    id: int
    handle: str
    title: str
    vendor: str
    status: str
    price_min: Decimal
    price_max: Decimal
    compare_at_price: Decimal | None
    is_available: bool
    image: ProductImage | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class Collection:
    id: int
    tenant_id: int
    handle: str
    title: str
    description_html: str
    image_url: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    shopify_gid: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class SitemapEntry:
    path: str
    updated_at: dt.datetime
