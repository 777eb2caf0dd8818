"""Catalog input and its validation.

Validation happens before any write, so a bad field anywhere (say
``variants[2].price``) rejects the whole request and writes nothing. Every
error names the field path a client must fix.
"""

from __future__ import annotations

import re
import unicodedata
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from origin.catalog.errors import CatalogError, CatalogErrorCode as Code
from origin.catalog.models import INVENTORY_POLICIES, MAX_OPTIONS, MAX_VARIANTS, PRODUCT_STATUSES

HANDLE_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,253}[a-z0-9])?$")
MAX_PRICE = Decimal("1000000000")  # one billion in the tenant's currency
MAX_QUANTITY = 1_000_000_000
MAX_TAGS = 250
MAX_IMAGES = 250
MAX_DESCRIPTION = 256 * 1024


@dataclass
class NewVariant:
    price: Any
    options: tuple[str, ...] | list[str] = ()
    title: str | None = None
    sku: str | None = None
    compare_at_price: Any = None
    inventory_quantity: int = 0
    inventory_policy: str = "deny"
    shopify_gid: str | None = None


@dataclass
class NewImage:
    url: str
    alt: str = ""
    width: int | None = None
    height: int | None = None
    shopify_gid: str | None = None


@dataclass
class NewProduct:
    title: str
    variants: list[NewVariant]
    handle: str | None = None
    description_html: str = ""
    vendor: str = ""
    product_type: str = ""
    tags: Iterable[str] = ()
    status: str = "active"
    option_names: tuple[str, ...] | list[str] = ()
    images: list[NewImage] = field(default_factory=list)
    shopify_gid: str | None = None


@dataclass
class NewCollection:
    title: str
    handle: str | None = None
    description_html: str = ""
    image_url: str | None = None
    shopify_gid: str | None = None


# --------------------------------------------------------------------------- external catalog (Shopify)
# What an external catalog sends, as its mapping (origin/shopify/mapping.py) built it:
# money, times and option counts are checked there, not by the merchant-input rules
# below (Shopify already accepted these rows). Written by origin.catalog.external_sync,
# keyed by the external id (``gid``, stored as shopify_gid), ordered by ``updated_at``.
# Control characters are stripped from their text on construction: a row Shopify
# accepted is kept, minus the NUL a merchant's API would have been refused (issue 20).

# C0 and C1 controls other than tab, newline and carriage return: never text a shopper should get
# (a NUL ends strings in C code and XML refuses it, so sitemaps and feeds would break).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def strip_control_characters(value):
    """Text (or a tuple of texts, None left alone) without control characters."""
    if isinstance(value, str):
        return CONTROL_CHARACTERS.sub("", value)
    if isinstance(value, tuple):
        return tuple(strip_control_characters(item) for item in value)
    return value


class _PlainText:
    """Mixin for the External* records: every str field (and tuple of str) is stripped of controls."""

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:  # type: ignore[attr-defined]
            value = getattr(self, name)
            if isinstance(value, str) or (isinstance(value, tuple) and any(isinstance(item, str) for item in value)):
                object.__setattr__(self, name, strip_control_characters(value))


@dataclass(frozen=True)
class ExternalVariant(_PlainText):
    gid: str  # the external catalog's id (a Shopify GID), stored as shopify_gid
    title: str
    sku: str | None
    price: Decimal
    compare_at_price: Decimal | None
    position: int
    options: tuple[str | None, str | None, str | None]
    inventory_quantity: int
    inventory_policy: str
    inventory_item_gid: str | None


@dataclass(frozen=True)
class ExternalImage(_PlainText):
    gid: str | None
    url: str
    alt: str
    width: int | None
    height: int | None
    position: int


@dataclass(frozen=True)
class ExternalProduct(_PlainText):
    gid: str
    handle: str
    title: str
    description_html: str
    vendor: str
    product_type: str
    tags: tuple[str, ...]
    status: str
    option_names: tuple[str | None, str | None, str | None]
    updated_at: dt.datetime
    published_at: dt.datetime | None
    variants: tuple[ExternalVariant, ...] = ()
    images: tuple[ExternalImage, ...] = ()


@dataclass(frozen=True)
class ExternalCollection(_PlainText):
    gid: str
    handle: str
    title: str
    description_html: str
    image_url: str | None
    updated_at: dt.datetime
    product_gids: tuple[str, ...] | None = None  # None: membership not part of this payload


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:255].strip("-")


