"""Shopify payloads -> the catalog's external inputs (origin.catalog.inputs), from both shapes Shopify sends.

Webhooks carry the REST shape (numeric ``id`` plus ``admin_graphql_api_id``,
``body_html``, ``variants[].price`` as a string); the Admin GraphQL API and
bulk JSONL carry GraphQL nodes (``id`` is the GID, ``descriptionHtml``).
Money arrives as strings and becomes ``Decimal``; JSON is parsed with
``parse_float=Decimal`` everywhere, so no value passes through a float.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from origin.catalog.inputs import ExternalCollection, ExternalImage, ExternalProduct, ExternalVariant
from origin.orders.models import ExternalFulfillment, ExternalOrder, ExternalOrderDetails, ExternalOrderLine, ExternalRefund
from origin.shopify.errors import ShopifyError, ShopifyErrorCode
from origin.shopify.models import gid, payload_gid

MAX_OPTIONS = 3


def loads(text: str | bytes) -> Any:
    """JSON with exact numbers: ints stay ints (any size), decimals become Decimal."""
    return json.loads(text, parse_float=Decimal)


def bad_payload(message: str) -> ShopifyError:
    return ShopifyError(ShopifyErrorCode.BAD_WEBHOOK, message)


def parse_time(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise bad_payload(f"expected an ISO 8601 timestamp, got {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_payload(f"expected an ISO 8601 timestamp, got {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def parse_money(value: Any, *, required: bool = True) -> Decimal | None:
    if value is None and not required:
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise bad_payload(f"expected a money amount, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise bad_payload(f"expected a non-negative money amount, got {value!r}")
    return amount


def _three(values: list) -> tuple:
    values = list(values)[:MAX_OPTIONS]
    return tuple(values + [None] * (MAX_OPTIONS - len(values)))


def _tags(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return tuple(dict.fromkeys(tag.strip().lower() for tag in items if isinstance(tag, str) and tag.strip()))


def _status(value: Any) -> str:
    status = str(value or "active").lower()
    return status if status in ("active", "draft", "archived") else "active"


def _policy(value: Any) -> str:
    return "continue" if str(value or "deny").lower() == "continue" else "deny"


def product_from_rest(payload: dict) -> ExternalProduct:
    """products/create and products/update webhook bodies."""
    try:
        variants = tuple(
            ExternalVariant(
                gid=payload_gid("ProductVariant", item),
                title=str(item.get("title") or "Default Title")[:255],
                sku=item.get("sku") or None,
                price=parse_money(item.get("price")),
                compare_at_price=parse_money(item.get("compare_at_price"), required=False),
                position=int(item.get("position") or index + 1),
                options=(item.get("option1"), item.get("option2"), item.get("option3")),
                inventory_quantity=int(item.get("inventory_quantity") or 0),
                inventory_policy=_policy(item.get("inventory_policy")),
                inventory_item_gid=gid("InventoryItem", item["inventory_item_id"]) if item.get("inventory_item_id") else None,
            )
            for index, item in enumerate(payload.get("variants") or [])
        )
        images = tuple(
            ExternalImage(
                gid=payload_gid("ProductImage", item) if item.get("id") else None,
                url=str(item["src"]),
                alt=str(item.get("alt") or ""),
                width=item.get("width"),
                height=item.get("height"),
                position=int(item.get("position") or index + 1),
            )
            for index, item in enumerate(payload.get("images") or [])
        )
        return ExternalProduct(
            gid=payload_gid("Product", payload),
            handle=str(payload.get("handle") or "").strip() or f"product-{payload['id']}",
            title=str(payload.get("title") or "")[:255],
            description_html=str(payload.get("body_html") or ""),
            vendor=str(payload.get("vendor") or "")[:255],
            product_type=str(payload.get("product_type") or "")[:255],
            tags=_tags(payload.get("tags")),
            status=_status(payload.get("status")),
            option_names=_three([option.get("name") for option in payload.get("options") or []]),
            updated_at=parse_time(payload.get("updated_at")),
            published_at=parse_time(payload["published_at"]) if payload.get("published_at") else None,
            variants=variants,
            images=images,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise bad_payload(f"product payload is missing or has a malformed field: {error}") from None


def variant_from_node(node: dict, index: int) -> ExternalVariant:
    options = [option.get("value") for option in node.get("selectedOptions") or []]
    item = node.get("inventoryItem") or {}
    return ExternalVariant(
        gid=node["id"],
        title=str(node.get("title") or "Default Title")[:255],
        sku=node.get("sku") or None,
        price=parse_money(node.get("price")),
        compare_at_price=parse_money(node.get("compareAtPrice"), required=False),
        position=int(node.get("position") or index + 1),
        options=_three(options),
        inventory_quantity=int(node.get("inventoryQuantity") or 0),
        inventory_policy=_policy(node.get("inventoryPolicy")),
        inventory_item_gid=item.get("id"),
    )


def image_from_node(node: dict, index: int) -> ExternalImage:
    return ExternalImage(
        gid=node.get("id"),
        url=str(node.get("url") or node.get("src")),
        alt=str(node.get("altText") or ""),
        width=node.get("width"),
        height=node.get("height"),
        position=index + 1,
    )


def product_from_node(node: dict, variants: list[dict] | None = None, images: list[dict] | None = None) -> ExternalProduct:
    """A GraphQL Product node; children come nested (paged query) or separately (bulk JSONL)."""
    if variants is None:
        variants = [edge["node"] for edge in (node.get("variants") or {}).get("edges", [])]
    if images is None:
        images = [edge["node"] for edge in (node.get("images") or {}).get("edges", [])]
    try:
        return ExternalProduct(
            gid=node["id"],
            handle=str(node.get("handle") or "").strip() or node["id"].rsplit("/", 1)[-1],
            title=str(node.get("title") or "")[:255],
            description_html=str(node.get("descriptionHtml") or ""),
            vendor=str(node.get("vendor") or "")[:255],
            product_type=str(node.get("productType") or "")[:255],
            tags=_tags(node.get("tags")),
            status=_status(node.get("status")),
            option_names=_three([option.get("name") for option in node.get("options") or []]),
            updated_at=parse_time(node.get("updatedAt")),
            published_at=parse_time(node["publishedAt"]) if node.get("publishedAt") else None,
            variants=tuple(variant_from_node(item, index) for index, item in enumerate(variants)),
            images=tuple(image_from_node(item, index) for index, item in enumerate(images)),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise bad_payload(f"product node is missing or has a malformed field: {error}") from None


def collection_from_rest(payload: dict) -> ExternalCollection:
    try:
        image = payload.get("image") or {}
        return ExternalCollection(
            gid=payload_gid("Collection", payload),
            handle=str(payload.get("handle") or "").strip() or f"collection-{payload['id']}",
            title=str(payload.get("title") or "")[:255],
            description_html=str(payload.get("body_html") or ""),
            image_url=image.get("src"),
            updated_at=parse_time(payload.get("updated_at")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise bad_payload(f"collection payload is missing or has a malformed field: {error}") from None


def collection_from_node(node: dict, product_gids: list[str] | None = None) -> ExternalCollection:
    try:
        if product_gids is None and "products" in node:
            product_gids = [edge["node"]["id"] for edge in node["products"]["edges"]]
        return ExternalCollection(
            gid=node["id"],
            handle=str(node.get("handle") or "").strip() or node["id"].rsplit("/", 1)[-1],
            title=str(node.get("title") or "")[:255],
            description_html=str(node.get("descriptionHtml") or ""),
            image_url=(node.get("image") or {}).get("url"),
            updated_at=parse_time(node.get("updatedAt")),
            product_gids=tuple(product_gids) if product_gids is not None else None,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise bad_payload(f"collection node is missing or has a malformed field: {error}") from None


def _money_or_none(value: Any) -> Decimal | None:
    return None if value in (None, "") else parse_money(value)


def _shop_money(value: Any) -> Decimal | None:
    """A MoneyBag (``{"shop_money": {"amount": ..}}``): the amount in the shop's currency."""
    if isinstance(value, dict):
        return _money_or_none((value.get("shop_money") or {}).get("amount"))
    return None


