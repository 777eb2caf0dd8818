"""The Quart origin: tenancy, catalog, orders, customers, Shopify, analytics, and the web layer.

May import storefront/ (rendering), edge.tags (tag formats) and tls/ (domain
rules); never ops/. Domain packages never import origin.web.
"""
