"""Payment errors: the provider refused (declined, invalid) or could not be reached."""

from __future__ import annotations

import enum

from origin.errors import ErrorKind, ZellyError


class PaymentErrorCode(enum.Enum):
    DECLINED = "declined"
    PROVIDER_ERROR = "provider_error"
    UNAVAILABLE = "unavailable"
    INVALID_SIGNATURE = "invalid_signature"
    NOT_CONFIGURED = "not_configured"


class PaymentError(ZellyError):
    codes = (PaymentErrorCode,)


class PaymentUnavailable(PaymentError):
    """The provider did not answer in time (or answered 5xx): the outcome is unknown, a retry is safe."""

    kind = ErrorKind.UNAVAILABLE