def _address(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    name = value.get("name") or " ".join(str(part) for part in (value.get("first_name"), value.get("last_name")) if part)
    fields = {
        "name": name, "line1": value.get("address1"), "line2": value.get("address2"), "city": value.get("city"),
        "region": value.get("province_code") or value.get("province"), "postal_code": value.get("zip"), "country": value.get("country_code"),
    }
    return {key: str(text or "")[:255] for key, text in fields.items()}


def _line_from_rest(item: dict) -> ExternalOrderLine:
    return ExternalOrderLine(
        gid=payload_gid("LineItem", item),
        variant_gid=gid("ProductVariant", item["variant_id"]) if item.get("variant_id") else None,
        product_gid=gid("Product", item["product_id"]) if item.get("product_id") else None,
        title=str(item.get("title") or item.get("name") or "")[:255],
        variant_title=str(item.get("variant_title") or "")[:255],
        sku=item.get("sku") or None,
        quantity=int(item["quantity"]),
        unit_price=parse_money(item.get("price")),
        discount_amount=parse_money(item.get("total_discount") or "0"),
        tax_amount=sum((parse_money(tax.get("price") or "0") for tax in item.get("tax_lines") or []), Decimal(0)),
    )


def _refund_lines(refund: dict) -> tuple[tuple[str, int], ...]:
    return tuple((gid("LineItem", item["line_item_id"]), int(item.get("quantity") or 0)) for item in refund.get("refund_line_items") or [])


def refund_from_rest(payload: dict, order_gid: str | None = None) -> ExternalRefund:
    """A Refund resource (the refunds/create body, or one of an order's ``refunds``).

    The amount given back is the sum of its successful ``refund`` transactions (a refund may
    return lines without money, then it is 0).
    """
    try:
        amount = sum(
            (parse_money(item.get("amount")) for item in payload.get("transactions") or []
             if str(item.get("kind")).lower() == "refund" and str(item.get("status")).lower() == "success"),
            Decimal(0),
        )
        return ExternalRefund(
            gid=payload_gid("Refund", payload),
            order_gid=order_gid or gid("Order", payload["order_id"]),
            amount=amount,
            lines=_refund_lines(payload),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise bad_payload(f"refund payload is missing or has a malformed field: {error!r}") from None


def _fulfillment_from_rest(item: dict) -> ExternalFulfillment:
    numbers = item.get("tracking_numbers") or []
    urls = item.get("tracking_urls") or []
    return ExternalFulfillment(
        gid=payload_gid("Fulfillment", item),
        lines=tuple((payload_gid("LineItem", line), int(line.get("quantity") or 0)) for line in item.get("line_items") or []),
        tracking_number=str(item.get("tracking_number") or (numbers[0] if numbers else "") or "")[:255] or None,
        tracking_url=str(item.get("tracking_url") or (urls[0] if urls else "") or "")[:2048] or None,
        carrier=str(item.get("tracking_company") or "")[:255] or None,
    )


# Shopify's financial_status values (REST Order): which of them mean the money was taken.
PAID_STATUSES = frozenset({"paid", "partially_refunded", "refunded"})
AUTHORIZED_STATUSES = frozenset({"authorized", "partially_paid"})


def order_from_rest(payload: dict) -> ExternalOrder:
    """An ``orders/*`` webhook body (the REST Order) -> the orders package's input, the payload kept as sent."""
    try:
        order_gid = payload_gid("Order", payload)
        financial = str(payload.get("financial_status") or "pending").lower()
        shipping_lines = payload.get("shipping_lines") or []
        shipping = _shop_money(payload.get("total_shipping_price_set"))
        if shipping is None and shipping_lines:
            shipping = sum((parse_money(line.get("price") or "0") for line in shipping_lines), Decimal(0))
        codes = [item.get("code") for item in payload.get("discount_codes") or [] if item.get("code")]
        details = ExternalOrderDetails(
            subtotal_price=_money_or_none(payload.get("subtotal_price")),
            shipping_price=shipping,
            tax_price=_money_or_none(payload.get("total_tax")),
            discount_price=_money_or_none(payload.get("total_discounts")),
            taxes_included=bool(payload["taxes_included"]) if payload.get("taxes_included") is not None else None,
            shipping_address=_address(payload.get("shipping_address")),
            shipping_method=str(shipping_lines[0].get("title") or "") or None if shipping_lines else None,
            discount_code=codes[0] if codes else None,
            lines=tuple(_line_from_rest(item) for item in payload.get("line_items") or []),
            is_paid=financial in PAID_STATUSES,
            is_authorized=financial in AUTHORIZED_STATUSES,
            cancelled_at=parse_time(payload["cancelled_at"]) if payload.get("cancelled_at") else None,
            # Only delivered ones: a cancelled or failed fulfillment shipped nothing.
            fulfillments=tuple(_fulfillment_from_rest(item) for item in payload.get("fulfillments") or [] if str(item.get("status") or "success").lower() == "success"),
            refunds=tuple(refund_from_rest(item, order_gid) for item in payload.get("refunds") or []),
        )
        return ExternalOrder(
            gid=order_gid,
            number=str(payload.get("name") or payload.get("order_number") or order_gid.rsplit("/", 1)[-1]),
            email=payload.get("email") or None,
            currency=str(payload.get("currency") or "USD"),
            total_price=parse_money(payload.get("total_price") or "0"),
            financial_status=financial,
            fulfillment_status=payload.get("fulfillment_status"),
            updated_at=parse_time(payload.get("updated_at")),
            payload=json.loads(json.dumps(payload, default=str)),  # Decimals as strings, ints exact
            details=details,
        )
    except ShopifyError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise bad_payload(f"order payload is missing or has a malformed field: {error!r}") from None