def clean_handle(handle: str | None, title: str, path: str = "handle") -> str:
    if handle is None:
        handle = slugify(title)
    if not isinstance(handle, str) or not HANDLE_PATTERN.match(handle):
        raise CatalogError(
            Code.INVALID_HANDLE,
            "handle must be lower-case letters, digits and hyphens (1-255), not starting or ending with a hyphen",
            field=path,
        )
    return handle


def clean_text(value: Any, path: str, *, required: bool = False, limit: int = 255) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise CatalogError(Code.INVALID_FIELD, f"{path} must be text", field=path)
    # Looked for before strip(): Python's strip() also eats NEL (U+0085) and U+001C-U+001F, so a
    # control at either end would otherwise be dropped silently instead of refused like one inside.
    control = CONTROL_CHARACTERS.search(value)
    value = value.strip()
    if control:
        code = Code.INVALID_TITLE if path.endswith("title") else Code.INVALID_FIELD
        raise CatalogError(code, f"{path} contains a control character (U+{ord(control.group()):04X}); remove it", field=path)
    if required and not value:
        code = Code.INVALID_TITLE if path.endswith("title") else Code.INVALID_FIELD
        raise CatalogError(code, f"{path} must not be empty", field=path)
    if len(value) > limit:
        raise CatalogError(Code.INVALID_FIELD, f"{path} must be at most {limit} characters", field=path)
    return value


def clean_price(value: Any, path: str, digits: int, *, required: bool = True) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise CatalogError(Code.INVALID_PRICE, f"{path} is required", field=path)
        return None
    if isinstance(value, float):
        value = repr(value)  # never let binary floating point decide a price
    try:
        price = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise CatalogError(Code.INVALID_PRICE, f"{path} must be a decimal number such as 19.99", field=path) from None
    if not price.is_finite():
        raise CatalogError(Code.INVALID_PRICE, f"{path} must be a finite number", field=path)
    if price < 0:
        raise CatalogError(Code.INVALID_PRICE, f"{path} must not be negative", field=path)
    if price > MAX_PRICE:
        raise CatalogError(Code.INVALID_PRICE, f"{path} must be at most {MAX_PRICE}", field=path)
    if -price.as_tuple().exponent > digits and price != price.quantize(Decimal(1).scaleb(-digits)):
        raise CatalogError(
            Code.INVALID_PRICE, f"{path} has more decimals than the currency allows ({digits})", field=path
        )
    return price.quantize(Decimal(1).scaleb(-digits)) if digits else price.quantize(Decimal(1))


