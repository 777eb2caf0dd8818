"""Listing controls (sort, cursor, availability, price range) parsed from the query string.

Only these parameters are read, each validated; the parsed form (not the raw
query string) produces both the cache key and the page, so the two can never
disagree. Bad values get a 400 page saying what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Mapping
from urllib.parse import urlencode

from origin.catalog.inputs import MAX_PRICE
from origin.catalog.queries import SORTS
from origin.numbers import parse_bounded_int
from storefront.i18n import N_

# msgids: the page shows them in the shop's language (storefront/locales).
SORT_LABELS = {
    "manual": N_("Featured"),
    "newest": N_("Newest"),
    "price-asc": N_("Price, low to high"),
    "price-desc": N_("Price, high to low"),
    "title-asc": N_("Name, A to Z"),
    "title-desc": N_("Name, Z to A"),
}
CURSOR_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,512}$")
TRUE_VALUES = ("1", "on", "true", "yes")
FALSE_VALUES = ("", "0", "off", "false", "no")
MAX_QUERY_LENGTH = 200


class BadListingInput(ValueError):
    """A query parameter a shopper (or a crawler) got wrong: HTTP 400 with this message.

    ``message`` is a msgid with ``%(name)s`` placeholders, so the page can say it in
    the shop's language; ``str(error)`` is the English text.
    """

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params)
        self.message = message
        self.params = params


@dataclass(frozen=True)
class ListingParams:
    sort: str
    cursor: str | None = None
    available_only: bool = False
    price_min: Decimal | None = None
    price_max: Decimal | None = None

    def query(self, *, cursor: str | None = None, default_sort: str = "manual") -> list[tuple[str, str]]:
        """The canonical query pairs (sorted): for the cache key and for links."""
        pairs = []
        if self.available_only:
            pairs.append(("available", "1"))
        if cursor:
            pairs.append(("cursor", cursor))
        if self.price_max is not None:
            pairs.append(("price_max", str(self.price_max)))
        if self.price_min is not None:
            pairs.append(("price_min", str(self.price_min)))
        if self.sort != default_sort:
            pairs.append(("sort", self.sort))
        return sorted(pairs)

    def url(self, path: str, *, cursor: str | None = None, default_sort: str = "manual") -> str:
        pairs = self.query(cursor=cursor, default_sort=default_sort)
        return f"{path}?{urlencode(pairs)}" if pairs else path


def parse_listing(args: Mapping[str, str], *, sorts: tuple[str, ...], default_sort: str) -> ListingParams:
    sort = args.get("sort", default_sort) or default_sort
    if sort not in sorts:
        raise BadListingInput(N_("Unknown sort order %(sort)s. Choose one of: %(choices)s."), sort=repr(sort[:40]), choices=", ".join(sorts))
    cursor = args.get("cursor") or None
    if cursor is not None and not CURSOR_PATTERN.match(cursor):
        raise BadListingInput(N_("This page link is damaged. Go back to the first page of the list."))
    available = (args.get("available") or "").lower()
    if available not in TRUE_VALUES + FALSE_VALUES:
        raise BadListingInput(N_("The 'in stock only' filter takes 1 or 0."))
    price_min = _price(args.get("price_min"), N_("The minimum price must be a number, like 25 or 19.99."), N_("The minimum price must be between 0 and %(max)s."))
    price_max = _price(args.get("price_max"), N_("The maximum price must be a number, like 25 or 19.99."), N_("The maximum price must be between 0 and %(max)s."))
    if price_min is not None and price_max is not None and price_min > price_max:
        raise BadListingInput(N_("The minimum price is above the maximum price."))
    return ListingParams(sort=sort, cursor=cursor, available_only=available in TRUE_VALUES, price_min=price_min, price_max=price_max)


def _price(raw: str | None, not_a_number: str, out_of_range: str) -> Decimal | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        value = Decimal(raw.strip()[:32])
    except InvalidOperation:
        raise BadListingInput(not_a_number) from None
    if not value.is_finite() or value < 0 or value > MAX_PRICE:
        raise BadListingInput(out_of_range, max=MAX_PRICE)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def parse_search_query(args: Mapping[str, str]) -> str:
    query = " ".join((args.get("q") or "").split())
    if len(query) > MAX_QUERY_LENGTH:
        raise BadListingInput(N_("Search for at most %(count)s characters."), count=MAX_QUERY_LENGTH)
    return query


ALL_SORTS = tuple(sort for sort in SORTS if sort != "manual")  # /collections/all has no manual order


def collection_listing(handle: str, args: Mapping[str, str]) -> tuple[ListingParams, tuple[str, ...], str]:
    """(params, the sorts offered, the default sort) for /collections/<handle>."""
    sorts, default_sort = (ALL_SORTS, "newest") if handle == "all" else (SORTS, "manual")
    return parse_listing(args, sorts=sorts, default_sort=default_sort), sorts, default_sort


def parse_variant(args: Mapping[str, str]) -> int | None:
    raw = args.get("variant") or ""
    if not raw:
        return None
    variant_id = parse_bounded_int(raw, low=1)
    if variant_id is None:
        raise BadListingInput(N_("The variant in this address must be a number."))
    return variant_id


OPTION_FIELDS = ("option1", "option2", "option3")
MAX_OPTION_VALUE_LENGTH = 255


def parse_options(args: Mapping[str, str]) -> tuple[str | None, ...] | None:
    """The variant picker's choices without JavaScript (``?option1=M&option2=Oak``), or None."""
    if not any(name in args for name in OPTION_FIELDS):
        return None
    values = tuple(args.get(name) or None for name in OPTION_FIELDS)
    if any(value is not None and len(value) > MAX_OPTION_VALUE_LENGTH for value in values):
        raise BadListingInput(N_("An option in this address is too long."))
    return values


def parse_search(args: Mapping[str, str]) -> tuple[str, str | None]:
    query = parse_search_query(args)
    cursor = parse_listing({"cursor": args.get("cursor", "")}, sorts=("title-asc",), default_sort="title-asc").cursor
    return query, cursor


def canonical_query(path: str, args: Mapping[str, str]) -> list[tuple[str, str]] | None:
    """The query pairs a cacheable page's key includes, or None if ``path`` is no cacheable page.

    The one definition used by the handlers and by the ASGI fast path
    (origin/web/asgi/storefront_pages.py), so both always compute the same key.
    Raises BadListingInput for values the page would answer with a 400.
    """
    if path in ("/", "/sitemap.xml", "/robots.txt"):
        return []
    if path == "/search":
        query, cursor = parse_search(args)
        return [("q", query)] + ([("cursor", cursor)] if cursor else [])
    parts = path.split("/")
    if len(parts) != 3:
        return None
    _, section, handle = parts
    if section == "collections":
        params, _, default_sort = collection_listing(handle, args)
        return params.query(cursor=params.cursor, default_sort=default_sort)
    if section == "products":
        if parse_options(args) is not None:
            return None  # the handler answers with a redirect to ?variant=…, never from the cache
        variant_id = parse_variant(args)
        return [("variant", str(variant_id))] if variant_id is not None else []
    return None
