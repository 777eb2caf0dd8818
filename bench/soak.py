"""Soak: `zelly stack` for N minutes at a steady mixed load; throughput, latency, errors, memory of every process.

    python bench/soak.py [--minutes 10] [--rate 10] [--warm-up 2] [--sample-seconds 15] [--redis redis://127.0.0.1:6379/13]
                         [--edge-cache-mb 8] [--origin-cache-mb 2] [--tracemalloc DIR]

Starts the production topology as `zelly stack` runs it (tests/stack/running.py:
its own data dir, MariaDB databases and Redis db, dropped afterwards), then sends
``--rate`` requests per second, open loop (a request is sent on schedule whether
or not the previous ones answered, so a slow stack shows up as latency, not as a
lower rate), all over HTTPS through Caddy, in this mix:

    browse   45 %  home, product and collection pages of the three demo stores (mostly edge hits)
    search   15 %  /search?q=<word><n>: a new query each time, so each one reaches an origin
    cart     10 %  POST /cart/add (a shopper starts a new cart every 20 adds), then GET /cart
    webhook  10 %  a signed Shopify products/update for one of 20 products, applied by the webhook worker
    events   20 %  POST /events, one page_view each, written to chDB by the store-events consumer

The per-address rate limits are lifted (every request comes from 127.0.0.1);
everything else is the stack's configuration. Every ``--sample-seconds`` it
reads the RSS of each process of the stack (a role's RSS includes its own
children: taskiq's worker process, granian's worker), and reports each role's
RSS after the warm-up and at the end, the growth between them and a verdict
(flat, levels off, or grows: see :func:`memory_verdict`). ``--edge-cache-mb`` and
``--origin-cache-mb`` shrink the bounded page caches so that this mix fills them
during the warm-up; at their defaults (256 and 32 MiB) a 20-minute run shows them
filling, not a leak. ``--tracemalloc DIR`` is for finding what grows (see
bench/tracemalloc_site). SIGTERM or Ctrl-C stops the soak and the whole stack.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRACEMALLOC_SITE = Path(__file__).resolve().parent / "tracemalloc_site"
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from origin.catalog.tables import collections, products, variants  # noqa: E402
from origin.services import open_services  # noqa: E402
from origin.tenancy.queries import select_tenant_by_slug  # noqa: E402
from tests.fakes.shopify.catalog import FakeCatalog, rest_product  # noqa: E402
from tests.fakes.shopify.webhooks import WebhookSender  # noqa: E402
from tests.shopify_harness import connect_through_fake  # noqa: E402
from tests.stack.running import PlatformClient, RunningStack, Shopper, descendants  # noqa: E402

MIX = (("browse", 45), ("search", 15), ("cart", 10), ("webhook", 10), ("events", 20))
ROLES = ("origin a", "origin b", "caddy", "edge", "worker shopify_webhook", "worker shopify_catalog_sync", "worker shopify_settings_push",
         "worker shopify_settings_fetch", "worker email_outbox", "worker checkout_sweeps", "scheduler shopify_catalog_sync",
         "scheduler email_outbox", "scheduler checkout_sweeps", "store-events consumer")
LIFTED_LIMITS = {f"ZELLY_RATE_LIMIT_{name}": "100000000/60" for name in (
    "EVENTS_IP", "EVENTS_TENANT", "CART_IP", "CART_TENANT", "WEBHOOKS_IP", "WEBHOOKS_TENANT", "API_IP")}
WORDS = ("mug", "shirt", "lamp", "tea", "bag", "cap", "sock", "bowl")


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def role_rss(stack: RunningStack) -> dict[str, int]:
    """KiB per role: the process the banner names plus its descendants."""
    return {role: rss_kib(pid) + sum(rss_kib(child) for child in descendants(pid))
            for role in ROLES for pid in [stack.pid_of(role)]}


class Load:
    def __init__(self, stack: RunningStack, catalog: dict, sender: WebhookSender, fake: FakeCatalog) -> None:
        self.stack, self.catalog, self.sender, self.fake = stack, catalog, sender, fake
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.browsers = {slug: Shopper(stack, f"{slug}.localhost") for slug in catalog}
        self.carts = [Shopper(stack, "acme.localhost") for _ in range(4)]
        self.cart_adds = [0] * len(self.carts)
        self.webhook_clock = dt.datetime.now(dt.timezone.utc)
        self.in_flight = 0
        self.counter = 0

    async def one(self, kind: str) -> None:
        self.counter += 1
        number = self.counter
        started = time.perf_counter()
        self.in_flight += 1
        try:
            status = await getattr(self, kind)(number)
            if not 200 <= status < 400:
                self.errors[kind].append(f"HTTP {status}")
        except Exception as error:  # the outcome under measurement: counted, not raised
            self.errors[kind].append(f"{type(error).__name__}: {error}")
        finally:
            self.in_flight -= 1
            self.latencies[kind].append(time.perf_counter() - started)

    async def browse(self, number: int) -> int:
        slug = random.choice(list(self.catalog))
        pages = self.catalog[slug]
        path = random.choice(["/"] + [f"/products/{handle}" for handle in pages["products"][:40]]
                             + [f"/collections/{handle}" for handle in pages["collections"]])
        return (await self.browsers[slug].get(path)).status_code

    async def search(self, number: int) -> int:
        return (await self.browsers["acme"].get(f"/search?q={random.choice(WORDS)}{number}")).status_code

    async def cart(self, number: int) -> int:
        index = number % len(self.carts)
        if self.cart_adds[index] >= 20:  # a new shopper: the old cart ages out of the cache by its TTL
            await self.carts[index].client.aclose()
            self.carts[index], self.cart_adds[index] = Shopper(self.stack, "acme.localhost"), 0
        shopper = self.carts[index]
        self.cart_adds[index] += 1
        added = await shopper.post("/cart/add", data={"variant_id": str(random.choice(self.catalog["acme"]["variants"])), "quantity": "1"})
        if added.status_code != 303:
            return added.status_code
        return (await shopper.get("/cart")).status_code

    async def webhook(self, number: int) -> int:
        gid = random.choice(list(self.fake.products))
        self.webhook_clock += dt.timedelta(milliseconds=1)
        product = self.fake.touch(gid, self.webhook_clock, title=f"Soak product {number}")
        return (await self.sender.send("products/update", rest_product(product))).status_code

    async def events(self, number: int) -> int:
        body = {"name": "page_view", "url": "https://acme.localhost/", "referrer": "", "event_id": f"soak-{uuid.uuid4().hex}"}
        return (await self.browsers["acme"].post("/events", json=body)).status_code

    async def close(self) -> None:
        for shopper in [*self.browsers.values(), *self.carts]:
            await shopper.client.aclose()
        await self.sender.http.client.aclose()


async def prepare(stack: RunningStack):
    """The demo stores' pages and variants, and acme connected to a (fake) Shopify shop with 20 products."""
    catalog: dict[str, dict] = {}
    async with open_services(stack.settings, with_analytics=False) as services:
        async with services.db.connect() as conn:
            for slug in ("acme", "nordic", "kyoto"):
                tenant = await select_tenant_by_slug(conn, slug)
                catalog[slug] = {
                    "products": list((await conn.execute(sa.select(products.c.handle).where(products.c.tenant_id == tenant.id).order_by(products.c.id))).scalars()),
                    "collections": list((await conn.execute(sa.select(collections.c.handle).where(collections.c.tenant_id == tenant.id))).scalars()),
                    "variants": list((await conn.execute(sa.select(variants.c.id).where(variants.c.tenant_id == tenant.id, variants.c.inventory_quantity > 0))).scalars()),
                }
            acme = await select_tenant_by_slug(conn, "acme")
        secret = f"whsec_{uuid.uuid4().hex}"
        await connect_through_fake(services, acme.id, shop_domain="acme-soak.myshopify.com", access_token="shpat_soak", webhook_secret=secret)
    fake = FakeCatalog()
    for index in range(20):
        fake.add_product(title=f"Soak product {index}")
    sender = WebhookSender(PlatformClient(stack), "/webhooks/shopify", shop_domain="acme-soak.myshopify.com", secret=secret)
    for product in fake.products.values():  # created once; the load then updates them
        response = await sender.send("products/create", rest_product(product))
        assert response.status_code == 200, response.text
    return catalog, sender, fake


