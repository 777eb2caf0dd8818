"""Shipping addresses validated per country: required fields and the postal code's shape.

Only countries listed here can be shipped to: an unknown country is a clear 4xx, never a
silent guess. Postal code patterns follow each postal service's published format.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Mapping

from origin.checkout.errors import CheckoutError, CheckoutErrorCode


@dataclass(frozen=True)
class CountryRule:
    name: str
    postal_code: re.Pattern[str] | None  # None: the country has no postal codes
    needs_region: bool


COUNTRIES: dict[str, CountryRule] = {
    "US": CountryRule("United States", re.compile(r"^\d{5}(-\d{4})?$"), True),
    "CA": CountryRule("Canada", re.compile(r"^[A-Z]\d[A-Z] ?\d[A-Z]\d$"), True),
    "DE": CountryRule("Germany", re.compile(r"^\d{5}$"), False),
    "FR": CountryRule("France", re.compile(r"^\d{5}$"), False),
    "GB": CountryRule("United Kingdom", re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$"), False),
    "JP": CountryRule("Japan", re.compile(r"^\d{3}-?\d{4}$"), True),
    "NL": CountryRule("Netherlands", re.compile(r"^\d{4} ?[A-Z]{2}$"), False),
    "AT": CountryRule("Austria", re.compile(r"^\d{4}$"), False),
    "CH": CountryRule("Switzerland", re.compile(r"^\d{4}$"), False),
    "IT": CountryRule("Italy", re.compile(r"^\d{5}$"), False),
    "ES": CountryRule("Spain", re.compile(r"^\d{5}$"), False),
    "AU": CountryRule("Australia", re.compile(r"^\d{4}$"), True),
    "IE": CountryRule("Ireland", None, False),
}

MAX_FIELD = 255


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _invalid(field: str, message: str) -> CheckoutError:
    return CheckoutError(CheckoutErrorCode.INVALID_ADDRESS, message, field=field)


def parse_address(form: Mapping[str, object]) -> Address:
    """An Address from form or JSON fields, or a CheckoutError naming the first bad field."""
    values = {}
    for name in ("name", "line1", "line2", "city", "region", "postal_code", "country"):
        raw = form.get(name)
        value = "" if raw is None else str(raw).strip()
        if len(value) > MAX_FIELD:
            raise _invalid(name, f"{name.replace('_', ' ')} is too long (at most {MAX_FIELD} characters)")
        values[name] = value
    country = values["country"].upper()
    rule = COUNTRIES.get(country)
    if rule is None:
        raise CheckoutError(CheckoutErrorCode.UNKNOWN_COUNTRY, "we do not ship to that country", field="country")
    for required, label in (("name", "name"), ("line1", "street address"), ("city", "city")):
        if not values[required]:
            raise _invalid(required, f"enter your {label}")
    if rule.needs_region and not values["region"]:
        raise _invalid("region", f"enter your state, province or prefecture ({rule.name})")
    postal_code = values["postal_code"].upper()
    if rule.postal_code is not None and not rule.postal_code.match(postal_code):
        raise _invalid("postal_code", f"enter a valid postal code for {rule.name}")
    return Address(values["name"], values["line1"], values["line2"], values["city"], values["region"], postal_code, country)


def address_from_dict(stored: Mapping[str, str] | None) -> Address | None:
    if not stored:
        return None
    return Address(**{name: str(stored.get(name, "")) for name in ("name", "line1", "line2", "city", "region", "postal_code", "country")})
