"""Shopify: per-tenant connections, signed webhooks, catalog sync, settings push/fetch.

May import origin.db / services / invalidation / queueing / tenancy and edge.tags;
never origin.web (the webhook intake in origin/web/asgi/webhook_intake.py and the seller API in
origin/web/seller/api/shopify.py call in here) nor workers
(tasks in workers/shopify_tasks.py call in here).

- ``crypto``       connection secrets sealed with a key derived from ZELLY_SECRET_KEY;
- ``connections``  connect / disconnect / look up a tenant's shop;
- ``webhooks``     HMAC check and intake (dedupe, enqueue);
- ``processing``   one webhook -> its effect (per topic), exactly once;
- ``catalog_writes`` order-safe upserts keyed by Shopify GID, deletes, purges;
- ``compliance``   customers/data_request, customers/redact, shop/redact;
- ``client``       Admin GraphQL client that honours the cost-based throttle;
- ``documents``    the GraphQL documents and their requested cost;
- ``sync`` / ``bulk`` / ``runs``  full, incremental and bulk catalog sync, run rows;
- ``shop_settings`` settings fetch, diff and push.
"""
