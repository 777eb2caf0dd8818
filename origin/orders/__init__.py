"""Orders: the orders table and its one write path.

Shopify's ``orders/*`` webhooks are the only writer today (through
``actions.upsert_external_order``); checkout becomes the second writer, through
its own action in ``actions.py``. models.py (frozen data), actions.py (writes
inside the caller's transaction), tables.py.

May import origin.db, origin.errors. Never origin.web, never origin.shopify
(Shopify calls in here, not the other way round).
"""
