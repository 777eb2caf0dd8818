"""Catalog: products, variants (up to three options), images, collections, inventory.

models.py (frozen data), inputs.py (validated input), queries.py (reads, scoped
by tenant, keyset pagination), actions.py (``do_*`` writes: one transaction,
purge after commit), errors.py. May import origin.db, origin.errors,
origin.tenancy, origin.invalidation, edge.tags; never origin.web.
"""
