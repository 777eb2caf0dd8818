"""Outermost layer of the public app: request id, request metrics and the request span (observability.requests).

The layer is built with the app, before its services open (a served process
opens them at start-up), so it takes the process's ``Metrics`` and the trusted
proxies from the services on the first request. ``X-Request-Id`` is accepted
from ZELLY_TRUSTED_PROXIES (and loopback, like the SNI header: Caddy and the
edge run there) and generated otherwise.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from observability.requests import ObservedRequests
from origin.web.asgi.domain_guard import is_trusted_peer
from origin.web.asgi.responses import ASGIApp
from origin.web.context import SERVICES_KEY


class Observed:
    def __init__(self, app: ASGIApp, quart_app: Any) -> None:
        self.app = app
        self.quart_app = quart_app
        self._observed: ObservedRequests | None = None

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        observed = self._observed
        if observed is None:
            services = self.quart_app.extensions.get(SERVICES_KEY)
            if scope["type"] != "http" or services is None:  # the lifespan runs before the services exist
                await self.app(scope, receive, send)
                return
            trusts_peer = functools.partial(is_trusted_peer, trusted_proxies=services.settings.trusted_proxies)
            observed = self._observed = ObservedRequests(self.app, services.metrics, trusts_peer=trusts_peer)
        await observed(scope, receive, send)
