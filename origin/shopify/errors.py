"""Shopify errors (see origin/errors.py for the tree).

    ShopifyError
    ├── ShopifyUnavailable   network, timeout, HTTP 429/5xx: transient, workers retry with backoff
    └── (codes)              bad connection input, not connected, bad payload, API errors: permanent
"""

from __future__ import annotations

import enum

from origin.errors import ErrorKind, ZellyError


class ShopifyErrorCode(enum.Enum):
    INVALID_SHOP_DOMAIN = "invalid_shop_domain"
    INVALID_TOKEN = "invalid_token"
    INVALID_WEBHOOK_SECRET = "invalid_webhook_secret"
    SHOP_TAKEN = "shop_taken"
    SHOP_NOT_OWNED = "shop_not_owned"
    NOT_CONNECTED = "not_connected"
    SYNC_NOT_FOUND = "sync_not_found"
    INVALID_SYNC_KIND = "invalid_sync_kind"
    SYNC_RUNNING = "sync_running"
    SYNC_FINISHED = "sync_finished"
    SETTINGS_RUN_NOT_FOUND = "settings_run_not_found"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_SHOP = "unknown_shop"
    BAD_WEBHOOK = "bad_webhook"
    API_ERROR = "api_error"
    UNAVAILABLE = "shopify_unavailable"
    UNDECRYPTABLE = "undecryptable"


class ShopifyError(ZellyError):
    codes = (ShopifyErrorCode,)


class ShopifyUnavailable(ShopifyError):
    """Shopify (or the network to it) failed in a way a later attempt may not."""

    is_transient = True

    def __init__(self, message: str) -> None:
        super().__init__(ShopifyErrorCode.UNAVAILABLE, message, kind=ErrorKind.UNAVAILABLE)


def not_connected() -> ShopifyError:
    return ShopifyError(
        ShopifyErrorCode.NOT_CONNECTED,
        "this store has no Shopify connection; connect it first (PUT /api/v1/shopify/connection)",
        kind=ErrorKind.NOT_FOUND,
    )
