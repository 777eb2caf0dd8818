"""create_app(settings) -> Quart: wiring only.

Two apps share one set of Services in a process:

- the public app (``ZELLY_ORIGIN_BIND``): storefront, seller API, customer
  auth, webhooks, the analytics beacon, /healthz;
- the internal app (``ZELLY_INTERNAL_BIND``): the TLS ask hook, purge and stats
  endpoints, /healthz. It is never exposed to the internet.

Tests pass already-open ``services``; a served process lets the app open its
own at start-up and close them at shutdown.
"""

from __future__ import annotations

import contextlib
from typing import AsyncContextManager, Callable, Sequence

from quart import Quart

from origin.services import Services, open_services
from origin.settings import Settings
from origin.web.integrations import shopify_webhooks
from origin.web.internal import health, tls_ask
from origin.web.seller.panel import analytics_dashboard
from origin.web.storefront import beacon, cart, domain_guard, media
from origin.web.storefront import pages as storefront
from origin.web.seller.api import v1 as api_v1
from origin.web.context import SERVICES_KEY
from origin.web.errors import register_error_handlers

# Blueprints of the public app, in registration order. Each feature adds its line.
# domain_guard first: its 421/410 checks run before the storefront resolves the tenant.
PUBLIC_BLUEPRINTS = (
    health.blueprint,
    media.blueprint,
    domain_guard.blueprint,
    api_v1.blueprint,
    shopify_webhooks.blueprint,
    beacon.blueprint,
    analytics_dashboard.blueprint,
    storefront.blueprint,
    cart.blueprint,
)

# Blueprints of the internal app.
INTERNAL_BLUEPRINTS = (health.blueprint, tls_ask.blueprint)


# Something a served process runs for its lifetime once its services are open
# (the task queue, the analytics consumer): given the services, an async context manager.
ProcessContext = Callable[[Services], AsyncContextManager]


def _wire_services(app: Quart, settings: Settings, services: Services | None, process_contexts: Sequence[ProcessContext]) -> None:
    if services is not None:
        app.extensions[SERVICES_KEY] = services
        return
    stack = contextlib.AsyncExitStack()

    @app.before_serving
    async def open_stores() -> None:
        opened = app.extensions[SERVICES_KEY] = await stack.enter_async_context(open_services(settings))
        for context in process_contexts:
            await stack.enter_async_context(context(opened))

    @app.after_serving
    async def close_stores() -> None:
        await stack.aclose()


def _base_app(
    name: str, settings: Settings, services: Services | None, process_contexts: Sequence[ProcessContext] = ()
) -> Quart:
    app = Quart(name)
    app.config.update(
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        JSON_SORT_KEYS=False,
        SECRET_KEY=None,  # cookies are signed with our own key derivation, not Quart's session
    )
    _wire_services(app, settings, services, process_contexts)
    register_error_handlers(app)
    return app


def create_app(
    settings: Settings, *, services: Services | None = None, process_contexts: Sequence[ProcessContext] = ()
) -> Quart:
    """The public app. ``process_contexts`` run only when the app opens its own services (a served process)."""
    app = _base_app("zelly.origin", settings, services, process_contexts)
    for blueprint in PUBLIC_BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app


def create_internal_app(settings: Settings, *, services: Services | None = None) -> Quart:
    app = _base_app("zelly.internal", settings, services)
    for blueprint in INTERNAL_BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app
