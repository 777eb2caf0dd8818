"""View models: what templates see, built from catalog and tenant records.

Templates (including merchant overrides running in the sandbox) only ever get
these plain frozen objects: formatted prices, relative URLs, escaped JSON-LD.
No record, connection, setting or callable that reaches further is passed in,
which is what keeps a merchant template inside its own shop's data.

The builders take records by duck typing (``origin.catalog.models`` shapes),
since this package imports nothing from ``origin/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote, urlencode

from markupsafe import Markup

from storefront import i18n
from storefront.merchant_html import clean_merchant_html
from storefront.money import format_money, html_lang, plain_amount
from storefront.theme import ThemeView, build_theme


@dataclass(frozen=True)
class ShopView:
    id: int
    name: str
    currency: str
    currency_digits: int
    locale: str
    lang: str
    base_url: str  # scheme://primary-host[:port], from the database, never from request headers
    theme: ThemeView
    dir: str = "ltr"  # text direction of the shop's language: "rtl" for Arabic
    # The merchant's replacements for theme strings (msgid -> text); read-only to templates.
    string_overrides: Mapping[str, str] = field(default_factory=dict)

    def money(self, amount: Decimal | None) -> str:
        return format_money(amount, self.currency, self.locale)

    def gettext(self, message: str) -> str:
        """The msgid in the shop's language (unformatted: ``%(name)s`` placeholders left in)."""
        return i18n.translate(self.locale, self.string_overrides, message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return i18n.translate_plural(self.locale, self.string_overrides, singular, plural, count)

    def text(self, message: str, **params: Any) -> str:
        """The msgid translated and formatted, for text the handlers write (titles, messages)."""
        return self.gettext(message) % params

    def absolute(self, path: str) -> str:
        return self.base_url + path


def build_shop(tenant: Any, base_url: str) -> ShopView:
    return ShopView(
        id=tenant.id,
        name=tenant.name,
        currency=tenant.currency,
        currency_digits=tenant.currency_digits,
        locale=tenant.locale,
        lang=html_lang(tenant.locale),
        base_url=base_url,
        theme=build_theme(tenant.theme_settings, tenant.name),
        dir=i18n.text_direction(tenant.locale),
        string_overrides=MappingProxyType(i18n.stored_overrides((tenant.theme_settings or {}).get("strings"))),
    )


@dataclass(frozen=True)
class PageMeta:
    """Head data of a page: title, canonical link, OpenGraph, JSON-LD."""

    title: str
    description: str = ""
    canonical_url: str | None = None
    og_type: str = "website"
    og_image: str | None = None
    json_ld: Markup | None = None
    robots: str | None = None  # e.g. "noindex" for search and cart


@dataclass(frozen=True)
class ImageView:
    url: str
    alt: str
    width: int | None
    height: int | None


def build_image(image: Any, fallback_alt: str) -> ImageView | None:
    if image is None:
        return None
    return ImageView(url=image.url, alt=image.alt or fallback_alt, width=image.width, height=image.height)


@dataclass(frozen=True)
class ProductCardView:
    id: int
    handle: str
    url: str
    title: str
    vendor: str
    price: str
    has_price_range: bool
    compare_at_price: str | None
    is_available: bool
    image: ImageView | None
    html: Markup = Markup("")  # the rendered card (partials/product_card.html), memoized per product version and shop


def product_url(handle: str) -> str:
    return "/products/" + quote(handle, safe="")


def collection_url(handle: str) -> str:
    return "/collections/" + quote(handle, safe="")


def build_product_card(shop: ShopView, summary: Any) -> ProductCardView:
    on_sale = summary.compare_at_price is not None and summary.compare_at_price > summary.price_min
    return ProductCardView(
        id=summary.id,
        handle=summary.handle,
        url=product_url(summary.handle),
        title=summary.title,
        vendor=summary.vendor or "",
        price=shop.money(summary.price_min),
        has_price_range=summary.price_max > summary.price_min,
        compare_at_price=shop.money(summary.compare_at_price) if on_sale else None,
        is_available=summary.is_available,
        image=build_image(summary.image, summary.title),
    )


@dataclass(frozen=True)
class VariantView:
    id: int
    title: str
    sku: str
    options: tuple[str, ...]
    price: str
    compare_at_price: str | None
    is_available: bool


@dataclass(frozen=True)
class OptionValueView:
    value: str
    is_selected: bool
    # With the other options as selected: "available", "sold-out" (exists, no stock) or "unavailable" (no such variant).
    state: str


@dataclass(frozen=True)
class OptionView:
    """One product option (Size, Colour…): a radio group of the variant picker."""

    name: str
    field: str  # the query parameter the picker submits: option1, option2, option3
    values: tuple[OptionValueView, ...]


@dataclass(frozen=True)
class ProductView:
    id: int
    handle: str
    url: str
    title: str
    vendor: str
    product_type: str
    tags: tuple[str, ...]
    description_html: Markup  # merchant HTML, cleaned to an allow-list (storefront/merchant_html.py)
    option_names: tuple[str, ...]
    images: tuple[ImageView, ...]
    variants: tuple[VariantView, ...]
    selected: VariantView | None
    price: str
    compare_at_price: str | None
    is_available: bool
    variant_data: Markup  # JSON for the variant picker script, safe inside <script>
    options: tuple[OptionView, ...] = ()  # one group per option when every variant names its values


def _variant_view(shop: ShopView, variant: Any) -> VariantView:
    on_sale = variant.compare_at_price is not None and variant.compare_at_price > variant.price
    return VariantView(
        id=variant.id,
        title=variant.title,
        sku=variant.sku or "",
        options=tuple(option for option in variant.options if option),
        price=shop.money(variant.price),
        compare_at_price=shop.money(variant.compare_at_price) if on_sale else None,
        is_available=variant.is_available,
    )


def build_options(option_names: Sequence[str], variants: Sequence[VariantView], selected: VariantView | None) -> tuple[OptionView, ...]:
    """The picker's groups: each value marked against the other selected values (as Shopify's Dawn does).

    The catalog guarantees one value per option on every variant (origin/catalog/inputs.py);
    a product with one variant needs no picker.
    """
    if not option_names or selected is None or any(len(v.options) != len(option_names) for v in variants):
        return ()
    groups = []
    for index, name in enumerate(option_names):
        values: list[str] = []
        for variant in variants:
            if variant.options[index] not in values:
                values.append(variant.options[index])
        entries = []
        for value in values:
            wanted = selected.options[:index] + (value,) + selected.options[index + 1 :]
            match = next((v for v in variants if v.options == wanted), None)
            state = "unavailable" if match is None else "available" if match.is_available else "sold-out"
            entries.append(OptionValueView(value=value, is_selected=value == selected.options[index], state=state))
        groups.append(OptionView(name=name, field=f"option{index + 1}", values=tuple(entries)))
    return tuple(groups)


def variant_for_options(variants: Sequence[Any], chosen: Sequence[str | None]) -> Any | None:
    """The variant whose values match the picker's choices, else the one matching most of them in order."""
    if not variants:
        return None

    def score(variant: Any) -> tuple[int, int]:
        values = tuple(option for option in variant.options if option)
        exact = sum(1 for index, value in enumerate(chosen) if value is not None and index < len(values) and values[index] == value)
        # Ties: the earlier options matter more (keep the Size when the Colour has no such variant).
        leading = 0
        for index, value in enumerate(chosen):
            if value is None or index >= len(values) or values[index] != value:
                break
            leading += 1
        return exact, leading

    return max(variants, key=lambda variant: (score(variant), variant.is_available))


def build_product(shop: ShopView, product: Any, selected_variant_id: int | None = None) -> ProductView:
    variants = tuple(_variant_view(shop, variant) for variant in product.variants)
    selected = next((v for v in variants if v.id == selected_variant_id), None)
    if selected is None:
        selected = next((v for v in variants if v.is_available), variants[0] if variants else None)
    data = {
        str(v.id): {"price": v.price, "compare_at_price": v.compare_at_price, "available": v.is_available, "options": list(v.options)}
        for v in variants
    }
    option_names = tuple(product.option_names)
    return ProductView(
        id=product.id,
        handle=product.handle,
        url=product_url(product.handle),
        title=product.title,
        vendor=product.vendor or "",
        product_type=product.product_type or "",
        tags=tuple(product.tags),
        description_html=clean_merchant_html(product.description_html),
        option_names=option_names,
        images=tuple(build_image(image, product.title) for image in product.images),
        variants=variants,
        selected=selected,
        price=selected.price if selected else shop.money(product.price_min),
        compare_at_price=selected.compare_at_price if selected else None,
        is_available=product.is_available,
        variant_data=script_json(data),
        options=build_options(option_names, variants, selected) if len(variants) > 1 else (),
    )


def product_json_ld(shop: ShopView, product: Any) -> Markup:
    """schema.org Product with one Offer per variant (absolute URLs from the shop's primary host)."""
    url = shop.absolute(product_url(product.handle))
    document: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.title,
        "url": url,
        "description": plain_text(product.description_html or "")[:5000],
        "image": [absolute_image(shop, image.url) for image in product.images],
        "offers": [
            {
                "@type": "Offer",
                "url": f"{url}?variant={variant.id}",
                "sku": variant.sku or str(variant.id),
                "price": plain_amount(variant.price, shop.currency_digits),
                "priceCurrency": shop.currency,
                "availability": "https://schema.org/InStock" if variant.is_available else "https://schema.org/OutOfStock",
            }
            for variant in product.variants
        ],
    }
    if product.vendor:
        document["brand"] = {"@type": "Brand", "name": product.vendor}
    return script_json(document)


