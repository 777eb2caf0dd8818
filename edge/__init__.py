"""The edge page cache in front of the origin, and the tag and key formats it shares with the origin.

Imports nothing from origin/: it receives the upstream (URL, httpx client or
ASGI app), a Redis client and a pub/sub ``subscribe`` callable.

    from edge.app import create_edge_app, wrap_origin
    from edge.config import EdgeConfig

    app = create_edge_app(EdgeConfig(...), "http://127.0.0.1:8000",
                          broadcast_subscribe=services.broadcast.subscribe,
                          redis=services.redis)              # ASGI app
    app = wrap_origin(origin_app, EdgeConfig(...), services.broadcast)  # zelly dev

Modules, one job each:

- tags        every cache tag and the purge message (shared with the origin)
- cache_keys  every cache key format, the origin's and the edge's (one module, issue 10)
- config      EdgeConfig, read once
- keys        request -> cache key or bypass reason (host/path/query normalization)
- policy      what may be stored and for how long (RFC 9111/5861/9213)
- store       in-process LRU bounded in bytes, per-tenant quota, purge indexes
- redis_tier  the shared Redis tier
- upstream    the origin over HTTP (httpx) or in-process ASGI
- proxy       hit / stale / single-flight miss / bypass
- purge       purge by tag, URL, host, tenant; the pub/sub subscriber
- internal    /internal/edge/purge and /internal/edge/stats
- stats       per-tenant hit/miss/stale/bypass/purge counters
- app         the ASGI app and its lifespan; create_edge_app, wrap_origin
- cloudflare  Cloudflare purge queue (dedupe, batches, 429 back-off)
"""
