"""POST /events on the storefront's own host (the beacon; its script is
storefront/assets/zelly-analytics.js, served at /assets/ by the storefront).

First-party on purpose (issue 7): the script and its endpoint live on the
store's host, so blockers of third-party trackers leave them alone and no
cookie is needed. Always 202 for a well-formed batch, even when nothing is
kept (a bot, DNT / GPC, a page on another site).

One implementation, two transports (issue 14, item 3): :func:`answer_beacon`
decides every answer (size, JSON, validation, privacy, queueing) from a
:class:`BeaconRequest`. The lean path, origin/web/asgi/beacon_intake.py, builds
that from the raw ASGI messages and answers most requests without Quart; the
Quart route here serves what the lean path passes on (a host whose store is not
in the resolver's in-process LRU yet: it resolves it, with I/O, and warms the
LRU). tests/analytics/test_beacon_paths.py holds them to the same answers.

Rows go through the app's :class:`~origin.analytics.batcher.RowBatcher`
(:func:`beacon_batcher`), started and flushed by :func:`batching` while the
app serves.

Per-IP and per-tenant limits: see ``RATE_LIMIT_HOOK`` below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncIterator

from quart import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from origin.analytics.batcher import RowBatcher
from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.analytics.events import MAX_BATCH, MAX_BODY_BYTES, parse_batch, too_many_events
from origin.analytics.intake import Shopper, accept_events
from origin.analytics.privacy import client_ip, refuses_tracking
from origin.analytics.queue import queue_for
from origin.errors import ErrorKind
from origin.json_input import JsonInputError, parse_json_document
from origin.services import Services
from origin.tenancy.resolution import TenantSite, platform_host
from origin.web.asgi.host import request_host
from origin.web.asgi.responses import json_bytes
from origin.web.context import SERVICES_KEY, current_services
from origin.web.errors import RETRY_AFTER_SECONDS, status_for
from origin.web.storefront.site import resolver

blueprint = Blueprint("analytics_intake", __name__)

BATCHER_KEY = "zelly.beacon_batcher"
Answer = tuple[int, dict[str, Any], list[tuple[str, str]]]  # status, JSON body, RateLimit-* headers


def shopper_from_request() -> Shopper:
    """The shopper behind the current request, for ``origin.analytics.emit`` calls in cart/checkout handlers."""
    settings = current_services().settings
    return Shopper(
        ip=client_ip(request.remote_addr, request.headers.get("X-Forwarded-For", ""), settings.trusted_proxies),
        user_agent=request.headers.get("User-Agent", ""),
        refuses_tracking=refuses_tracking(request.headers),
    )


@dataclass(frozen=True)
class BeaconRequest:
    """What the beacon reads of a request, whichever transport carried it."""

    body: bytes | None  # None: it grew past MAX_BODY_BYTES while arriving
    declared_length: int | None  # Content-Length, when sent and a number
    remote_addr: str
    forwarded_for: str
    user_agent: str
    refuses_tracking: bool  # DNT: 1 or Sec-GPC: 1


def beacon_batcher(app) -> RowBatcher:
    """The app's one batcher (shared by the lean path and the route), over the process's events queue."""
    batcher = app.extensions.get(BATCHER_KEY)
    if batcher is None:
        services = app.extensions[SERVICES_KEY]
        breaker = services.redis_breaker  # None on the embedded default: its queue is this process's memory
        batcher = app.extensions[BATCHER_KEY] = RowBatcher(
            queue_for(services), queue_down=lambda: breaker is not None and breaker.is_skipping
        )
    return batcher


async def batching() -> AsyncIterator[None]:
    """``app.while_serving``: batch while serving; at shutdown publish what waits, before services close."""
    batcher = beacon_batcher(current_app)
    batcher.start()
    yield
    await batcher.stop()


# Per-address and per-store limits (issue 13, item 7) are charged in answer_beacon, where both transports
# pass: the shopper's address and the tenant are known and nothing has been parsed yet.


async def answer_beacon(
    services: Services, batcher: RowBatcher, store_host: str, site: TenantSite | None, beacon: BeaconRequest
) -> Answer:
    """(status, JSON body) for one beacon request: the one implementation behind both transports."""
    try:
        if beacon.declared_length is not None and beacon.declared_length > MAX_BODY_BYTES:
            return _too_large(f"the body is {beacon.declared_length} bytes; send at most {MAX_BODY_BYTES}")
        if beacon.body is None:
            return _too_large(f"the body is larger than {MAX_BODY_BYTES} bytes")
        if site is None or not site.tenant.is_active:
            raise AnalyticsError(AnalyticsErrorCode.UNKNOWN_STORE, "no store is served on this host", kind=ErrorKind.NOT_FOUND)
        tenant = site.tenant
        settings = services.settings
        shopper = Shopper(
            ip=client_ip(beacon.remote_addr, beacon.forwarded_for, settings.trusted_proxies),
            user_agent=beacon.user_agent,
            refuses_tracking=beacon.refuses_tracking,
        )
        limits = services.rate_limits
        decision = await limits.take((limits.events_ip, f"ip:{shopper.ip}"), (limits.events_tenant, f"t{tenant.id}"))
        if not decision.allowed:
            message = f"too many requests; try again in {decision.retry_after_seconds} s"
            return 429, {"error": {"code": "rate_limited", "message": message}}, decision.headers()
        try:  # size and depth bounded (60,000 "[" is a 422, not a RecursionError; issue 13)
            payload = parse_json_document(beacon.body, max_bytes=MAX_BODY_BYTES)
        except JsonInputError as error:
            raise AnalyticsError(AnalyticsErrorCode.INVALID_JSON, f"{error.message}; send an event object or an array of them") from None
        if isinstance(payload, list) and len(payload) > MAX_BATCH:
            return _too_large(too_many_events(len(payload)).message, AnalyticsErrorCode.TOO_MANY_EVENTS)
        events = parse_batch(payload, store_currency=tenant.currency)
        store_hosts = (site.canonical_host, platform_host(settings, tenant.slug))
        accepted = await accept_events(
            services, tenant.id, events, shopper, store_host, store_hosts=store_hosts, sink=batcher.add
        )
    except AnalyticsError as error:
        return status_for(error), {"error": error.as_dict()}, []
    return 202, {"accepted": accepted}, []


def _too_large(message: str, code: AnalyticsErrorCode = AnalyticsErrorCode.BODY_TOO_LARGE) -> Answer:
    return 413, {"error": {"code": code.value, "message": message}}, []


def answer_headers(status: int, limit_headers: list[tuple[str, str]]) -> dict[str, str]:
    """Headers beside Content-Type on every beacon answer (both transports)."""
    headers = {"Cache-Control": "no-store", **dict(limit_headers)}
    if status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return headers


@blueprint.post("/events")
async def receive_events() -> tuple[Response, int]:
    declared = request.content_length
    body: bytes | None = None
    if declared is None or declared <= MAX_BODY_BYTES:
        request.max_content_length = MAX_BODY_BYTES  # also bounds chunked bodies without a Content-Length
        try:
            body = await request.get_data(as_text=False)
        except RequestEntityTooLarge:
            body = None
        if body is not None and len(body) > MAX_BODY_BYTES:
            body = None
    headers = request.headers
    beacon = BeaconRequest(
        body=body,
        declared_length=declared,
        remote_addr=request.remote_addr or "",
        forwarded_for=headers.get("X-Forwarded-For", ""),
        user_agent=headers.get("User-Agent", ""),
        refuses_tracking=refuses_tracking(headers),
    )
    # The storefront's own resolver: same LRU, same invalidation, same answer as the page the beacon runs on.
    # The Host was parsed (and a malformed one refused with a 400) by the outermost ASGI layer.
    store_host, site = await resolver().resolve(request_host(request.scope))
    status, payload, limit_headers = await answer_beacon(current_services(), beacon_batcher(current_app), store_host, site, beacon)
    # The raw layer's encoder (origin/web/asgi/responses.py), so both transports answer the same bytes.
    return Response(json_bytes(payload), status=status, content_type="application/json", headers=answer_headers(status, limit_headers)), status
