"""The Quart origin: tenancy, domains, catalog, orders, carts, Shopify, analytics, and the web layer by audience.

The map is docs/architecture.md; the direction of imports inside origin is the layers contract in pyproject.toml.

May import storefront/ (rendering), edge.tags (tag formats) and tls/ (domain
rules); never ops/. Domain packages never import origin.web.
"""
