"""The daily per-tenant rollup into ``backoffice.daily_tenant_aggregates`` (for the staff panel).

``do_rollup_day`` recomputes one UTC day for every tenant from the raw events
and replaces that day's rows in one transaction, so a re-run (or a late
redelivered event followed by a re-run) leaves the table equal to the raw
counts, never added twice. Tenants without events that day get a zero row,
so "no traffic" and "not computed" are distinguishable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from decimal import Decimal

import sqlalchemy as sa

from origin.analytics import queries
from origin.analytics.tables import daily_tenant_aggregates
from origin.tenancy.tables import tenants

log = logging.getLogger(__name__)

ROLLUP_DELAY = dt.timedelta(minutes=10)  # after midnight UTC, so the consumer has flushed the day's last batch


async def do_rollup_day(services, day: dt.date) -> int:
    """Recompute ``day`` (UTC) for every tenant; return the number of rows written."""
    totals = await queries.daily_totals(services.analytics, None, day)
    now = dt.datetime.now(dt.timezone.utc)
    async with services.db.begin() as conn:
        store_currencies = {row.id: row.currency for row in await conn.execute(sa.select(tenants.c.id, tenants.c.currency))}
        rows = []
        for tenant_id, currency in store_currencies.items():
            counts = totals.get(tenant_id, {})
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "day": day,
                    "visitors": counts.get("visitors", 0),
                    "sessions": counts.get("sessions", 0),
                    "page_views": counts.get("page_views", 0),
                    "product_views": counts.get("product_views", 0),
                    "add_to_carts": counts.get("add_to_carts", 0),
                    "purchases": counts.get("purchases", 0),
                    "revenue": counts.get("revenue", Decimal("0.00")),
                    "currency": counts.get("currency") or currency,
                    "computed_at": now,
                }
            )
        await conn.execute(sa.delete(daily_tenant_aggregates).where(daily_tenant_aggregates.c.day == day))
        if rows:
            await conn.execute(sa.insert(daily_tenant_aggregates), rows)
    return len(rows)


def next_run_after(now: dt.datetime) -> dt.datetime:
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    return midnight + ROLLUP_DELAY


async def run_daily_rollups(services, stop: asyncio.Event) -> None:
    """Roll up yesterday now (a process may have been down at midnight), then after every UTC midnight."""
    while not stop.is_set():
        yesterday = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
        try:
            written = await do_rollup_day(services, yesterday)
            log.info("analytics rollup: %s, %d tenants", yesterday, written)
        except Exception as error:  # ClickHouse or the database down: try again in a while, never crash the process
            log.warning("analytics rollup of %s failed (%s: %s); retrying in 5 min", yesterday, type(error).__name__, error)
            delay = 300.0
        else:
            now = dt.datetime.now(dt.timezone.utc)
            delay = (next_run_after(now) - now).total_seconds()
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except asyncio.TimeoutError:
            pass
