"""Orders: the order tables and their writes.

Two writers, one set of transitions: checkout places orders (origin.checkout.placement)
and Shopify's ``orders/*`` webhooks reconcile theirs (``actions.apply_external_order``);
after placement both move through ``lifecycle`` (paid, cancelled, fulfilled, refunded).
models.py (frozen data), records.py (reads, numbers, timeline), actions.py (Shopify's
orders, inside the caller's transaction), lifecycle.py, inventory.py, tables.py.

May import origin.db, origin.errors. Never origin.web, never origin.shopify
(Shopify calls in here, not the other way round).
"""
