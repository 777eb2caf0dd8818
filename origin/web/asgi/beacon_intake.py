"""``POST /events`` (the analytics beacon) answered from the raw ASGI messages (issue 14, item 3).

A browser sends one event per request, and a Quart request and app context
cost more than parsing, validating and queueing that event, so this layer
builds the beacon's :class:`~origin.web.storefront.beacon.BeaconRequest` from
the scope and body and asks the same function the Quart route asks
(``answer_beacon``: size, JSON, validation, privacy, the app's in-process row
batcher). The answers are the route's, byte for byte in status and body
(tests/analytics/test_beacon_paths.py).

Passed on to Quart unchanged: another path or method (Quart's 405 with
``Allow``), no services yet, and a host the resolver's in-process LRU does not
know yet (the route resolves it, with I/O, and warms the LRU: the next request
is answered here). Only the LRU is read here, never the shared cache or the
database, so this layer adds no I/O of its own.

The Host arrives parsed (host.py) and already cleared by the guards (domain_guard.py).
"""

from __future__ import annotations

from typing import Any, Callable

from origin.analytics.events import MAX_BODY_BYTES
from origin.analytics.privacy import refuses_tracking
from origin.web.asgi.host import request_host
from origin.web.asgi.responses import DISCONNECTED, ASGIApp, read_body, send_json
from origin.web.context import SERVICES_KEY
from origin.web.storefront.beacon import BeaconRequest, answer_beacon, answer_headers, beacon_batcher
from origin.web.storefront.site import app_resolver

BEACON_PATH = "/events"


class BeaconIntake:
    def __init__(self, app: ASGIApp, quart_app: Any) -> None:
        self.app = app
        self.quart_app = quart_app

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["path"] != BEACON_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        services = self.quart_app.extensions.get(SERVICES_KEY)
        store_host, site = (None, None) if services is None else app_resolver(self.quart_app).cached(request_host(scope))
        if site is None:
            await self.app(scope, receive, send)  # unknown to the LRU (or not a store): the route resolves it
            return
        declared: int | None = None
        user_agent = forwarded_for = ""
        dnt = gpc = None
        for name, value in scope["headers"]:
            # First occurrence wins, as request.headers.get does in the route.
            if name == b"content-length" and declared is None:
                # As Werkzeug reads it for the route: digits are the length, anything else counts as 0.
                declared = int(value) if value.isdigit() and len(value) <= 4300 else 0  # int() refuses longer
            elif name == b"user-agent" and not user_agent:
                user_agent = value.decode("latin-1")
            elif name == b"x-forwarded-for" and not forwarded_for:
                forwarded_for = value.decode("latin-1")
            elif name == b"dnt" and dnt is None:
                dnt = value.decode("latin-1")
            elif name == b"sec-gpc" and gpc is None:
                gpc = value.decode("latin-1")
        body: bytes | None = None
        if declared is None or declared <= MAX_BODY_BYTES:
            body = await read_body(receive, MAX_BODY_BYTES)
            if body is DISCONNECTED:
                return  # the client left mid-body: nobody to answer
        client = scope.get("client")
        beacon = BeaconRequest(
            body=body,
            declared_length=declared,
            remote_addr=client[0] if client else "",
            forwarded_for=forwarded_for,
            user_agent=user_agent,
            refuses_tracking=refuses_tracking({"DNT": dnt or "", "Sec-GPC": gpc or ""}),
        )
        status, payload, limit_headers = await answer_beacon(services, beacon_batcher(self.quart_app), store_host, site, beacon)
        headers = [(name.lower().encode(), value.encode()) for name, value in answer_headers(status, limit_headers).items()
                   if name != "Cache-Control"]
        await send_json(send, status, payload, headers)  # send_json adds Cache-Control: no-store
