"""Checkout: carts as rows, pricing (shipping, taxes, discounts), address rules, placing an order.

    tables.py      checkouts + lines (ecom_store_front), the merchant's shipping/tax/discount rules
    carts.py       the Cart record's storage as checkout rows (the storefront's cart pages call it)
    addresses.py   shipping addresses validated per country
    pricing.py     money per currency, shipping, discounts, taxes: pure functions, no I/O
    fetch.py       everything a step needs, read in a few queries (like saleor's checkout/fetch.py)
    steps.py       contact, address, shipping method, discount code; the stock hold before payment
    placement.py   do_place_order (exactly once per Idempotency-Key) and start_payment
    rules.py       the merchant's shipping rates, tax rates and discounts (seller API, seed)

Stock writes are origin/orders/inventory.py (one module for all of them).
May import origin.orders, origin.catalog, origin.payments, origin.analytics and below. Never origin.web.
"""
