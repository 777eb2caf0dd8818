"""Outermost layer of the internal app: /metrics, /livez and /readyz (observability.endpoints).

/readyz is ready when every store of ``Services.health`` answers; /metrics
serves the process's registry after the probes of origin/web/internal/probes.py.
The internal app's /healthz (the detailed report) stays as it is.
"""

from __future__ import annotations

from typing import Any, Callable

from observability.endpoints import HealthEndpoints
from origin.web.asgi.responses import ASGIApp
from origin.web.context import SERVICES_KEY
from origin.web.internal.probes import register_probes


class InternalHealth:
    def __init__(self, app: ASGIApp, quart_app: Any) -> None:
        self.app = app
        self.quart_app = quart_app
        self._endpoints: HealthEndpoints | None = None

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        endpoints = self._endpoints
        if endpoints is None:
            services = self.quart_app.extensions.get(SERVICES_KEY)
            if scope["type"] != "http" or services is None:  # the lifespan runs before the services exist
                await self.app(scope, receive, send)
                return
            register_probes(services.metrics, services)
            endpoints = self._endpoints = HealthEndpoints(self.app, services.metrics, readiness=services.health)
        await endpoints(scope, receive, send)