def absolute_image(shop: ShopView, url: str) -> str:
    return url if url.startswith(("http://", "https://")) else shop.absolute(url)


@dataclass(frozen=True)
class CollectionView:
    id: int
    handle: str
    url: str
    title: str
    description_html: Markup
    image_url: str | None


def build_collection(collection: Any) -> CollectionView:
    return CollectionView(
        id=collection.id,
        handle=collection.handle,
        url=collection_url(collection.handle),
        title=collection.title,
        description_html=clean_merchant_html(collection.description_html),
        image_url=collection.image_url,
    )


@dataclass(frozen=True)
class SortOption:
    value: str
    label: str
    is_selected: bool


@dataclass(frozen=True)
class ListingView:
    """A page of product cards with its controls (sort, filters, next link)."""

    products: tuple[ProductCardView, ...]
    next_url: str | None
    first_url: str | None
    sort_options: tuple[SortOption, ...] = ()
    available_only: bool = False
    price_min: str = ""
    price_max: str = ""


@dataclass(frozen=True)
class CartLineView:
    variant_id: int
    product_title: str
    variant_title: str
    url: str
    image: ImageView | None
    quantity: int
    unit_price: str
    line_total: str
    is_available: bool


@dataclass(frozen=True)
class CartView:
    lines: tuple[CartLineView, ...]
    item_count: int
    subtotal: str
    csrf_token: str
    notice: str = ""
    problems: tuple[str, ...] = field(default_factory=tuple)


def script_json(value: Any) -> Markup:
    """JSON safe to place inside a ``<script>`` element (no ``</script>`` or ``<!--`` breakout)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def plain_text(html: str) -> str:
    """Tags stripped, whitespace collapsed: for meta descriptions and JSON-LD."""
    return " ".join(Markup(html).striptags().split())


def build_sort_options(chosen: str, labels: Mapping[str, str]) -> tuple[SortOption, ...]:
    return tuple(SortOption(value, label, value == chosen) for value, label in labels.items())


def build_cards(shop: ShopView, summaries: Iterable[Any]) -> tuple[ProductCardView, ...]:
    return tuple(build_product_card(shop, summary) for summary in summaries)


def first_image_url(shop: ShopView, images: Sequence[ImageView]) -> str | None:
    return absolute_image(shop, images[0].url) if images else None


def urlencode_pairs(pairs: Sequence[tuple[str, str]]) -> str:
    return urlencode(list(pairs))
