"""The daily rollup into backoffice.daily_tenant_aggregates equals the raw events."""

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from origin.analytics import queries
from origin.analytics.consumer import EventConsumer
from origin.analytics.queue import make_delivery
from origin.analytics.ranges import Range
from origin.analytics.rollup import do_rollup_day, next_run_after
from origin.analytics.tables import daily_tenant_aggregates
from tests.analytics.conftest import drain, make_store
from tests.analytics.test_pipeline import run_known_sequence


async def _aggregates(services) -> dict[int, dict]:
    async with services.db.connect() as conn:
        rows = (await conn.execute(sa.select(daily_tenant_aggregates))).mappings().all()
    return {row["tenant_id"]: dict(row) for row in rows}


async def test_the_daily_rollup_equals_the_raw_counts_and_reruns_replace(analytics):
    acme, nordic = await run_known_sequence(analytics)
    quiet, _ = await make_store(analytics, "quiet", "GBP")
    await drain(analytics)
    today = dt.datetime.now(dt.timezone.utc).date()

    written = await do_rollup_day(analytics, today)
    again = await do_rollup_day(analytics, today)

    assert (written, again) == (3, 3)
    stored = await _aggregates(analytics)
    for tenant in (acme, nordic):
        raw = await queries.summary(analytics.analytics, tenant.id, Range(today, today, "UTC"))
        row = stored[tenant.id]
        assert (row["visitors"], row["sessions"], row["page_views"], row["product_views"], row["add_to_carts"], row["purchases"]) == (
            raw["visitors"], raw["sessions"], raw["page_views"], raw["product_views"], raw["add_to_carts"], raw["orders"],
        )
        assert row["revenue"] == Decimal(raw["revenue"]) and row["day"] == today
    assert (stored[acme.id]["page_views"], stored[acme.id]["purchases"], stored[acme.id]["revenue"]) == (3, 3, Decimal("85.49"))
    assert stored[acme.id]["currency"] == "USD" and stored[nordic.id]["currency"] == "EUR"
    assert (stored[quiet.id]["page_views"], stored[quiet.id]["revenue"], stored[quiet.id]["currency"]) == (0, Decimal("0.00"), "GBP")


async def test_the_rollup_counts_only_its_utc_day(analytics):
    acme, _ = await make_store(analytics, "acme")
    day = dt.date(2026, 3, 14)
    events = [
        {"tenant_id": acme.id, "ts": dt.datetime(2026, 3, 14, hour, tzinfo=dt.timezone.utc).timestamp(),
         "event_id": f"e{hour}", "name": "page_view", "visitor_id": 1, "session_id": 1}
        for hour in (0, 12, 23)
    ] + [
        {"tenant_id": acme.id, "ts": dt.datetime(2026, 3, 15, 0, 0, 1, tzinfo=dt.timezone.utc).timestamp(),
         "event_id": "next", "name": "page_view", "visitor_id": 1, "session_id": 1},
    ]
    await EventConsumer(analytics.analytics, None).insert([make_delivery("1-0", events)])

    await do_rollup_day(analytics, day)

    assert (await _aggregates(analytics))[acme.id]["page_views"] == 3


def test_the_rollup_runs_ten_minutes_after_utc_midnight():
    now = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.timezone.utc)

    assert next_run_after(now) == dt.datetime(2026, 11, 26, 0, 10, tzinfo=dt.timezone.utc)
