"""Server-side shopping carts keyed by a signed cookie, stored in Services.cache.

    signing.py  cart ids, their HMAC-signed cookie values and per-cart CSRF tokens
    carts.py    the Cart record, its rules (quantities, line limits) and storage

May import origin.services, origin.settings, origin.errors, origin.catalog. Never origin.web.
"""
