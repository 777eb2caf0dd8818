"""Idempotency keys: one stored answer per (tenant, key), replayed on a retry.

Only the table lives here; the seller API's replay logic is
``origin/web/seller/api/framework/idempotency.py``. It is not in the web layer
because checkout's order creation will key its writes the same way.

May import origin.db only.
"""
