"""Request and response models for products, variants, images and inventory."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from origin.catalog.inputs import MAX_DESCRIPTION, MAX_IMAGES, MAX_TAGS, NewImage, NewProduct, NewVariant
from origin.catalog.models import MAX_OPTIONS, MAX_VARIANTS, Page, Product, ProductImage, ProductSummary, Variant
from origin.catalog.queries import SORTS
from origin.tenancy.models import Tenant
from origin.web.seller.api.schemas.common import (
    STRICT,
    PageQuery,
    PriceIn,
    PriceOut,
    Quantity,
    Text255,
    Timestamp,
    Title,
    format_price,
)

ProductStatus = Literal["active", "draft", "archived"]
InventoryPolicy = Literal["deny", "continue"]
Handle = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[^,]*$")]
def _parses_as_url(value: str) -> str:
    # urlsplit raises on a broken IPv6 literal ("http://[") and .port on a bad port: say so, as a 422.
    try:
        urlsplit(value).port
    except ValueError as error:
        raise ValueError(f"is not a valid URL ({error})") from None
    return value


# An http(s) URL with a host, or a path on the store itself ("/media/…"), as the catalog accepts.
Url = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048, pattern=r"^(?:[hH][tT][tT][pP][sS]?://[^\s/?#]+\S*|/(?:[^/\s]\S*)?)$"),
    AfterValidator(_parses_as_url),
]
Dimension = Annotated[int, Field(ge=1, le=100_000, strict=True)]
OptionValues = Annotated[list[Title], Field(max_length=MAX_OPTIONS)]


# --------------------------------------------------------------------------- requests


class VariantIn(BaseModel):
    """A new variant: one option value per product option, a price, and its stock."""

    model_config = STRICT

    price: PriceIn
    options: OptionValues = []
    title: Text255 | None = None
    sku: Text255 | None = None
    compare_at_price: PriceIn | None = None
    inventory_quantity: Quantity = 0
    inventory_policy: InventoryPolicy = "deny"

    def to_domain(self) -> NewVariant:
        return NewVariant(**self.model_dump())


class ImageIn(BaseModel):
    """A new image: an http(s) URL (or a path on the store), alt text, and its size in pixels."""

    model_config = STRICT

    url: Url
    alt: Annotated[str, StringConstraints(max_length=512)] = ""
    width: Dimension | None = None
    height: Dimension | None = None

    def to_domain(self) -> NewImage:
        return NewImage(**self.model_dump())


class ProductIn(BaseModel):
    """A new product with its variants (at least one) and images; written all at once or not at all."""

    model_config = STRICT

    title: Title
    variants: Annotated[list[VariantIn], Field(min_length=1, max_length=MAX_VARIANTS)]
    handle: Handle | None = None
    description_html: Description = ""
    vendor: Text255 = ""
    product_type: Text255 = ""
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] = []
    status: ProductStatus = "active"
    option_names: Annotated[list[Title], Field(max_length=MAX_OPTIONS)] = []
    images: Annotated[list[ImageIn], Field(max_length=MAX_IMAGES)] = []

    def to_domain(self) -> NewProduct:
        return NewProduct(
            title=self.title,
            variants=[variant.to_domain() for variant in self.variants],
            handle=self.handle,
            description_html=self.description_html,
            vendor=self.vendor,
            product_type=self.product_type,
            tags=list(self.tags),
            status=self.status,
            option_names=list(self.option_names),
            images=[image.to_domain() for image in self.images],
        )


class ProductChanges(BaseModel):
    """Fields to change (PATCH): only the keys sent change; variants and images have their own endpoints."""

    model_config = STRICT

    title: Title | None = None
    handle: Handle | None = None
    description_html: Description | None = None
    vendor: Text255 | None = None
    product_type: Text255 | None = None
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] | None = None
    status: ProductStatus | None = None


class VariantChanges(BaseModel):
    """Fields to change (PATCH): only the keys sent change; `compare_at_price: null` removes it."""

    model_config = STRICT

    price: PriceIn | None = None
    compare_at_price: PriceIn | None = None
    options: OptionValues | None = None
    title: Title | None = None
    sku: Text255 | None = None
    inventory_quantity: Quantity | None = None
    inventory_policy: InventoryPolicy | None = None


# Keys that may be sent as null in a PATCH: null clears them. Any other null is refused.
NULLABLE_CHANGES = frozenset({"compare_at_price", "sku"})


class InventoryIn(BaseModel):
    """Set the variant's stock to an absolute quantity (negative: oversold, with policy `continue`)."""

    model_config = STRICT

    quantity: Quantity


class ProductListQuery(PageQuery):
    sort: Literal[tuple(sort for sort in SORTS if sort != "manual")] = "newest"  # type: ignore[valid-type]
    status: Literal["active", "draft", "archived", "any"] = Field("any", description="`any`: every status")


