"""The numbers merchants read, one function per question; every query names the tenant.

All read ``events FINAL``: a redelivered event (same ``event_id``) may still
sit in a separate part until ClickHouse merges it, and FINAL collapses it at
read time, so counts are exact (issue 7: "never counted twice").
``do_not_merge_across_partitions_select_final`` keeps FINAL cheap: duplicates
can only share a partition, as the partition (month) derives from the sorting key's day.

Definitions (docs/analytics.md): a *visitor* is a daily visitor hash, a
*session* a visitor's run of events without a 30-minute gap, a *bounce* a
session with one page view and no add to cart, checkout or purchase, an
*order* a distinct ``order_id`` among purchase events, *revenue* the sum of
purchase values, AOV = revenue / orders. Money reads only server-side purchase
rows (:data:`PURCHASE`: written by origin/analytics/emit.py from placed orders,
ids ``purchase:<order>:<line>``); the beacon cannot send purchases, and a row
from before that rule, or any other id, is not money (issue 13). Anonymous rows (visitor 0: server
events for shoppers who refused tracking) count in revenue and orders only.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from origin.analytics import engine
from origin.analytics.events import SERVER_PURCHASE_ID_PREFIX
from origin.analytics.ranges import Range
from origin.analytics.schema import STEP_BITS

FUNNEL_STEPS = ("page_view", "product_view", "add_to_cart", "checkout_started", "purchase")
FINAL_SETTINGS = "SETTINGS do_not_merge_across_partitions_select_final = 1"
SCOPE = "tenant_id = {tenant_id:UInt64} AND ts >= {start_at:DateTime64(3, 'UTC')} AND ts < {end_at:DateTime64(3, 'UTC')}"
ORDER_KEY = "if(order_id = '', event_id, order_id)"
PURCHASE = f"name = 'purchase' AND startsWith(event_id, '{SERVER_PURCHASE_ID_PREFIX}')"
CENTS = Decimal("0.01")



def _parameters(tenant_id: int, window: Range, **extra: Any) -> dict[str, Any]:
    return {"tenant_id": tenant_id, "start_at": window.start_at, "end_at": window.end_at, **extra}


def money(value: Any) -> str:
    return str(Decimal(value or 0).quantize(CENTS, rounding=ROUND_HALF_UP))


def rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


async def summary(client, tenant_id: int, window: Range) -> dict[str, Any]:
    rows = await engine.query_rows(
        client,
        f"""
        SELECT
            uniqExactIf(visitor_id, visitor_id != 0),
            uniqExactIf(session_id, session_id != 0),
            countIf(name = 'page_view'),
            countIf(name = 'product_view'),
            countIf(name = 'add_to_cart'),
            countIf(name = 'checkout_started'),
            uniqExactIf({ORDER_KEY}, {PURCHASE}),
            sumIf(value, {PURCHASE})
        FROM events FINAL WHERE {SCOPE} {FINAL_SETTINGS}
        """,
        _parameters(tenant_id, window),
    )
    visitors, sessions, page_views, product_views, add_to_carts, checkouts, orders, revenue = rows[0]
    bounces = await _bounces(client, tenant_id, window)
    return {
        "visitors": visitors,
        "sessions": sessions,
        "page_views": page_views,
        "product_views": product_views,
        "add_to_carts": add_to_carts,
        "checkouts": checkouts,
        "orders": orders,
        "revenue": money(revenue),
        "average_order_value": money(Decimal(revenue) / orders) if orders else money(0),
        "bounces": bounces,
        "bounce_rate": rate(bounces, sessions),
    }


async def _bounces(client, tenant_id: int, window: Range) -> int:
    rows = await engine.query_rows(
        client,
        f"""
        SELECT countIf(page_views = 1 AND actions = 0) FROM (
            SELECT session_id,
                   countIf(name = 'page_view') AS page_views,
                   countIf(name IN ('add_to_cart', 'checkout_started', 'purchase')) AS actions
            FROM events FINAL WHERE {SCOPE} AND session_id != 0
            GROUP BY session_id
        ) {FINAL_SETTINGS}
        """,
        _parameters(tenant_id, window),
    )
    return rows[0][0]


async def timeseries(client, tenant_id: int, window: Range) -> list[dict[str, Any]]:
    """Visitors, sessions, page views, orders, revenue and AOV per day or hour in the merchant's zone."""
    bucket = "toStartOfDay(ts, {tz:String})" if window.interval == "day" else "toStartOfHour(ts, {tz:String})"
    rows = await engine.query_rows(
        client,
        f"""
        SELECT toUnixTimestamp({bucket}) AS bucket,
               uniqExactIf(visitor_id, visitor_id != 0),
               uniqExactIf(session_id, session_id != 0),
               countIf(name = 'page_view'),
               uniqExactIf({ORDER_KEY}, {PURCHASE}),
               sumIf(value, {PURCHASE})
        FROM events FINAL WHERE {SCOPE}
        GROUP BY bucket ORDER BY bucket {FINAL_SETTINGS}
        """,
        _parameters(tenant_id, window, tz=window.time_zone),
    )
    by_bucket = {row[0]: row[1:] for row in rows}
    series = []
    for start in window.buckets():
        visitors, sessions, page_views, orders, revenue = by_bucket.get(int(start.timestamp()), (0, 0, 0, 0, 0))
        series.append(
            {
                "bucket": start.isoformat(),
                "visitors": visitors,
                "sessions": sessions,
                "page_views": page_views,
                "orders": orders,
                "revenue": money(revenue),
                "average_order_value": money(Decimal(revenue) / orders) if orders else money(0),
            }
        )
    return series


