"""Outbox errors: an unknown template name, a template that does not compile or render, no such message."""

from __future__ import annotations

import enum

from origin.errors import ZellyError


class OutboxErrorCode(enum.Enum):
    UNKNOWN_EMAIL_TEMPLATE = "unknown_email_template"
    INVALID_EMAIL_TEMPLATE = "invalid_email_template"
    NO_EMAIL_TEMPLATE_OVERRIDE = "no_email_template_override"
    UNKNOWN_EMAIL = "unknown_email"
    INVALID_ADDRESS = "invalid_address"


class OutboxError(ZellyError):
    codes = (OutboxErrorCode,)
