"""The event wire format and its validation (issue 7, "Event intake").

A body is one JSON object or an array of up to :data:`MAX_BATCH` of them::

    {"name": "page_view", "url": "<page URL>", "referrer": "<URL or empty>",
     "event_id": "<optional client id>", "props": {...}}

``props`` holds ``product_id``, ``variant_id``, ``quantity``, ``value`` (the
event's money value: a line total for add_to_cart, the order or line total for
purchase), ``currency`` and ``order_id`` where they apply. Anything else is
refused with the path of the offending field, so a theme developer sees which
event of a batch is wrong. Nothing of a refused batch is kept.

What a browser cannot do (issue 13, "numbers that cannot be forged"): send a
``purchase`` (refused with ``server_only_event``: purchases are recorded by the
server from the order, so revenue, orders and AOV cannot be forged from the
beacon), or choose a server event id. A client id is stored as
``b:<id>`` (:func:`beacon_event_id`), a namespace no server id uses (server ids
start with the event's kind: ``purchase:``, ``cart:``, ``checkout:``), so a
beacon row can never share a server row's ``event_id`` and the
ReplacingMergeTree dedupe cannot be used to overwrite one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.numbers import parse_bounded_int

EVENT_NAMES = ("page_view", "product_view", "add_to_cart", "checkout_started", "purchase")
SERVER_ONLY_EVENTS = frozenset({"purchase"})
BEACON_EVENT_NAMES = tuple(name for name in EVENT_NAMES if name not in SERVER_ONLY_EVENTS)
BEACON_ID_PREFIX = "b:"
SERVER_PURCHASE_ID_PREFIX = "purchase:"  # emit.emit_purchase's ids; the only rows the reports count as money
MAX_BATCH = 50
MAX_BODY_BYTES = 64 * 1024
MAX_URL = 2048
MAX_PATH = 1024
MAX_EVENT_ID = 64
MAX_ORDER_ID = 64
MAX_UTM = 128
MAX_QUANTITY = 10_000
MAX_VALUE = Decimal("1000000000")  # a billion in the store's currency: beyond that it is a typo or an attack
MAX_ID = 2**63 - 1
EVENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:\-]+$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
PROP_NAMES = ("product_id", "variant_id", "quantity", "value", "currency", "order_id")
PROP_SET = frozenset(PROP_NAMES)
EVENT_FIELDS = frozenset({"name", "url", "referrer", "event_id", "props"})
# The props an event of each name must carry: without them the numbers it feeds are meaningless.
REQUIRED_PROPS = {
    "page_view": (),
    "product_view": ("product_id",),
    "add_to_cart": ("product_id", "quantity"),
    "checkout_started": (),
    "purchase": ("value", "currency"),
}


class IncomingEvent(NamedTuple):
    """One validated event, before privacy and enrichment (see ``intake``).

    A NamedTuple, not a frozen dataclass: it is built 50 times per request and a
    frozen dataclass's ``__init__`` was a measurable share of the intake's time."""

    name: str
    path: str
    page_host: str
    referrer_host: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    event_id: str  # the stored id (a beacon's is b:<client id>); empty: the intake assigns one
    product_id: int = 0
    variant_id: int = 0
    quantity: int = 0
    value: Decimal = Decimal("0")
    currency: str = ""
    order_id: str = ""


def beacon_event_id(client_id: str) -> str:
    """The stored id of a beacon event: in the ``b:`` namespace, apart from every server-side id."""
    return BEACON_ID_PREFIX + client_id


def _invalid(message: str, field: str, code: AnalyticsErrorCode = AnalyticsErrorCode.INVALID_EVENT) -> AnalyticsError:
    return AnalyticsError(code, message, field=field)


def too_many_events(count: int) -> AnalyticsError:
    return AnalyticsError(
        AnalyticsErrorCode.TOO_MANY_EVENTS, f"a batch holds at most {MAX_BATCH} events, this one has {count}; split it"
    )


def parse_batch(payload: Any, *, store_currency: str) -> list[IncomingEvent]:
    """Validate a decoded JSON body; raise :class:`AnalyticsError` naming the first bad field."""
    items = payload if isinstance(payload, list) else [payload]
    if isinstance(payload, list) and not payload:
        raise AnalyticsError(AnalyticsErrorCode.EMPTY_BATCH, "the batch is empty; send at least one event")
    if len(items) > MAX_BATCH:
        raise too_many_events(len(items))
    prefix = (lambda i: f"[{i}].") if isinstance(payload, list) else (lambda i: "")
    return [parse_event(item, prefix(index), store_currency=store_currency) for index, item in enumerate(items)]


def parse_event(item: Any, at: str = "", *, store_currency: str) -> IncomingEvent:
    if not isinstance(item, dict):
        raise _invalid("each event is a JSON object with at least 'name' and 'url'", at.rstrip(".") or "body")
    unknown = sorted(item.keys() - EVENT_FIELDS) if not item.keys() <= EVENT_FIELDS else []
    if unknown:
        raise _invalid(f"unknown field {unknown[0]!r}; an event has name, url, referrer, event_id, props", f"{at}{unknown[0]}")
    name = item.get("name")
    if name in SERVER_ONLY_EVENTS:
        raise _invalid(
            f"{name} events are recorded by the store's server when the order is placed; the beacon cannot send them",
            f"{at}name",
            AnalyticsErrorCode.SERVER_ONLY_EVENT,
        )
    if name not in BEACON_EVENT_NAMES:
        raise _invalid(
            f"unknown event name {str(name)[:40]!r}; use one of {', '.join(BEACON_EVENT_NAMES)}",
            f"{at}name",
            AnalyticsErrorCode.UNKNOWN_EVENT,
        )
    page = _parse_url(item.get("url"), f"{at}url", required=True)
    referrer = _parse_url(item.get("referrer") or "", f"{at}referrer", required=False)
    event_id = item.get("event_id") or ""
    if not isinstance(event_id, str) or len(event_id) > MAX_EVENT_ID or (event_id and not EVENT_ID_PATTERN.match(event_id)):
        raise _invalid(f"event_id is at most {MAX_EVENT_ID} characters of letters, digits, '_', '-', '.', ':'", f"{at}event_id")
    props = item.get("props")
    props = {} if props is None else props
    if not isinstance(props, dict):
        raise _invalid("props is a JSON object", f"{at}props")
    unknown = sorted(props.keys() - PROP_SET) if not props.keys() <= PROP_SET else []
    if unknown:
        raise _invalid(f"unknown prop {unknown[0]!r}; props are {', '.join(PROP_NAMES)}", f"{at}props.{unknown[0]}")
    for required in REQUIRED_PROPS[name]:
        if props.get(required) in (None, ""):
            raise _invalid(f"a {name} event needs props.{required}", f"{at}props.{required}")
    values: dict[str, Any] = {}
    if "product_id" in props:
        values["product_id"] = _parse_int(props["product_id"], f"{at}props.product_id", 1, MAX_ID)
    if "variant_id" in props:
        values["variant_id"] = _parse_int(props["variant_id"], f"{at}props.variant_id", 1, MAX_ID)
    if "quantity" in props:
        values["quantity"] = _parse_int(props["quantity"], f"{at}props.quantity", 1, MAX_QUANTITY)
    if "value" in props:
        values["value"] = _parse_value(props["value"], f"{at}props.value")
    if "currency" in props:
        currency = props["currency"]
        if not isinstance(currency, str) or not CURRENCY_PATTERN.match(currency):
            raise _invalid("currency is a three-letter ISO 4217 code such as USD", f"{at}props.currency")
        if currency != store_currency:
            raise _invalid(f"this store sells in {store_currency}; send values in {store_currency}", f"{at}props.currency")
        values["currency"] = currency
    if "order_id" in props:
        order_id = props["order_id"]
        if not isinstance(order_id, (str, int)) or isinstance(order_id, bool) or not 0 < len(str(order_id)) <= MAX_ORDER_ID:
            raise _invalid(f"order_id is a string of at most {MAX_ORDER_ID} characters", f"{at}props.order_id")
        values["order_id"] = str(order_id)
    return IncomingEvent(
        name=name,
        path=page.path,
        page_host=page.host,
        referrer_host=referrer.host if referrer else "",
        utm_source=page.utm_source,
        utm_medium=page.utm_medium,
        utm_campaign=page.utm_campaign,
        event_id=beacon_event_id(event_id) if event_id else "",
        **values,
    )


@dataclass(frozen=True)
class PageUrl:
    host: str
    path: str
    utm_source: str
    utm_medium: str
    utm_campaign: str


@functools.lru_cache(maxsize=8192)
def _split_url(value: str) -> PageUrl | str:
    """The parts we keep of a URL, or why it is refused. Memoised: a batch (and a store's
    traffic) repeats the same few URLs, and parsing them was a third of the intake's time."""
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return f"{value[:80]!r} is not a URL"
    if parts.scheme not in ("http", "https") or not hostname:
        return f"{value[:80]!r} is not an absolute http(s) URL"
    query = parse_qs(parts.query) if "utm_" in parts.query else {}
    return PageUrl(
        host=hostname.lower(),
        path=(parts.path or "/")[:MAX_PATH],
        utm_source=_first(query, "utm_source"),
        utm_medium=_first(query, "utm_medium"),
        utm_campaign=_first(query, "utm_campaign"),
    )


def _parse_url(value: Any, field: str, *, required: bool) -> PageUrl | None:
    if not isinstance(value, str) or len(value) > MAX_URL:
        raise _invalid(f"{field.rsplit('.', 1)[-1]} is a URL of at most {MAX_URL} characters", field)
    if not value:
        if required:
            raise _invalid("url is the page's absolute URL (http or https)", field)
        return None
    page = _split_url(value)
    if isinstance(page, str):
        raise _invalid(page, field)
    return page


def _parse_int(value: Any, field: str, low: int, high: int) -> int:
    parsed = parse_bounded_int(value, low=low, high=high)
    if parsed is None:
        raise _invalid(f"{field.rsplit('.', 1)[-1]} is a whole number from {low} to {high}", field)
    return parsed


def _parse_value(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _invalid("value is a decimal amount such as \"19.99\"", field)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise _invalid("value is a decimal amount such as \"19.99\"", field) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_VALUE or amount.as_tuple().exponent < -4:
        raise _invalid(f"value is an amount from 0 to {MAX_VALUE} with at most 4 decimals", field)
    return amount


def _first(query: dict[str, list[str]], key: str) -> str:
    values = query.get(key)
    return values[0][:MAX_UTM] if values else ""
