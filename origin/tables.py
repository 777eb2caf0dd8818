"""Every table of every domain, imported once, so ``origin.db.metadata`` holds them all.

Each domain declares its tables in ``origin/<domain>/tables.py``; a process that
only imports some domains registers only their tables. Alembic
(ops/migrations/env.py), the tests and the seed need the whole schema: they
import this module. It sits above the domains, never in the shared kernel
(``origin.db`` imports no domain).
"""

from origin import broadcast as broadcast_tables  # the change log (no-Redis pub/sub between processes)
from origin.analytics import tables as analytics_tables
from origin.catalog import tables as catalog_tables
from origin.checkout import tables as checkout_tables
from origin.customers import tables as customers_tables
from origin.db import metadata
from origin.idempotency import tables as idempotency_tables
from origin.orders import tables as orders_tables
from origin.outbox import tables as outbox_tables
from origin.shopify import tables as shopify_tables
from origin.tasks import tables as tasks_tables
from origin.tenancy import tables as tenancy_tables

MODULES = (
    tenancy_tables,
    catalog_tables,
    orders_tables,
    customers_tables,
    shopify_tables,
    analytics_tables,
    idempotency_tables,
    tasks_tables,
    checkout_tables,
    outbox_tables,
    broadcast_tables,
)

__all__ = ["MODULES", "metadata"]