def clean_quantity(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CatalogError(Code.INVALID_QUANTITY, f"{path} must be a whole number", field=path)
    if not -MAX_QUANTITY <= value <= MAX_QUANTITY:
        raise CatalogError(Code.INVALID_QUANTITY, f"{path} is out of range", field=path)
    return value


def clean_policy(value: Any, path: str) -> str:
    if value not in INVENTORY_POLICIES:
        raise CatalogError(Code.INVALID_FIELD, f"{path} must be one of {', '.join(INVENTORY_POLICIES)}", field=path)
    return value


def clean_status(value: Any, path: str = "status") -> str:
    if value not in PRODUCT_STATUSES:
        raise CatalogError(Code.INVALID_STATUS, f"{path} must be one of {', '.join(PRODUCT_STATUSES)}", field=path)
    return value


def clean_tags(tags: Any, path: str = "tags") -> str:
    if isinstance(tags, str) or not isinstance(tags, Iterable):
        raise CatalogError(Code.INVALID_TAG, f"{path} must be a list of strings", field=path)
    cleaned: list[str] = []
    for index, tag in enumerate(tags):
        if not isinstance(tag, str) or "," in tag or not tag.strip() or len(tag) > 255 or CONTROL_CHARACTERS.search(tag):
            raise CatalogError(
                Code.INVALID_TAG, f"{path}[{index}] must be 1-255 characters without commas or control characters", field=f"{path}[{index}]"
            )
        cleaned.append(tag.strip().lower())
    if len(cleaned) > MAX_TAGS:
        raise CatalogError(Code.INVALID_TAG, f"{path} holds at most {MAX_TAGS} tags", field=path)
    joined = ",".join(dict.fromkeys(cleaned))
    if len(joined) > 1000:
        raise CatalogError(Code.INVALID_TAG, f"{path} is too long (1000 characters in all)", field=path)
    return joined


def clean_url(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 2048 or CONTROL_CHARACTERS.search(value):
        raise CatalogError(Code.INVALID_IMAGE, f"{path} must be a URL of at most 2048 characters", field=path)
    if value.startswith("/") and not value.startswith("//"):
        return value
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket: "http://["
        raise CatalogError(Code.INVALID_IMAGE, f"{path} is not a well-formed URL", field=path) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CatalogError(Code.INVALID_IMAGE, f"{path} must be an http(s) URL or a path starting with /", field=path)
    return value


def clean_option_names(names: Any, path: str = "option_names") -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise CatalogError(Code.INVALID_OPTIONS, f"{path} must be a list", field=path)
    if len(names) > MAX_OPTIONS:
        raise CatalogError(Code.TOO_MANY_OPTIONS, f"a product has at most {MAX_OPTIONS} options", field=path)
    cleaned = tuple(clean_text(name, f"{path}[{i}]", required=True) for i, name in enumerate(names))
    if len({name.lower() for name in cleaned}) != len(cleaned):
        raise CatalogError(Code.INVALID_OPTIONS, f"{path} must not repeat a name", field=path)
    return cleaned


def clean_variant(variant: NewVariant, path: str, option_count: int, digits: int) -> dict[str, Any]:
    options = variant.options
    if isinstance(options, str) or not isinstance(options, (list, tuple)):
        raise CatalogError(Code.INVALID_OPTIONS, f"{path}.options must be a list", field=f"{path}.options")
    if len(options) > MAX_OPTIONS:
        raise CatalogError(Code.TOO_MANY_OPTIONS, f"a variant has at most {MAX_OPTIONS} options", field=f"{path}.options")
    if len(options) != option_count:
        raise CatalogError(
            Code.INVALID_OPTIONS,
            f"{path}.options must hold one value per product option ({option_count})",
            field=f"{path}.options",
        )
    values = tuple(clean_text(value, f"{path}.options[{i}]", required=True) for i, value in enumerate(options))
    title = clean_text(variant.title, f"{path}.title") or (" / ".join(values) if values else "Default Title")
    price = clean_price(variant.price, f"{path}.price", digits)
    compare_at = clean_price(variant.compare_at_price, f"{path}.compare_at_price", digits, required=False)
    return {
        "title": title,
        "sku": clean_text(variant.sku, f"{path}.sku") or None,
        "option1": values[0] if len(values) > 0 else None,
        "option2": values[1] if len(values) > 1 else None,
        "option3": values[2] if len(values) > 2 else None,
        "price": price,
        "compare_at_price": compare_at,
        "inventory_quantity": clean_quantity(variant.inventory_quantity, f"{path}.inventory_quantity"),
        "inventory_policy": clean_policy(variant.inventory_policy, f"{path}.inventory_policy"),
        "shopify_gid": variant.shopify_gid,
    }


def clean_image(image: NewImage, path: str) -> dict[str, Any]:
    for name in ("width", "height"):
        value = getattr(image, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 100_000):
            raise CatalogError(Code.INVALID_IMAGE, f"{path}.{name} must be a positive whole number", field=f"{path}.{name}")
    return {
        "url": clean_url(image.url, f"{path}.url"),
        "alt": clean_text(image.alt, f"{path}.alt", limit=512),
        "width": image.width,
        "height": image.height,
        "shopify_gid": image.shopify_gid,
    }


def option_key(values: Mapping[str, Any]) -> tuple:
    return tuple((values.get(f"option{i}") or "").lower() for i in (1, 2, 3))


def clean_variants(variants: Any, option_count: int, digits: int, path: str = "variants") -> list[dict[str, Any]]:
    if not isinstance(variants, (list, tuple)) or not variants:
        raise CatalogError(Code.NO_VARIANTS, "a product needs at least one variant (with a price)", field=path)
    if len(variants) > MAX_VARIANTS:
        raise CatalogError(Code.TOO_MANY_VARIANTS, f"a product has at most {MAX_VARIANTS} variants", field=path)
    cleaned = [clean_variant(variant, f"{path}[{i}]", option_count, digits) for i, variant in enumerate(variants)]
    seen: set[tuple] = set()
    for index, values in enumerate(cleaned):
        key = option_key(values)
        if key in seen:
            raise CatalogError(
                Code.DUPLICATE_VARIANT, "two variants have the same option values", field=f"{path}[{index}].options"
            )
        seen.add(key)
    return cleaned


def clean_new_product(product: NewProduct, digits: int) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(product row, variant rows, image rows), or a CatalogError naming the first bad field."""
    title = clean_text(product.title, "title", required=True)
    option_names = clean_option_names(product.option_names)
    variants = clean_variants(product.variants, len(option_names), digits)
    images = product.images or []
    if len(images) > MAX_IMAGES:
        raise CatalogError(Code.INVALID_IMAGE, f"a product has at most {MAX_IMAGES} images", field="images")
    row = {
        "handle": clean_handle(product.handle, title),
        "title": title,
        "description_html": clean_text(product.description_html, "description_html", limit=MAX_DESCRIPTION),
        "vendor": clean_text(product.vendor, "vendor"),
        "product_type": clean_text(product.product_type, "product_type"),
        "tags": clean_tags(product.tags),
        "status": clean_status(product.status),
        "option1_name": option_names[0] if len(option_names) > 0 else None,
        "option2_name": option_names[1] if len(option_names) > 1 else None,
        "option3_name": option_names[2] if len(option_names) > 2 else None,
        "shopify_gid": product.shopify_gid,
    }
    return row, variants, [clean_image(image, f"images[{i}]") for i, image in enumerate(images)]


PRODUCT_CHANGEABLE = ("title", "handle", "description_html", "vendor", "product_type", "tags", "status")


def refuse_unknown_fields(changes: Mapping[str, Any], changeable: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(changes) - set(changeable))
    if unknown:
        raise CatalogError(Code.INVALID_FIELD, f"cannot change {', '.join(unknown)}{where}", field=unknown[0])


def clean_product_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    refuse_unknown_fields(changes, PRODUCT_CHANGEABLE, " here")
    row: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "title":
            row["title"] = clean_text(value, "title", required=True)
        elif name == "handle":
            row["handle"] = clean_handle(value, "", "handle")
        elif name == "description_html":
            row["description_html"] = clean_text(value, name, limit=MAX_DESCRIPTION)
        elif name == "tags":
            row["tags"] = clean_tags(value)
        elif name == "status":
            row["status"] = clean_status(value)
        else:
            row[name] = clean_text(value, name)
    return row


VARIANT_CHANGEABLE = ("title", "sku", "price", "compare_at_price", "inventory_quantity", "inventory_policy", "options")


def clean_variant_changes(changes: Mapping[str, Any], option_count: int, digits: int) -> dict[str, Any]:
    refuse_unknown_fields(changes, VARIANT_CHANGEABLE, " on a variant")
    row: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "price":
            row["price"] = clean_price(value, "price", digits)
        elif name == "compare_at_price":
            row["compare_at_price"] = clean_price(value, name, digits, required=False)
        elif name == "inventory_quantity":
            row[name] = clean_quantity(value, name)
        elif name == "inventory_policy":
            row[name] = clean_policy(value, name)
        elif name == "options":
            probe = clean_variant(NewVariant(price=0, options=value), "", option_count, digits)
            row.update({f"option{i}": probe[f"option{i}"] for i in (1, 2, 3)})
        elif name == "sku":
            row["sku"] = clean_text(value, "sku") or None
        else:
            row["title"] = clean_text(value, "title", required=True)
    return row


COLLECTION_CHANGEABLE = ("title", "handle", "description_html", "image_url")


def clean_new_collection(collection: NewCollection) -> dict[str, Any]:
    title = clean_text(collection.title, "title", required=True)
    return {
        "title": title,
        "handle": clean_handle(collection.handle, title),
        "description_html": clean_text(collection.description_html, "description_html", limit=MAX_DESCRIPTION),
        "image_url": clean_url(collection.image_url, "image_url") if collection.image_url else None,
        "shopify_gid": collection.shopify_gid,
    }


def clean_collection_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    refuse_unknown_fields(changes, COLLECTION_CHANGEABLE, " on a collection")
    row: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "title":
            row["title"] = clean_text(value, "title", required=True)
        elif name == "handle":
            row["handle"] = clean_handle(value, "", "handle")
        elif name == "image_url":
            row["image_url"] = clean_url(value, name) if value else None
        else:
            row[name] = clean_text(value, name, limit=MAX_DESCRIPTION)
    return row