async def run(args: argparse.Namespace) -> None:
    redis_client = aioredis.Redis.from_url(args.redis)
    await redis_client.flushdb()
    # Kept afterwards: the stack's logs (stack/logs) are what explains an error.
    directory = Path(tempfile.mkdtemp(prefix="zelly-soak-"))
    sizes = {variable: str(int(megabytes * 1024 * 1024)) for variable, megabytes in (
        ("ZELLY_EDGE_CACHE_BYTES", args.edge_cache_mb), ("ZELLY_ORIGIN_PAGE_CACHE_BYTES", args.origin_cache_mb)) if megabytes is not None}
    debug = {} if args.tracemalloc is None else {
        "PYTHONPATH": f"{TRACEMALLOC_SITE}{os.pathsep}{ROOT}", "SOAK_TRACEMALLOC_DIR": str(args.tracemalloc.resolve())}
    stack = RunningStack(directory, args.redis, **LIFTED_LIMITS, **sizes, **debug)
    # SIGTERM (or a Ctrl-C, which asyncio.run already turns into this) cancels the soak; the finally below then
    # stops the stack. Without it a SIGTERM killed this process alone and left the whole stack running.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    print("starting zelly stack ...", flush=True)
    # Shielded: a cancellation while the stack comes up must wait for it to be up (or to have failed) and then stop
    # it, not abandon a starting stack in its thread.
    starting = asyncio.ensure_future(asyncio.to_thread(stack.start))
    try:
        await asyncio.shield(starting)
        catalog, sender, fake = await prepare(stack)
        load = Load(stack, catalog, sender, fake)
        kinds = [kind for kind, weight in MIX for _ in range(weight)]
        duration = args.minutes * 60
        samples: list[tuple[float, dict[str, int]]] = []
        load_averages = [os.getloadavg()]
        print(f"load: {args.rate}/s for {args.minutes} min; load average {load_averages[0][0]:.2f}", flush=True)
        started = time.monotonic()
        next_sample = started
        tasks: set[asyncio.Task] = set()
        sent = 0
        while (now := time.monotonic()) - started < duration:
            if now >= next_sample:
                samples.append((now - started, await asyncio.to_thread(role_rss, stack)))
                load_averages.append(os.getloadavg())
                completed = sum(len(v) for v in load.latencies.values())
                print(f"  t={now - started:5.0f}s sent={sent} done={completed} errors={sum(len(v) for v in load.errors.values())} "
                      f"in flight={load.in_flight} load={os.getloadavg()[0]:.2f}", flush=True)
                next_sample += args.sample_seconds
            task = asyncio.create_task(load.one(random.choice(kinds)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
            await asyncio.sleep(max(0.0, started + sent / args.rate - time.monotonic()))
        elapsed = time.monotonic() - started
        await asyncio.gather(*tasks)
        samples.append((time.monotonic() - started, await asyncio.to_thread(role_rss, stack)))
        await load.close()
        report(args, load, samples, elapsed, load_averages, stack)
    finally:
        await asyncio.wait([starting])
        await asyncio.to_thread(stack.stop)
        await asyncio.to_thread(stack.drop_databases)
        await redis_client.flushdb()
        await redis_client.aclose()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def memory_verdict(warm_kib: int, middle_kib: int, end_kib: int, second_half_minutes: float) -> str:
    """Growth past the warm-up, told apart from RSS noise (the allocator moves by a MiB or two either way).

    flat: within the tolerance of the warm-up's RSS; levels off: it grew, but not in the second half of the
    measured time; grows: still growing in the second half (a rate that would not end is a leak, or a bound
    the run does not reach: the origins' ZELLY_ORIGIN_PAGE_CACHE_BYTES, the edge's ZELLY_EDGE_CACHE_BYTES).
    """
    tolerance = max(2 * 1024, warm_kib // 100)
    if end_kib - warm_kib <= tolerance:
        return "flat"
    if end_kib - middle_kib <= tolerance // 2:
        return "levels off"
    rate = (end_kib - middle_kib) / 1024 / second_half_minutes if second_half_minutes > 0 else float("nan")
    return f"GROWS {rate:.2f} MiB/min"


def report(args, load: Load, samples, elapsed: float, load_averages, stack: RunningStack) -> None:
    every = [value for values in load.latencies.values() for value in values]
    errors = sum(len(values) for values in load.errors.values())
    print(f"\n## Soak: {args.minutes} min at {args.rate} requests/s (open loop), zelly stack on MariaDB + Redis, chDB\n")
    print(f"{len(every)} requests in {elapsed:.0f} s = {len(every) / elapsed:.1f}/s; errors {errors}; "
          f"load average (1 min) {statistics.mean(a[0] for a in load_averages):.2f} mean, {max(a[0] for a in load_averages):.2f} max\n")
    print("| kind | requests | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|")
    for kind, _ in MIX:
        values = load.latencies[kind]
        print(f"| {kind} | {len(values)} | {percentile(values, 0.5) * 1000:.0f} | {percentile(values, 0.99) * 1000:.0f} | {len(load.errors[kind])} |")
    print(f"| all | {len(every)} | {percentile(every, 0.5) * 1000:.0f} | {percentile(every, 0.99) * 1000:.0f} | {errors} |")
    warm = next((rss for at, rss in samples if at >= args.warm_up * 60), samples[0][1])
    end = samples[-1][1]
    warm_at = next((at for at, _ in samples if at >= args.warm_up * 60), samples[0][0])
    middle_at = (warm_at + samples[-1][0]) / 2
    middle = next(rss for at, rss in samples if at >= middle_at)
    print(f"\n| process | RSS after {args.warm_up} min warm-up (MiB) | RSS at the end (MiB) | growth | verdict | every sample (MiB) |")
    print("|---|---:|---:|---:|---|---|")
    for role in ROLES:
        series = " ".join(f"{rss[role] / 1024:.0f}" for _, rss in samples)
        growth = (end[role] - warm[role]) / warm[role] * 100 if warm[role] else float("nan")
        verdict = memory_verdict(warm[role], middle[role], end[role], (samples[-1][0] - middle_at) / 60)
        print(f"| {role} | {warm[role] / 1024:.0f} | {end[role] / 1024:.0f} | {growth:+.1f} % | {verdict} | {series} |")
    for kind, messages in load.errors.items():
        if messages:
            print(f"\nerrors in {kind}: {sorted(set(messages))[:5]}")
    logs = stack.data_dir / "stack" / "logs"
    # taskiq restarts a worker process that died (a lost Redis stream or group, a crash): say so, it resets RSS too.
    restarts = {path.stem: path.read_text(errors="replace").count("is dead. Scheduling reload") for path in sorted(logs.glob("worker-*.log"))}
    print(f"\nworker process restarts: {sum(restarts.values())} {({k: v for k, v in restarts.items() if v}) or ''}")
    exits = [line for line in stack.text.splitlines() if "exited on its own" in line]
    print(f"processes that exited on their own: {exits or 'none'}")
    print(f"(samples every {args.sample_seconds:.0f} s; the stack's logs: {logs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=10, help="requests per second, all kinds together")
    parser.add_argument("--warm-up", type=float, default=2, help="minutes before memory growth is counted")
    parser.add_argument("--sample-seconds", type=float, default=15)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--edge-cache-mb", type=float, default=None,
                        help="the edge's memory tier (ZELLY_EDGE_CACHE_BYTES; default the stack's 256 MB): a small one fills "
                             "during the warm-up, so growth after it is not the cache filling to its bound")
    parser.add_argument("--origin-cache-mb", type=float, default=None,
                        help="each origin's rendered-page tier (ZELLY_ORIGIN_PAGE_CACHE_BYTES; default 32 MB, its product-page memo "
                             "half as much): 2 fills during a 5-minute warm-up of this mix (its searches are new pages)")
    parser.add_argument("--tracemalloc", type=Path, default=None, metavar="DIR",
                        help="debug: tracemalloc snapshots of both origins into DIR every minute (bench/tracemalloc_site; "
                             "slows them), compared with bench/tracemalloc_diff.py")
    try:
        asyncio.run(run(parser.parse_args()))
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("soak stopped before its end; the stack was stopped and its databases dropped", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
