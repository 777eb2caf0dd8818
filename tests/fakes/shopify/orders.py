"""A Shopify order as the Admin REST webhooks carry it (Order and Refund resources), changing over time.

``FakeOrder`` keeps one order the way Shopify does and gives the body of each
``orders/*`` webhook after each change: ``pay()``, ``fulfil()``, ``refund()``, ``cancel()``
each bump ``updated_at`` and return the document Shopify would send next
(``orders/paid``, ``orders/fulfilled`` / ``orders/partially_fulfilled``, ``refunds/create``
then ``orders/updated``, ``orders/cancelled``). Ids are above 2**53, as in the catalog fake.
Field names and shapes follow shopify.dev's REST Order and Refund resources.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

from tests.fakes.shopify.catalog import FakeCatalog, iso, numeric

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


class FakeOrder:
    def __init__(self, catalog: FakeCatalog, lines: list[tuple[dict, int]], *, name: str = "#1001", email: str = "ann@example.com",
                 currency: str = "USD", shipping: str = "5.00", created_at: dt.datetime = T0, financial_status: str = "pending") -> None:
        """``lines``: (a variant of a catalog product, GraphQL shape, with its product's gid under "product_id"; quantity)."""
        self.catalog = catalog
        self.now = created_at
        self.id = catalog.new_id()
        self.line_items = []
        for variant, quantity in lines:
            line_id = catalog.new_id()
            self.line_items.append({
                "id": line_id, "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
                "variant_id": numeric(variant["id"]), "product_id": numeric(variant["product_id"]),
                "title": variant.get("product_title", "Thing"), "variant_title": variant["title"], "name": f"Thing - {variant['title']}",
                "sku": variant["sku"], "quantity": quantity, "price": variant["price"], "total_discount": "0.00",
                "fulfillable_quantity": quantity, "fulfillment_status": None, "requires_shipping": True, "taxable": True,
                "tax_lines": [], "price_set": {"shop_money": {"amount": variant["price"], "currency_code": currency}},
            })
        subtotal = sum((Decimal(item["price"]) * item["quantity"] for item in self.line_items), Decimal(0))
        self.document = {
            "id": self.id, "admin_graphql_api_id": f"gid://shopify/Order/{self.id}", "name": name, "order_number": int(name.lstrip("#")),
            "email": email, "currency": currency, "presentment_currency": currency,
            "subtotal_price": f"{subtotal:.2f}", "total_tax": "0.00", "total_discounts": "0.00", "taxes_included": False,
            "total_price": f"{subtotal + Decimal(shipping):.2f}",
            "total_shipping_price_set": {"shop_money": {"amount": shipping, "currency_code": currency}},
            "shipping_lines": [{"id": catalog.new_id(), "title": "Standard", "price": shipping, "code": "standard"}],
            "shipping_address": {"first_name": "Ann", "last_name": "Lee", "address1": "1 Main St", "address2": None, "city": "Springfield",
                                 "province_code": "IL", "zip": "62701", "country_code": "US"},
            "discount_codes": [], "financial_status": financial_status, "fulfillment_status": None,
            "cancelled_at": None, "cancel_reason": None, "closed_at": None,
            "created_at": iso(created_at), "updated_at": iso(created_at), "processed_at": iso(created_at),
            "line_items": self.line_items, "fulfillments": [], "refunds": [], "source_name": "web",
        }

    @property
    def gid(self) -> str:
        return self.document["admin_graphql_api_id"]

    def _bump(self, minutes: int = 1) -> dict:
        self.now += dt.timedelta(minutes=minutes)
        self.document["updated_at"] = iso(self.now)
        return self.snapshot()

    def snapshot(self) -> dict:
        return copy.deepcopy(self.document)

    def pay(self) -> dict:
        self.document["financial_status"] = "paid"
        return self._bump()

    def fulfil(self, quantities: list[tuple[int, int]], *, tracking_number: str | None = None, company: str | None = None) -> dict:
        """``quantities``: (line index, quantity)."""
        fulfillment_id = self.catalog.new_id()
        fulfilled = []
        for index, quantity in quantities:
            item = self.line_items[index]
            item["fulfillable_quantity"] -= quantity
            fulfilled.append({"id": item["id"], "admin_graphql_api_id": item["admin_graphql_api_id"], "quantity": quantity})
        self.document["fulfillments"].append({
            "id": fulfillment_id, "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}", "order_id": self.id,
            "status": "success", "tracking_company": company, "tracking_number": tracking_number,
            "tracking_numbers": [tracking_number] if tracking_number else [],
            "tracking_url": f"https://track.example/{tracking_number}" if tracking_number else None,
            "tracking_urls": [f"https://track.example/{tracking_number}"] if tracking_number else [],
            "line_items": fulfilled, "created_at": iso(self.now), "updated_at": iso(self.now),
        })
        left = sum(item["fulfillable_quantity"] for item in self.line_items)
        self.document["fulfillment_status"] = "fulfilled" if left == 0 else "partial"
        return self._bump()

    def refund(self, quantities: list[tuple[int, int]], amount: str, *, restock_type: str = "return") -> dict:
        """A Refund resource (the refunds/create body); the order's next snapshot lists it."""
        refund_id = self.catalog.new_id()
        refund = {
            "id": refund_id, "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}", "order_id": self.id,
            "created_at": iso(self.now), "processed_at": iso(self.now), "note": None, "restock": restock_type != "no_restock",
            "refund_line_items": [
                {"id": self.catalog.new_id(), "line_item_id": self.line_items[index]["id"], "quantity": quantity, "restock_type": restock_type,
                 "subtotal": f"{Decimal(self.line_items[index]['price']) * quantity:.2f}", "total_tax": "0.00"}
                for index, quantity in quantities
            ],
            "transactions": [{"id": self.catalog.new_id(), "order_id": self.id, "kind": "refund", "status": "success", "amount": amount,
                              "currency": self.document["currency"], "gateway": "shopify_payments"}],
            "order_adjustments": [],
        }
        self.document["refunds"].append(refund)
        refunded = sum((Decimal(t["amount"]) for r in self.document["refunds"] for t in r["transactions"]), Decimal(0))
        self.document["financial_status"] = "refunded" if refunded >= Decimal(self.document["total_price"]) else "partially_refunded"
        self._bump()
        return copy.deepcopy(refund)

    def cancel(self, reason: str = "customer") -> dict:
        self.document["cancelled_at"] = iso(self.now + dt.timedelta(minutes=1))
        self.document["cancel_reason"] = reason
        if self.document["financial_status"] in ("pending", "authorized"):
            self.document["financial_status"] = "voided"
        return self._bump()
