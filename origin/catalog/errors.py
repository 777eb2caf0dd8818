"""Catalog errors (see origin/errors.py for the tree)."""

from __future__ import annotations

import enum

from origin.errors import ErrorKind, ZellyError


class CatalogErrorCode(enum.Enum):
    INVALID_HANDLE = "invalid_handle"
    DUPLICATE_HANDLE = "duplicate_handle"
    INVALID_TITLE = "invalid_title"
    INVALID_PRICE = "invalid_price"
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_STATUS = "invalid_status"
    INVALID_OPTIONS = "invalid_options"
    TOO_MANY_OPTIONS = "too_many_options"
    DUPLICATE_VARIANT = "duplicate_variant"
    NO_VARIANTS = "no_variants"
    TOO_MANY_VARIANTS = "too_many_variants"
    INVALID_IMAGE = "invalid_image"
    INVALID_TAG = "invalid_tag"
    INVALID_FIELD = "invalid_field"
    INVALID_CURSOR = "invalid_cursor"
    INVALID_SORT = "invalid_sort"
    UNKNOWN_PRODUCT = "unknown_product"
    UNKNOWN_VARIANT = "unknown_variant"
    UNKNOWN_IMAGE = "unknown_image"
    UNKNOWN_COLLECTION = "unknown_collection"


class CatalogError(ZellyError):
    codes = (CatalogErrorCode,)


def not_found(code: CatalogErrorCode, what: str, reference: object) -> CatalogError:
    return CatalogError(code, f"no {what} {reference}", kind=ErrorKind.NOT_FOUND)
