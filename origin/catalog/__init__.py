"""Catalog: products, variants (up to three options), images, collections, inventory.

models.py (frozen data), inputs.py (validated input, and the External* inputs
an external catalog sends), queries.py (reads, scoped by tenant, keyset
pagination), actions.py (``do_*`` writes: one transaction, purges through
origin.invalidation's AfterCommit), external_sync.py (GID-keyed, order-safe
upserts and tombstones for an external catalog: Shopify calls these), tables.py,
errors.py. May import origin.db, origin.errors, origin.tenancy,
origin.invalidation, edge.tags; never origin.web, never origin.shopify.
"""