# --------------------------------------------------------------------------- responses


class VariantOut(BaseModel):
    """A variant: option values in the product's option order, price in the store's currency."""

    id: int
    product_id: int
    title: str
    sku: str | None
    options: list[str]
    price: PriceOut
    compare_at_price: PriceOut | None
    currency: str
    inventory_quantity: int
    inventory_policy: InventoryPolicy
    is_available: bool
    position: int

    @classmethod
    def build(cls, variant: Variant, tenant: Tenant) -> "VariantOut":
        digits = tenant.currency_digits
        return cls(
            id=variant.id,
            product_id=variant.product_id,
            title=variant.title,
            sku=variant.sku,
            options=list(variant.options),
            price=format_price(variant.price, digits),
            compare_at_price=format_price(variant.compare_at_price, digits),
            currency=tenant.currency,
            inventory_quantity=variant.inventory_quantity,
            inventory_policy=variant.inventory_policy,
            is_available=variant.is_available,
            position=variant.position,
        )


class ImageOut(BaseModel):
    """A product image."""

    id: int
    product_id: int
    url: str
    alt: str
    width: int | None
    height: int | None
    position: int

    @classmethod
    def build(cls, image: ProductImage) -> "ImageOut":
        return cls(**{name: getattr(image, name) for name in cls.model_fields})


class ProductOut(BaseModel):
    """A product with its variants and images; price_min/price_max span its variants."""

    id: int
    handle: str
    title: str
    description_html: str
    vendor: str
    product_type: str
    tags: list[str]
    status: ProductStatus
    option_names: list[str]
    currency: str
    price_min: PriceOut
    price_max: PriceOut
    compare_at_price_min: PriceOut | None
    is_available: bool
    created_at: Timestamp
    updated_at: Timestamp
    variants: list[VariantOut]
    images: list[ImageOut]

    @classmethod
    def build(cls, product: Product, tenant: Tenant) -> "ProductOut":
        digits = tenant.currency_digits
        return cls(
            id=product.id,
            handle=product.handle,
            title=product.title,
            description_html=product.description_html,
            vendor=product.vendor,
            product_type=product.product_type,
            tags=list(product.tags),
            status=product.status,
            option_names=list(product.option_names),
            currency=tenant.currency,
            price_min=format_price(product.price_min, digits),
            price_max=format_price(product.price_max, digits),
            compare_at_price_min=format_price(product.compare_at_price_min, digits),
            is_available=product.is_available,
            created_at=product.created_at,
            updated_at=product.updated_at,
            variants=[VariantOut.build(variant, tenant) for variant in product.variants],
            images=[ImageOut.build(image) for image in product.images],
        )


class ProductSummaryOut(BaseModel):
    """A product as listed: no variants, its first image."""

    id: int
    handle: str
    title: str
    vendor: str
    status: ProductStatus
    currency: str
    price_min: PriceOut
    price_max: PriceOut
    compare_at_price: PriceOut | None
    is_available: bool
    image: ImageOut | None
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def build(cls, summary: ProductSummary, tenant: Tenant) -> "ProductSummaryOut":
        digits = tenant.currency_digits
        return cls(
            id=summary.id,
            handle=summary.handle,
            title=summary.title,
            vendor=summary.vendor,
            status=summary.status,
            currency=tenant.currency,
            price_min=format_price(summary.price_min, digits),
            price_max=format_price(summary.price_max, digits),
            compare_at_price=format_price(summary.compare_at_price, digits),
            is_available=summary.is_available,
            image=ImageOut.build(summary.image) if summary.image else None,
            created_at=summary.created_at,
            updated_at=summary.updated_at,
        )


class ProductPage(BaseModel):
    """One page of products; pass `next_cursor` as `cursor` for the next (null: last page)."""

    items: list[ProductSummaryOut]
    next_cursor: str | None

    @classmethod
    def build(cls, page: Page[ProductSummary], tenant: Tenant) -> "ProductPage":
        return cls(items=[ProductSummaryOut.build(summary, tenant) for summary in page.items], next_cursor=page.next_cursor)


class InventoryOut(BaseModel):
    """A variant's stock level."""

    variant_id: int
    product_id: int
    sku: str | None
    inventory_quantity: int
    inventory_policy: InventoryPolicy
    is_available: bool

    @classmethod
    def build(cls, variant: Variant) -> "InventoryOut":
        return cls(
            variant_id=variant.id,
            product_id=variant.product_id,
            sku=variant.sku,
            inventory_quantity=variant.inventory_quantity,
            inventory_policy=variant.inventory_policy,
            is_available=variant.is_available,
        )
