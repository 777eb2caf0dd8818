"""create_app(settings) -> Quart: wiring only.

Two apps share one set of Services in a process:

- the public app (``ZELLY_ORIGIN_BIND``): storefront, seller API, Shopify
  webhooks, the analytics beacon and dashboard, a liveness-only /healthz;
- the internal app (``ZELLY_INTERNAL_BIND``): the TLS ask hook, /healthz with each
  store's state and each queue's backlog. It is
  never exposed to the internet. (The edge's purge and stats endpoints are the
  edge's own: edge/internal.py.)

Tests pass already-open ``services``; a served process lets the app open its
own at start-up and close them at shutdown.

Everything a request meets is listed here, in order (issue 10, item 1): the
ASGI layers in front of Quart (``PUBLIC_LAYERS``, ``INTERNAL_LAYERS``,
outermost first, origin/web/asgi/), then Quart's blueprints, the app-wide
request hooks (the storefront's 404 page, never caching a cookie-setting
response), and the lifecycle work each app runs while it serves
(``_serve_domains``, the storefront's invalidation listeners).
"""

from __future__ import annotations

import contextlib
from typing import Any, AsyncContextManager, Callable, Sequence

from quart import Quart

from origin.domains.serving import acquire_allow_list, release_allow_list
from origin.services import Services, open_services
from origin.settings import Settings
from origin.web.asgi.beacon_intake import BeaconIntake
from origin.web.asgi.domain_guard import DomainGuard
from origin.web.asgi.host import HostParse
from origin.web.asgi.internal_health import InternalHealth
from origin.web.asgi.observed import Observed
from origin.web.asgi.storefront_pages import StorefrontPages
from origin.web.asgi.tls_ask import AskHook
from origin.web.asgi.webhook_intake import WebhookIntake
from origin.web.internal import health
from origin.web.seller.panel import analytics_dashboard
from origin.web.storefront import beacon, cart, checkout, domain_probe, media
from origin.web import stripe_webhooks
from origin.web.storefront import pages as storefront
from origin.web.seller.api import v1 as api_v1
from origin.web.context import SERVICES_KEY
from origin.web.errors import register_error_handlers

# An ASGI layer: built as Layer(downstream, quart_app), it answers what it owns and passes the rest on.
Layer = Callable[[Any, Quart], Any]

# The public app's ASGI layers, outermost first; Quart is innermost. Every guard before every fast path.
PUBLIC_LAYERS: tuple[Layer, ...] = (
    Observed,  # request id (X-Request-Id), request metrics, the request span: around everything, refusals too
    HostParse,  # 400 for a malformed or repeated Host; stores the parsed host in the scope ("zelly.host")
    DomainGuard,  # 421 crossed SNI, 410 removed custom domain
    WebhookIntake,  # POST /webhooks/shopify, answered here alone
    BeaconIntake,  # POST /events for stores in the resolver's LRU (the rest: the beacon's Quart route)
    StorefrontPages,  # storefront pages, hits and misses, before Quart builds a request
)

# The internal app's ASGI layers.
INTERNAL_LAYERS: tuple[Layer, ...] = (
    InternalHealth,  # /metrics, /livez, /readyz
    AskHook,  # GET /tls/ask, answered here alone
)

# Blueprints of the public app, in registration order. Each feature adds its line.
PUBLIC_BLUEPRINTS = (
    health.liveness_blueprint,  # /healthz: "up", asking no store (the full report is internal)
    media.blueprint,
    domain_probe.blueprint,  # GET /.well-known/zelly/domain
    api_v1.blueprint,
    beacon.blueprint,
    analytics_dashboard.blueprint,
    storefront.blueprint,
    cart.blueprint,
    checkout.blueprint,  # /checkout, /orders/<id> (signed link), /cart/count.json
    stripe_webhooks.blueprint,  # POST /webhooks/stripe
)

# Blueprints of the internal app.
INTERNAL_BLUEPRINTS = (health.blueprint,)


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


def _wrap(app: Quart, layers: Sequence[Layer]) -> None:
    """Put ``layers`` in front of Quart's own ``asgi_app``, the first one outermost (starlette's build_middleware_stack)."""
    asgi = app.asgi_app
    for layer in reversed(layers):
        asgi = layer(asgi, app)
    app.asgi_app = asgi  # type: ignore[method-assign]


def _serve_domains(app: Quart) -> None:
    """While the app serves: hold the process's TLS allow-list (shared by both apps, refcounted)."""

    @app.before_serving
    async def start_allow_list() -> None:
        await acquire_allow_list(_services(app))

    @app.after_serving
    async def stop_allow_list() -> None:
        await release_allow_list(_services(app))


def _services(app: Quart) -> Services:
    return app.extensions[SERVICES_KEY]


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
    _serve_domains(app)
    app.while_serving(storefront.listeners)  # Host -> tenant and catalog-version invalidations from other processes
    app.while_serving(beacon.batching)  # the beacon's in-process row batcher: flushed before services close
    for blueprint in PUBLIC_BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_error_handler(404, storefront.not_found)  # unmatched paths: JSON on API paths, the shop's themed 404
    app.after_request(storefront.never_cache_cookies)  # a response that sets a cookie is never shared-cacheable
    _wrap(app, PUBLIC_LAYERS)
    return app


def create_internal_app(settings: Settings, *, services: Services | None = None) -> Quart:
    app = _base_app("zelly.internal", settings, services)
    _serve_domains(app)
    for blueprint in INTERNAL_BLUEPRINTS:
        app.register_blueprint(blueprint)
    _wrap(app, INTERNAL_LAYERS)
    return app
