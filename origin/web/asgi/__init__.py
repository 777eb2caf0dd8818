"""The raw-ASGI layers in front of Quart, composed in one place: origin/app.py (issue 10, item 1).

Each module is one layer: a class built as ``Layer(downstream, quart_app)`` that
answers what it owns from the ASGI messages and passes everything else on.
origin/app.py lists them outermost first and wraps ``Quart.asgi_app`` with them
(like starlette's ``build_middleware_stack``); no blueprint touches ``asgi_app``.

Public app::

    HostParse ─▶ DomainGuard ─▶ WebhookIntake ─▶ BeaconIntake ─▶ StorefrontPages ─▶ Quart
    400 bad Host  421 / 410      POST /webhooks/   POST /events   storefront
    (parsed once, (every guard   shopify (alone)   (LRU-known     pages, hits
     scope key)    before every                     stores; same   and misses
                   fast path)                       answers as     (same answers
                                                    the route)     as the routes)

Internal app::

    AskHook ─▶ Quart
    GET /tls/ask (alone)

The request's parsed Host lives in the scope under :data:`host.HOST_SCOPE_KEY`
(``"zelly.host"``): the normal form from tls.hostnames.normalize_host, computed
once by HostParse and read by the guard, the page hits, tenant resolution
(origin/web/storefront/site.py), the seller API host check and the beacon.

Raw responses (bodies, JSON errors in the API's ``{"error": {...}}`` shape, the
platform's HTML error pages) are written by one module, :mod:`responses`.

May import origin's domains, origin.web's storefront helpers (page cache,
resolver) and tls; nothing imports this package but origin/app.py and the
handlers that read the parsed Host.
"""
