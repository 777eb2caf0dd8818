"""POST /events on the storefront's own host (the beacon; its script is
storefront/assets/zelly-analytics.js, served at /assets/ by the storefront).

First-party on purpose (issue 7): the script and its endpoint live on the
store's host, so blockers of third-party trackers leave them alone and no
cookie is needed. Always 202 for a well-formed batch, even when nothing is
kept (a bot, DNT / GPC), so a client cannot probe what we drop.
"""

from __future__ import annotations

from quart import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.analytics.events import MAX_BATCH, MAX_BODY_BYTES, parse_batch, too_many_events
from origin.analytics.intake import Shopper, accept_events
from origin.analytics.privacy import client_ip, refuses_tracking
from origin.errors import ErrorKind
from origin.json_input import JsonInputError, parse_json_document
from origin.web.asgi.host import request_host
from origin.web.context import current_services
from origin.web.storefront.site import resolver

blueprint = Blueprint("analytics_intake", __name__)

def shopper_from_request() -> Shopper:
    """The shopper behind the current request, for ``origin.analytics.emit`` calls in cart/checkout handlers."""
    settings = current_services().settings
    return Shopper(
        ip=client_ip(request.remote_addr, request.headers.get("X-Forwarded-For", ""), settings.trusted_proxies),
        user_agent=request.headers.get("User-Agent", ""),
        refuses_tracking=refuses_tracking(request.headers),
    )


@blueprint.post("/events")
async def receive_events() -> tuple[Response, int]:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _too_large(f"the body is {request.content_length} bytes; send at most {MAX_BODY_BYTES}")
    request.max_content_length = MAX_BODY_BYTES  # also bounds chunked bodies without a Content-Length
    try:
        body = await request.get_data(as_text=False)
    except RequestEntityTooLarge:
        return _too_large(f"the body is larger than {MAX_BODY_BYTES} bytes")
    if len(body) > MAX_BODY_BYTES:
        return _too_large(f"the body is {len(body)} bytes; send at most {MAX_BODY_BYTES}")
    services = current_services()
    # The storefront's own resolver: same LRU, same invalidation, same answer as the page the beacon runs on.
    # The Host was parsed (and a malformed one refused with a 400) by the outermost ASGI layer.
    store_host, site = await resolver().resolve(request_host(request.scope))
    if site is None or not site.tenant.is_active:
        raise AnalyticsError(AnalyticsErrorCode.UNKNOWN_STORE, "no store is served on this host", kind=ErrorKind.NOT_FOUND)
    tenant = site.tenant
    try:
        payload = parse_json_document(body, max_bytes=MAX_BODY_BYTES)
    except JsonInputError as error:
        raise AnalyticsError(AnalyticsErrorCode.INVALID_JSON, f"{error.message}; send an event object or an array of them") from None
    if isinstance(payload, list) and len(payload) > MAX_BATCH:
        return _too_large(too_many_events(len(payload)).message, AnalyticsErrorCode.TOO_MANY_EVENTS)
    events = parse_batch(payload, store_currency=tenant.currency)
    accepted = await accept_events(services, tenant.id, events, shopper_from_request(), store_host)
    response = jsonify({"accepted": accepted})
    response.headers["Cache-Control"] = "no-store"
    return response, 202


def _too_large(message: str, code: AnalyticsErrorCode = AnalyticsErrorCode.BODY_TOO_LARGE) -> tuple[Response, int]:
    response = jsonify({"error": {"code": code.value, "message": message}})
    response.headers["Cache-Control"] = "no-store"
    return response, 413
