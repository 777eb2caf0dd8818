"""Models shared by every resource: errors, pagination, prices, deletion receipts.

Request models mirror the catalog's simple per-field rules (types, lengths,
ranges, the currency's minor units), using the catalog's own limits, so one
request reports *every* bad field at once; the catalog (origin.catalog.inputs)
stays the authority and still checks everything, including the rules that span
fields (one option value per option name, no two variants alike, handle taken).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo
from pydantic_core import PydanticCustomError

from origin.catalog.inputs import CONTROL_CHARACTERS, MAX_PRICE, MAX_QUANTITY
from origin.catalog.queries import MAX_PAGE_SIZE

# Request models refuse unknown keys, so a typo ("prcie") is a 422, not a silent no-op.
STRICT = ConfigDict(extra="forbid")

# Validation context key: the authenticated tenant's currency minor units (parsing.validate_model sets it).
CURRENCY_DIGITS = "currency_digits"


def _within_currency_digits(value: Decimal, info: ValidationInfo) -> Decimal:
    digits = (info.context or {}).get(CURRENCY_DIGITS)
    if digits is not None and value != value.quantize(Decimal(1).scaleb(-digits)):
        raise ValueError(f"has more decimals than the store's currency allows ({digits})")
    return value


PriceIn = Annotated[
    Decimal,
    Field(ge=0, le=MAX_PRICE, allow_inf_nan=False, examples=["19.99"], description="a decimal string or number"),
    AfterValidator(_within_currency_digits),
]
# A decimal string with the currency's minor units ("19.99"; "1500" for JPY).
PriceOut = Annotated[str, Field(pattern=r"^\d+(\.\d+)?$", examples=["19.99"])]
Quantity = Annotated[int, Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY, strict=True)]
ResourceId = Annotated[int, Field(ge=1, le=2**63 - 1, strict=True)]
Text255 = Annotated[str, StringConstraints(max_length=255)]


def _strip_spaces_keeping_controls(value: str) -> str:
    # str.strip() also drops NEL (U+0085) and U+001C-U+001F, which count as whitespace to Python: a title
    # ending in one must reach the catalog's control-character check and be refused (422), not trimmed.
    start, end = 0, len(value)
    while start < end and value[start].isspace() and not CONTROL_CHARACTERS.match(value[start]):
        start += 1
    while end > start and value[end - 1].isspace() and not CONTROL_CHARACTERS.match(value[end - 1]):
        end -= 1
    if start == end:
        raise PydanticCustomError("string_too_short", "String should have at least {min_length} character", {"min_length": 1})
    return value[start:end]


Title = Annotated[str, StringConstraints(max_length=255), AfterValidator(_strip_spaces_keeping_controls)]
Timestamp = dt.datetime


class FieldProblemBody(BaseModel):
    path: str = Field(examples=["variants[0].price"])
    code: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[FieldProblemBody] | None = None


class ErrorBody(BaseModel):
    """An error: a stable code, a sentence to act on, and the offending field paths."""

    error: ErrorDetail


class PageQuery(BaseModel):
    model_config = STRICT

    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description=f"items per page, 1-{MAX_PAGE_SIZE}")
    cursor: str | None = Field(None, min_length=1, max_length=512, description="`next_cursor` of the previous page")


class Deleted(BaseModel):
    """The resource is gone."""

    id: int
    deleted: bool = True


def format_price(amount: Decimal | None, digits: int) -> str | None:
    """``Decimal('19.9')`` with 2 digits -> ``"19.90"``; JPY (0 digits) -> ``"1500"``."""
    if amount is None:
        return None
    return f"{amount.quantize(Decimal(1).scaleb(-digits)):f}"