async def top_pages(client, tenant_id: int, window: Range, limit: int = 10) -> list[dict[str, Any]]:
    rows = await engine.query_rows(
        client,
        f"""
        SELECT path, count() AS page_views, uniqExactIf(visitor_id, visitor_id != 0) AS visitors
        FROM events FINAL WHERE {SCOPE} AND name = 'page_view'
        GROUP BY path ORDER BY page_views DESC, path LIMIT {{limit:UInt32}} {FINAL_SETTINGS}
        """,
        _parameters(tenant_id, window, limit=limit),
    )
    return [{"path": path, "page_views": views, "visitors": visitors} for path, views, visitors in rows]


async def top_products(client, tenant_id: int, window: Range, limit: int = 10) -> list[dict[str, Any]]:
    """Per product: views, add-to-carts, purchases (order lines: ``emit_purchase`` writes one per product
    per order, so this is the orders containing it, without a costly distinct count), units, revenue."""
    rows = await engine.query_rows(
        client,
        f"""
        SELECT product_id,
               countIf(name = 'product_view') AS views,
               countIf(name = 'add_to_cart') AS add_to_carts,
               countIf({PURCHASE}) AS purchases,
               sumIf(quantity, {PURCHASE}) AS units,
               sumIf(value, {PURCHASE}) AS revenue
        FROM events FINAL WHERE {SCOPE} AND product_id != 0
            AND name IN ('product_view', 'add_to_cart', 'purchase')
        GROUP BY product_id ORDER BY views DESC, revenue DESC, product_id LIMIT {{limit:UInt32}} {FINAL_SETTINGS}
        """,
        _parameters(tenant_id, window, limit=limit),
    )
    return [
        {
            "product_id": product_id,
            "views": views,
            "add_to_carts": add_to_carts,
            "purchases": purchases,
            "units": units,
            "revenue": money(revenue),
            "view_to_purchase_rate": rate(purchases, views),
        }
        for product_id, views, add_to_carts, purchases, units, revenue in rows
    ]


