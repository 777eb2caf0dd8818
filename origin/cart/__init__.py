"""Shopping carts keyed by a signed cookie: the record, its rules, the cookie (rows: origin/checkout/carts.py).

    signing.py  cart ids, their HMAC-signed cookie values and per-cart CSRF tokens
    carts.py    the Cart record and its rules (quantities, line limits)

May import origin.settings, origin.errors, origin.catalog, origin.keyring. Never origin.web.
"""
