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

SORT_LABELS = {
    "manual": "Featured",
    "newest": "Newest",
    "price-asc": "Price, low to high",
    "price-desc": "Price, high to low",
    "title-asc": "Name, A to Z",
    "title-desc": "Name, Z to A",
}
CURSOR_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,512}$")
TRUE_VALUES = ("1", "on", "true", "yes")
FALSE_VALUES = ("", "0", "off", "false", "no")
MAX_QUERY_LENGTH = 200


class BadListingInput(ValueError):
    """A query parameter a shopper (or a crawler) got wrong: HTTP 400 with this message."""


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
        raise BadListingInput(f"Unknown sort order {sort[:40]!r}. Choose one of: {', '.join(sorts)}.")
    cursor = args.get("cursor") or None
    if cursor is not None and not CURSOR_PATTERN.match(cursor):
        raise BadListingInput("This page link is damaged. Go back to the first page of the list.")
    available = (args.get("available") or "").lower()
    if available not in TRUE_VALUES + FALSE_VALUES:
        raise BadListingInput("The 'in stock only' filter takes 1 or 0.")
    price_min = _price(args.get("price_min"), "minimum")
    price_max = _price(args.get("price_max"), "maximum")
    if price_min is not None and price_max is not None and price_min > price_max:
        raise BadListingInput("The minimum price is above the maximum price.")
    return ListingParams(sort=sort, cursor=cursor, available_only=available in TRUE_VALUES, price_min=price_min, price_max=price_max)


def _price(raw: str | None, which: str) -> Decimal | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        value = Decimal(raw.strip()[:32])
    except InvalidOperation:
        raise BadListingInput(f"The {which} price must be a number, like 25 or 19.99.") from None
    if not value.is_finite() or value < 0 or value > MAX_PRICE:
        raise BadListingInput(f"The {which} price must be between 0 and {MAX_PRICE}.")
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def parse_search_query(args: Mapping[str, str]) -> str:
    query = " ".join((args.get("q") or "").split())
    if len(query) > MAX_QUERY_LENGTH:
        raise BadListingInput(f"Search for at most {MAX_QUERY_LENGTH} characters.")
    return query


ALL_SORTS = tuple(sort for sort in SORTS if sort != "manual")  # /collections/all has no manual order


def collection_listing(handle: str, args: Mapping[str, str]) -> tuple[ListingParams, tuple[str, ...], str]:
    """(params, the sorts offered, the default sort) for /collections/<handle>."""
    sorts, default_sort = (ALL_SORTS, "newest") if handle == "all" else (SORTS, "manual")
    return parse_listing(args, sorts=sorts, default_sort=default_sort), sorts, default_sort


def parse_variant(args: Mapping[str, str]) -> int | None:
    raw = args.get("variant") or ""
    if raw and (not raw.isdigit() or len(raw) > 18):
        raise BadListingInput("The variant in this address must be a number.")
    return int(raw) if raw else None


def parse_search(args: Mapping[str, str]) -> tuple[str, str | None]:
    query = parse_search_query(args)
    cursor = parse_listing({"cursor": args.get("cursor", "")}, sorts=("title-asc",), default_sort="title-asc").cursor
    return query, cursor


def canonical_query(path: str, args: Mapping[str, str]) -> list[tuple[str, str]] | None:
    """The query pairs a cacheable page's key includes, or None if ``path`` is no cacheable page.

    The one definition used by the handlers and by the ASGI fast path
    (origin/web/asgi/page_hits.py), so both always compute the same key.
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
        variant_id = parse_variant(args)
        return [("variant", str(variant_id))] if variant_id is not None else []
    return None
