"""Tenant records as plain frozen data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

# ISO 4217 codes the platform sells in, with their minor-unit digits (for price input and display).
CURRENCY_DIGITS: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "NZD": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2,
    "PLN": 2, "CZK": 2, "HUF": 2, "MXN": 2, "BRL": 2, "INR": 2, "SGD": 2, "HKD": 2, "ZAR": 2, "CNY": 2,
    "TWD": 2, "THB": 2, "ILS": 2, "AED": 2, "SAR": 2, "TRY": 2, "RON": 2, "BGN": 2, "MYR": 2, "PHP": 2,
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "IDR": 2,
    "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3,
}

# Default display locale per currency, when a tenant does not choose one.
DEFAULT_LOCALE = {"USD": "en-US", "EUR": "de-DE", "JPY": "ja-JP", "GBP": "en-GB", "CAD": "en-CA", "AUD": "en-AU"}

TENANT_ACTIVE = "active"
TENANT_SUSPENDED = "suspended"


@dataclass(frozen=True)
class Tenant:
    id: int
    slug: str
    name: str
    currency: str
    locale: str
    status: str
    contact_email: str | None
    theme_settings: Mapping[str, Any] = field(default_factory=dict)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status == TENANT_ACTIVE

    @property
    def currency_digits(self) -> int:
        return CURRENCY_DIGITS.get(self.currency, 2)


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued API token: the only time its plain text exists."""

    id: int
    tenant_id: int
    token: str
    prefix: str


@dataclass(frozen=True)
class ApiToken:
    id: int
    tenant_id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def tenant_from_row(row) -> Tenant:
    return Tenant(
        id=row.id,
        slug=row.slug,
        name=row.name,
        currency=row.currency,
        locale=row.locale,
        status=row.status,
        contact_email=row.contact_email,
        theme_settings=dict(row.theme_settings or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


