"""Contexts in the agreed shape (docs/email.md), as checkout and the customer accounts will pass them."""

from __future__ import annotations

from typing import Any


def order_context(**order_overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "number": "#1001",
        "status_url": "https://acme.example.com/orders/1001?token=abc",
        "email": "ann@example.com",
        "currency": "EUR",
        "lines": [
            {"title": "Linen Shirt", "variant_title": "M", "quantity": 2, "unit_price": "€49.00", "total": "€98.00"},
            {"title": "Socks <3 & more", "variant_title": "", "quantity": 1, "unit_price": "€5.00", "total": "€5.00"},
        ],
        "subtotal": "€103.00",
        "shipping": "€4.90",
        "tax": "€0.00",
        "discount": "",
        "total": "€107.90",
        "shipping_address": {
            "name": "Ann Example", "line1": "Hauptstraße 1", "line2": "", "city": "Berlin",
            "region": "", "postal_code": "10115", "country": "DE",
        },
    }
    order.update(order_overrides)
    return {"store": {"name": "Acme Goods", "url": "https://acme.example.com/"}, "order": order}
