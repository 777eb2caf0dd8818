"""The root of every domain error, and the tree of them all.

    ZellyError            origin.errors
    ├── TenancyError      origin.tenancy.errors   TenancyErrorCode, ThemeErrorCode
    ├── DomainError       origin.domains.errors   DomainErrorCode, HostnameErrorCode
    ├── CatalogError      origin.catalog.errors   CatalogErrorCode
    ├── CartError         origin.cart.carts       CartErrorCode
    ├── ShopifyError      origin.shopify.errors   ShopifyErrorCode
    │   └── ShopifyUnavailable  origin.shopify.errors  ShopifyErrorCode
    ├── AnalyticsError    origin.analytics.errors AnalyticsErrorCode
    ├── TaskError         origin.tasks.errors     TaskErrorCode
    ├── CheckoutError     origin.checkout.errors  CheckoutErrorCode
    ├── OrderError        origin.orders.errors    OrderErrorCode
    ├── OutboxError       origin.outbox.errors    OutboxErrorCode
    └── PaymentError      origin.payments.errors  PaymentErrorCode
        └── PaymentUnavailable  origin.payments.errors  PaymentErrorCode

(tests/test_errors.py walks ``ZellyError.__subclasses__()`` and checks this
drawing against the real tree, codes included: a new error class must be drawn.)

Each error carries a stable ``code`` from one of its class's ``codes`` Enums
(a plain string is refused), a sentence a person can act on, the ``field`` path
it concerns when there is one, and a ``kind``. The kind is what the callers
branch on: ``origin.web.errors.status_for`` turns it into the HTTP status (the
one map), workers retry only what is transient (``ShopifyUnavailable``).
"""

from __future__ import annotations

import enum
from typing import ClassVar


class ErrorKind(enum.Enum):
    INVALID = "invalid"  # 422: the input is wrong; nothing was written
    NOT_FOUND = "not_found"  # 404: no such thing *for this tenant*
    CONFLICT = "conflict"  # 409: clashes with existing data (duplicate handle, domain taken)
    FORBIDDEN = "forbidden"  # 403
    UNAUTHORIZED = "unauthorized"  # 401
    UNAVAILABLE = "unavailable"  # 503: e.g. a suspended store


class ZellyError(Exception):
    """Raise a package's subclass, never this one: it has no codes of its own."""

    kind: ErrorKind = ErrorKind.INVALID
    codes: ClassVar[tuple[type[enum.Enum], ...]] = ()

    def __init__(self, code: enum.Enum, message: str, *, field: str | None = None, kind: ErrorKind | None = None) -> None:
        if not isinstance(code, self.codes or ()):
            allowed = ", ".join(codes.__name__ for codes in self.codes) or "none (raise a subclass)"
            raise TypeError(f"{type(self).__name__} takes a code from {allowed}, not {code!r}")
        super().__init__(message)
        self.code: str = code.value
        self.message = message
        self.field = field
        if kind is not None:
            self.kind = kind

    def as_dict(self) -> dict[str, str]:
        body = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body