async def sources(client, tenant_id: int, window: Range, limit: int = 10) -> dict[str, list[dict[str, Any]]]:
    """Sessions by the session's referrer host, and by UTM source / medium / campaign."""
    parameters = _parameters(tenant_id, window, limit=limit)
    referrers = await engine.query_rows(
        client,
        f"""
        SELECT referrer_host, uniqExact(session_id) AS sessions, uniqExact(visitor_id) AS visitors
        FROM events FINAL WHERE {SCOPE} AND session_id != 0
        GROUP BY referrer_host ORDER BY sessions DESC, referrer_host LIMIT {{limit:UInt32}} {FINAL_SETTINGS}
        """,
        parameters,
    )
    campaigns = await engine.query_rows(
        client,
        f"""
        SELECT utm_source, utm_medium, utm_campaign, uniqExact(session_id) AS sessions
        FROM events FINAL WHERE {SCOPE} AND session_id != 0 AND utm_source != ''
        GROUP BY utm_source, utm_medium, utm_campaign
        ORDER BY sessions DESC, utm_source, utm_medium, utm_campaign LIMIT {{limit:UInt32}} {FINAL_SETTINGS}
        """,
        parameters,
    )
    return {
        "referrers": [{"referrer": host or "(direct)", "sessions": s, "visitors": v} for host, s, v in referrers],
        "utm": [
            {"source": source, "medium": medium, "campaign": campaign, "sessions": s}
            for source, medium, campaign, s in campaigns
        ],
    }


async def devices(client, tenant_id: int, window: Range) -> list[dict[str, Any]]:
    rows = await engine.query_rows(
        client,
        f"""
        SELECT device, uniqExact(session_id) AS sessions, uniqExact(visitor_id) AS visitors
        FROM events FINAL WHERE {SCOPE} AND session_id != 0
        GROUP BY device ORDER BY sessions DESC, device {FINAL_SETTINGS}
        """,
        _parameters(tenant_id, window),
    )
    return [{"device": device, "sessions": s, "visitors": v} for device, s, v in rows]


async def funnel(client, tenant_id: int, window: Range) -> list[dict[str, Any]]:
    """Sessions reaching each step, with the rate from the first step and from the previous one.

    Reads ``session_steps`` (one row per session and quarter hour, see ``schema``), not the events.
    """
    bits = ", ".join(f"countIf(bitAnd(steps, {STEP_BITS[step]}) != 0)" for step in FUNNEL_STEPS)
    rows = await engine.query_rows(
        client,
        f"""
        SELECT {bits} FROM (
            SELECT session_id, groupBitOr(steps) AS steps
            FROM session_steps
            WHERE tenant_id = {{tenant_id:UInt64}}
              AND bucket >= {{start_at:DateTime('UTC')}} AND bucket < {{end_at:DateTime('UTC')}}
            GROUP BY session_id
        )
        """,
        _parameters(tenant_id, window),
    )
    counts = rows[0]
    steps = []
    for index, (step, sessions) in enumerate(zip(FUNNEL_STEPS, counts)):
        steps.append(
            {
                "step": step,
                "sessions": sessions,
                "conversion_from_start": rate(sessions, counts[0]) if index else (1.0 if sessions else 0.0),
                "conversion_from_previous": rate(sessions, counts[index - 1]) if index else (1.0 if sessions else 0.0),
            }
        )
    return steps


async def daily_totals(client, tenant_id: int | None, day: dt.date) -> dict[int, dict[str, Any]]:
    """Per-tenant totals of one UTC day, for the backoffice rollup (``rollup``); None = every tenant."""
    tenant_filter = "AND tenant_id = {tenant_id:UInt64}" if tenant_id is not None else ""
    rows = await engine.query_rows(
        client,
        f"""
        SELECT tenant_id,
               uniqExactIf(visitor_id, visitor_id != 0),
               uniqExactIf(session_id, session_id != 0),
               countIf(name = 'page_view'),
               countIf(name = 'product_view'),
               countIf(name = 'add_to_cart'),
               uniqExactIf({ORDER_KEY}, {PURCHASE}),
               sumIf(value, {PURCHASE}),
               anyIf(currency, currency != '')
        FROM events FINAL WHERE toDate(ts) = {{day:Date}} {tenant_filter}
        GROUP BY tenant_id ORDER BY tenant_id {FINAL_SETTINGS}
        """,
        {"day": day, "tenant_id": tenant_id},
    )
    return {
        row[0]: {
            "visitors": row[1],
            "sessions": row[2],
            "page_views": row[3],
            "product_views": row[4],
            "add_to_carts": row[5],
            "purchases": row[6],
            "revenue": Decimal(row[7]).quantize(CENTS),
            "currency": row[8],
        }
        for row in rows
    }
