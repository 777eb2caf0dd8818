"""The merchant's checkout rules: shipping rates, tax rates, discount codes (written by the seller API and the seed)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from origin.checkout.addresses import COUNTRIES
from origin.checkout.errors import CheckoutError, CheckoutErrorCode
from origin.checkout.tables import discounts, shipping_rates, tax_rates
from origin.db import utcnow
from origin.errors import ErrorKind
from origin.invalidation import transaction
from origin.services import Services

RULE_TABLES = {"shipping": shipping_rates, "taxes": tax_rates, "discounts": discounts}
DISCOUNT_CODE = re.compile(r"^[A-Z0-9_-]{2,64}$")
MAX_AMOUNT = Decimal("1000000000")


def _invalid(field: str, message: str) -> CheckoutError:
    return CheckoutError(CheckoutErrorCode.INVALID_RULE, message, field=field)


def _amount(values: Mapping[str, Any], field: str, *, required: bool = True) -> Decimal | None:
    raw = values.get(field)
    if raw is None and not required:
        return None
    try:
        amount = Decimal(str(raw))
    except InvalidOperation:
        raise _invalid(field, f"{field} must be a decimal number") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise _invalid(field, f"{field} must be from 0 to {MAX_AMOUNT}")
    return amount


def _countries(values: Mapping[str, Any]) -> str:
    raw = values.get("countries") or []
    if not isinstance(raw, list) or not all(isinstance(code, str) for code in raw):
        raise _invalid("countries", "countries is a list of ISO country codes")
    codes = [code.upper() for code in raw]
    for code in codes:
        if code not in COUNTRIES:
            raise CheckoutError(CheckoutErrorCode.UNKNOWN_COUNTRY, f"{code} is not a country this platform ships to", field="countries")
    return ",".join(dict.fromkeys(codes))


def shipping_values(values: Mapping[str, Any]) -> dict[str, Any]:
    kind = values.get("kind")
    if kind not in ("flat", "by_weight", "free_above"):
        raise _invalid("kind", "kind is flat, by_weight or free_above")
    name = str(values.get("name") or "").strip()
    if not name or len(name) > 255:
        raise _invalid("name", "name is 1 to 255 characters")
    min_subtotal = _amount(values, "min_subtotal", required=kind == "free_above")
    return {"name": name, "kind": kind, "price": _amount(values, "price"), "min_subtotal": min_subtotal, "countries": _countries(values)}


def tax_values(values: Mapping[str, Any]) -> dict[str, Any]:
    country = str(values.get("country_code") or "").upper()
    if country not in COUNTRIES:
        raise CheckoutError(CheckoutErrorCode.UNKNOWN_COUNTRY, "country_code is not a country this platform ships to", field="country_code")
    rate = _amount(values, "rate")
    if rate > 1:
        raise _invalid("rate", "rate is a fraction from 0 to 1 (0.19 for 19 %)")
    region = str(values.get("region") or "").strip()
    if len(region) > 64:
        raise _invalid("region", "region is at most 64 characters")
    return {
        "country_code": country, "region": region, "rate": rate,
        "is_inclusive": bool(values.get("is_inclusive", False)), "applies_to_shipping": bool(values.get("applies_to_shipping", False)),
    }


def _when(values: Mapping[str, Any], field: str) -> dt.datetime | None:
    raw = values.get(field)
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        moment = raw
    else:
        try:
            moment = dt.datetime.fromisoformat(str(raw))
        except ValueError:
            raise _invalid(field, f"{field} is an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise _invalid(field, f"{field} needs a time zone (e.g. 2026-12-01T00:00:00Z)")
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0)


def discount_values(values: Mapping[str, Any]) -> dict[str, Any]:
    code = str(values.get("code") or "").strip().upper()
    if not DISCOUNT_CODE.match(code):
        raise _invalid("code", "code is 2 to 64 letters, digits, - or _")
    kind = values.get("kind")
    if kind not in ("percentage", "fixed"):
        raise _invalid("kind", "kind is percentage or fixed")
    value = _amount(values, "value")
    if kind == "percentage" and not 0 < value <= 100:
        raise _invalid("value", "a percentage is more than 0 and at most 100")
    limit = values.get("usage_limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise _invalid("usage_limit", "usage_limit is a whole number of at least 1")
    starts_at, ends_at = _when(values, "starts_at"), _when(values, "ends_at")
    if starts_at and ends_at and ends_at <= starts_at:
        raise _invalid("ends_at", "ends_at must be after starts_at")
    return {"code": code, "kind": kind, "value": value, "usage_limit": limit, "starts_at": starts_at, "ends_at": ends_at}


VALIDATORS = {"shipping": shipping_values, "taxes": tax_values, "discounts": discount_values}


async def do_create_rule(services: Services, tenant_id: int, kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    table = RULE_TABLES[kind]
    row_values = VALIDATORS[kind](values)
    async with transaction(services) as (conn, effects):
        try:
            async with conn.begin_nested():
                result = await conn.execute(table.insert().values(tenant_id=tenant_id, created_at=utcnow(), updated_at=utcnow(), **row_values))
        except IntegrityError:
            raise CheckoutError(CheckoutErrorCode.DUPLICATE_RULE, "a rule for that code or place exists already", kind=ErrorKind.CONFLICT) from None
        return await select_rule(conn, tenant_id, kind, int(result.inserted_primary_key[0]))


async def select_rule(conn, tenant_id: int, kind: str, rule_id: int) -> dict[str, Any]:
    table = RULE_TABLES[kind]
    row = (await conn.execute(sa.select(table).where(table.c.tenant_id == tenant_id, table.c.id == rule_id))).first()
    if row is None:
        raise CheckoutError(CheckoutErrorCode.NOT_FOUND, "there is no such rule in this shop", kind=ErrorKind.NOT_FOUND)
    return dict(row._mapping)


async def select_rules(conn, tenant_id: int, kind: str) -> list[dict[str, Any]]:
    table = RULE_TABLES[kind]
    return [dict(row._mapping) for row in await conn.execute(sa.select(table).where(table.c.tenant_id == tenant_id).order_by(table.c.id))]


async def do_delete_rule(services: Services, tenant_id: int, kind: str, rule_id: int) -> None:
    table = RULE_TABLES[kind]
    async with transaction(services) as (conn, effects):
        deleted = await conn.execute(table.delete().where(table.c.tenant_id == tenant_id, table.c.id == rule_id))
        if deleted.rowcount != 1:
            raise CheckoutError(CheckoutErrorCode.NOT_FOUND, "there is no such rule in this shop", kind=ErrorKind.NOT_FOUND)
