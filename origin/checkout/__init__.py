"""Checkout: carts as rows, pricing (shipping, taxes, discounts), address rules, inventory holds, placing an order.

    tables.py        checkouts + lines (ecom_store_front), shipping/tax/discount rules, reservations
    carts.py         the cart of a checkout: lines, quantities, limits (the storefront's cart pages call it)
    addresses.py     shipping addresses validated per country
    pricing.py       money per currency, shipping, discounts, taxes: pure functions, no I/O
    fetch.py         everything a step needs, read in a few queries (like saleor's checkout/fetch.py)
    inventory.py     every stock write of checkout: reserve, consume, release, restock (one module, like
                     saleor's lock_objects.py)
    placement.py     do_place_order: exactly once per Idempotency-Key
    rules.py         the merchant's shipping rates, tax rates and discounts (seller API writes)

May import origin.orders, origin.catalog, origin.payments, origin.analytics and below. Never origin.web.
"""
