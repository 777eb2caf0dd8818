"""Shopify: per-tenant connections, signed webhooks, catalog sync, settings push/fetch.

May import origin.db / services / invalidation / queueing / tenancy / catalog / orders and edge.tags;
never origin.web (the webhook intake in origin/web/asgi/webhook_intake.py and the seller API in
origin/web/seller/api/shopify.py call in here) nor workers
(tasks in workers/shopify_tasks.py call in here).

- ``crypto``       connection secrets sealed with the keyring's key (origin/keyring.py);
- ``connections``  connect / disconnect / look up a tenant's shop;
- ``webhooks``     HMAC check and intake (dedupe, enqueue);
- ``processing``   one webhook -> its effect (per topic), exactly once;
- ``mapping``      Shopify documents -> origin.catalog.inputs' External* and origin.orders' ExternalOrder
                   (the writes are the catalog's, origin.catalog.external_sync, and the orders', origin.orders.actions);
- ``compliance``   customers/data_request, customers/redact, shop/redact;
- ``client``       Admin GraphQL client that honours the cost-based throttle;
- ``documents``    the GraphQL documents and their requested cost;
- ``sync`` / ``bulk`` / ``runs``  full, incremental and bulk catalog sync, run rows;
- ``sync_pages``   one page of either sync applied with its resume point (sync -> bulk -> sync_pages);
- ``tables``       connections, deliveries, runs, seen-sets, compliance requests, shop snapshots;
- ``shop_settings`` settings fetch, diff and push.
"""
