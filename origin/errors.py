"""The root of every domain error.

    ZellyError                      kind -> HTTP status in origin/web/errors.py
    ├── tenancy.errors.TenancyError     unknown tenant, suspended, bad slug/currency, token
    ├── catalog.errors.CatalogError     duplicate handle, bad price, too many options, not found
    ├── (tls) DomainError               hostname rules, verification failures
    ├── shopify.errors.ShopifyError     connection, throttling, bad payloads
    └── analytics.errors.AnalyticsError bad events, bad ranges

Each error carries a stable ``code`` (an Enum value), a sentence a person can act
on, and the ``field`` path it concerns, when there is one.
"""

from __future__ import annotations

import enum


class ErrorKind(enum.Enum):
    INVALID = "invalid"  # 422: the input is wrong; nothing was written
    NOT_FOUND = "not_found"  # 404: no such thing *for this tenant*
    CONFLICT = "conflict"  # 409: clashes with existing data (duplicate handle, domain taken)
    FORBIDDEN = "forbidden"  # 403
    UNAUTHORIZED = "unauthorized"  # 401
    UNAVAILABLE = "unavailable"  # 503: e.g. a suspended store


class ZellyError(Exception):
    kind: ErrorKind = ErrorKind.INVALID

    def __init__(self, code: enum.Enum | str, message: str, *, field: str | None = None, kind: ErrorKind | None = None) -> None:
        super().__init__(message)
        self.code = code.value if isinstance(code, enum.Enum) else code
        self.message = message
        self.field = field
        if kind is not None:
            self.kind = kind

    def as_dict(self) -> dict[str, str]:
        body = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body
