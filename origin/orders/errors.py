"""Orders' errors: a transition an order's state does not allow, a line or amount it does not have."""

from __future__ import annotations

import enum

from origin.errors import ZellyError


class OrderErrorCode(enum.Enum):
    NOT_FOUND = "not_found"
    INVALID_TRANSITION = "invalid_transition"
    INVALID_LINES = "invalid_lines"
    INVALID_AMOUNT = "invalid_amount"


class OrderError(ZellyError):
    codes = (OrderErrorCode,)
