"""Funnel and top-products (and the other seller reports) over 10 million generated events on chDB.

    python bench/analytics_queries.py [--events 10000000] [--tenants 3] [--repeat 5]

Generates the events inside chDB (INSERT ... SELECT FROM numbers(), ~10 s),
most of them in one tenant over 30 days (the worst case for that tenant's
queries), then times the real query functions of origin/analytics/queries.py
for a 30-day range: first on the parts as inserted (duplicates possible, FINAL
must merge at read time), then after OPTIMIZE ... FINAL (what background
merges converge to). Prints the median of --repeat runs per query, in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import clickhouse_connect  # noqa: E402

from origin.analytics import queries, schema  # noqa: E402
from origin.analytics.ranges import Range  # noqa: E402

START = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)
DAYS = 30


def generate(client, events: int, tenants: int) -> float:
    """Events spread over 30 days; tenant 1 holds (1 - 1/(2*tenants)) of them... roughly 5/6 with 3 tenants."""
    step_ms = DAYS * 86_400_000 // events
    names = "['page_view','page_view','page_view','product_view','product_view','add_to_cart','checkout_started','purchase']"
    started = time.perf_counter()
    client.command(
        f"""
        INSERT INTO events ({", ".join(schema.EVENT_COLUMNS)})
        SELECT
            if(number % (2 * {tenants}) < {tenants + 1}, 1, 2 + number % {max(tenants - 1, 1)}) AS tenant_id,
            toDateTime64('{START:%Y-%m-%d %H:%M:%S}', 3, 'UTC') + toIntervalMillisecond(number * {step_ms}),
            toString(generateUUIDv4(number)),
            {names}[1 + number % 8],
            1 + cityHash64(intDiv(number, 16)) % 400000,
            1 + cityHash64(intDiv(number, 8)) % 900000,
            concat('/products/', toString(number % 2000)),
            ['', 'www.google.com', 'l.instagram.com', 'news.ycombinator.com'][1 + number % 4],
            ['', 'newsletter', 'ads'][1 + number % 3], '', '',
            ['desktop', 'mobile', 'tablet'][1 + number % 3],
            if(number % 8 IN (3, 4, 5, 7), 1 + number % 2000, 0),
            0,
            if(number % 8 IN (5, 7), 1 + number % 3, 0),
            if(number % 8 IN (5, 7), toDecimal64(10 + number % 90, 2), toDecimal64(0, 2)),
            if(number % 8 IN (5, 7), 'USD', ''),
            if(number % 8 = 7, toString(number), '')
        FROM numbers({events})
        """
    )
    return time.perf_counter() - started


async def time_queries(client, repeat: int) -> dict[str, float]:
    window = Range(START.date(), START.date() + dt.timedelta(days=DAYS - 1), "UTC", "day")
    cases = {
        "funnel": lambda: queries.funnel(client, 1, window),
        "top_products": lambda: queries.top_products(client, 1, window, 10),
        "summary (incl. bounce rate)": lambda: queries.summary(client, 1, window),
        "timeseries by day": lambda: queries.timeseries(client, 1, window),
        "sources": lambda: queries.sources(client, 1, window, 10),
    }
    results = {}
    for name, run in cases.items():
        await run()  # warm caches
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            await run()
            timings.append((time.perf_counter() - started) * 1000)
        results[name] = statistics.median(timings)
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zelly-bench-chdb-") as path:
        client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
        await schema.migrate(client, 400)
        seconds = generate(client, args.events, args.tenants)
        tenant_rows = client.command("SELECT count() FROM events WHERE tenant_id = 1")
        print(f"generated {args.events:,} events in {seconds:.1f} s; tenant 1 holds {tenant_rows:,}")
        parts = client.command("SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'events' AND active")
        for label in (f"as inserted ({parts} parts)", "after OPTIMIZE FINAL (1 part)"):
            if label.startswith("after"):
                client.command("OPTIMIZE TABLE events FINAL")
            print(f"\n{label}: median of {args.repeat} runs, 30-day range, tenant 1")
            for name, ms in (await time_queries(client, args.repeat)).items():
                print(f"  {name:<28} {ms:8.1f} ms")
        client.close()


if __name__ == "__main__":
    asyncio.run(main())
