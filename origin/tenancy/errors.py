"""Tenancy errors (see origin/errors.py for the tree)."""

from __future__ import annotations

import enum

from origin.errors import ErrorKind, ZellyError


class TenancyErrorCode(enum.Enum):
    INVALID_SLUG = "invalid_slug"
    SLUG_TAKEN = "slug_taken"
    INVALID_NAME = "invalid_name"
    INVALID_CURRENCY = "invalid_currency"
    INVALID_LOCALE = "invalid_locale"
    UNKNOWN_TENANT = "unknown_tenant"
    TENANT_SUSPENDED = "tenant_suspended"
    INVALID_TOKEN = "invalid_token"
    UNKNOWN_TOKEN = "unknown_token"


class ThemeErrorCode(enum.Enum):
    INVALID_TEMPLATE_NAME = "invalid_template_name"
    INVALID_TEMPLATE = "invalid_template"
    TOO_MANY_TEMPLATES = "too_many_templates"
    UNKNOWN_TEMPLATE = "unknown_template"
    INVALID_STRING = "invalid_string"
    INVALID_FAVICON = "invalid_favicon"
    TEMPLATE_CHECK_RUNNING = "template_check_running"


class TenancyError(ZellyError):
    codes = (TenancyErrorCode, ThemeErrorCode)


def unknown_tenant(reference: object) -> TenancyError:
    return TenancyError(TenancyErrorCode.UNKNOWN_TENANT, f"no tenant {reference}", kind=ErrorKind.NOT_FOUND)
