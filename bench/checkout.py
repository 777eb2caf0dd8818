"""Order placement benchmark: POST /checkout/pay on one origin core, 32 concurrent buyers, zero oversell checked.

    python bench/checkout.py [--backend embedded|servers|both] [--runs 3] [--orders 3000] [--buyers 32] [--rate 320]

For each backend it builds a fresh store (migrations, one tenant, a flat shipping
rate, one product per run whose single variant is the *only* thing every buyer
buys: the hottest row there is) and, before the server starts, ``--orders`` +
``--sold-out`` ready checkouts per run (cart line, email, address, shipping
method set through the real actions). The variant's stock is ``--orders``, so the
last ``--sold-out`` buyers of each run must be refused.

Then ``hypercorn ops.asgi:app`` (one worker) serves under ``taskset -c 1`` and
this process, pinned to core 0, runs ``--buyers`` closed-loop buyers: each takes
the next checkout and posts the storefront's Pay form (signed cart cookie, CSRF
token, a fresh Idempotency-Key, ``manual`` payment), the same request a browser
sends. A placed order answers 303 to its signed status page; sold out, 409.
Latency is from send to answer. With ``--rate R`` the load is an open loop instead:
order i is due at i/R seconds, sent by one of the ``--buyers`` as soon as one is free,
and its latency counts from when it was due (a server falling behind shows in it). A
closed loop of 32 buyers cannot show "300 orders/s with p99 < 100 ms": by Little's law
its mean latency at 300/s is 32/300 s = 107 ms. A first run of each backend (same size)
warms the server up and is printed, not counted. Afterwards the database is read: orders ==
stock, stock == 0, sold-out answers == ``--sold-out``, each order's line one
unit, no other status. Each run also prints the server's CPU (its process tree's user +
system time from /proc) per answered request: on a shared machine it moves far less with
the load than orders/s. Results: docs/benchmarks.md. CPU per placement and per Pay request in one
process, without the server and the load generator: bench/checkout_cpu.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.storefront import environment, free_port, stop_server, wait_ready  # noqa: E402
from origin import db  # noqa: E402
from origin.cart.signing import cart_cookie_name, csrf_token, sign_cart_cookie  # noqa: E402
from origin.catalog.tables import variants  # noqa: E402
from origin.orders.tables import order_lines, orders  # noqa: E402
from origin.services import open_services  # noqa: E402
from origin.settings import Settings  # noqa: E402

SERVER_CORE = "1"
LOADER_CORE = 0
SLUG = "benchshop"
HOST = f"{SLUG}.localhost"


async def prepare(settings: Settings, runs: int, per_run: int, stock: int) -> tuple[int, list[tuple[int, list[str]]]]:
    """The tenant id and, per run, (variant id, checkout tokens)."""
    from ops.commands.migrate import migrate_all
    from origin.catalog.inputs import NewVariant
    from tests.checkout.builders import make_checkout, make_shipping_rate
    from tests.factories import make_product, make_tenant

    if settings.database_url:
        await db.create_mysql_databases(settings.database_url, settings.database_schema_prefix)
    await migrate_all(settings, echo=lambda *a: None)
    prepared = []
    async with open_services(settings, with_analytics=False) as services:
        if services.redis is not None:
            await services.redis.flushdb()
        tenant = await make_tenant(services, slug=SLUG, name="Bench Shop")
        rate = await make_shipping_rate(services, tenant.id, price="4.00")
        for run in range(runs):
            product = await make_product(services, tenant.id, variants=[NewVariant(price=Decimal("10.00"), options=["One"], inventory_quantity=stock)])
            variant_id = product.variants[0].id
            tokens: list[str] = []
            for start in range(0, per_run, 32):
                batch = [make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate["id"]) for _ in range(min(32, per_run - start))]
                tokens.extend(await asyncio.gather(*batch))
            prepared.append((variant_id, tokens))
        return tenant.id, prepared


def server_cpu_seconds(pid: int) -> float:
    """CPU (user + system) used so far by the server process and its descendants (hypercorn's worker).

    On a shared machine this is steadier than orders/s: it is what one placement costs the
    origin's core, whatever else waits for that core.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent and child not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(member, 0.0) for member in tree)


def start_server(settings: Settings, port: int):
    import subprocess

    command = ["taskset", "-c", SERVER_CORE, sys.executable, "-m", "hypercorn", "ops.asgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    log = open(settings.data_dir / "server.log", "wb")  # noqa: SIM115  (the server's own; read after a failure)
    env = environment(settings) | {"ZELLY_SMTP_PORT": str(settings.smtp_port)}
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


async def place_all(base: str, keyring, cookie_name: str, tenant_id: int, tokens: list[str], buyers: int, rate: float | None = None) -> dict:
    queue = list(reversed(tokens))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    placed_latencies: list[float] = []
    limits = httpx.Limits(max_connections=buyers, max_keepalive_connections=buyers)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120, headers={"Host": HOST, "Origin": f"http://{HOST}"}) as client:

        async def pay(token: str, due: float | None) -> None:
            form = {"csrf_token": csrf_token(keyring, tenant_id, token), "idempotency_key": f"bench-{uuid.uuid4().hex}", "payment_provider": "manual"}
            cookie = {"Cookie": f"{cookie_name}={sign_cart_cookie(keyring, tenant_id, token)}"}
            due = time.perf_counter() if due is None else due
            try:
                response = await client.post("/checkout/pay", data=form, headers=cookie)
                status = response.status_code
            except httpx.TimeoutException:
                status = 0  # no answer within the timeout: counted, reported, and fails the check
            elapsed = (time.perf_counter() - due) * 1000
            latencies.append(elapsed)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 303:
                placed_latencies.append(elapsed)

        async def buyer() -> None:  # closed loop: the next order as soon as the last one answered
            while queue:
                await pay(queue.pop(), None)

        slots = asyncio.Semaphore(buyers)

        async def scheduled(index: int, token: str) -> None:
            # Open loop: order ``index`` is due at started + index / rate whatever the answers so far, sent by one
            # of the ``buyers`` as soon as one is free; its latency counts from when it was due, so a wait for a
            # free buyer (the server falling behind) is in it (no coordinated omission).
            due = started + index / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            async with slots:
                await pay(token, due)

        started = time.perf_counter()
        if rate is None:
            await asyncio.gather(*(buyer() for _ in range(buyers)))
        else:
            await asyncio.gather(*(scheduled(index, token) for index, token in enumerate(tokens)))
        elapsed = time.perf_counter() - started
    placed_latencies.sort()
    latencies.sort()
    return {
        "elapsed": elapsed,
        "statuses": statuses,
        "orders_per_s": statuses.get(303, 0) / elapsed,
        "p50": statistics.median(placed_latencies) if placed_latencies else float("nan"),
        "p99": placed_latencies[min(len(placed_latencies) - 1, int(len(placed_latencies) * 0.99))] if placed_latencies else float("nan"),
        "all_p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


async def verify(settings: Settings, tenant_id: int, variant_id: int, stock: int, sold_out: int, result: dict) -> str:
    """Zero oversell: read back what the run wrote."""
    async with open_services(settings, with_analytics=False) as services:
        async with services.db.connect() as conn:
            left = (await conn.execute(sa.select(variants.c.inventory_quantity).where(variants.c.id == variant_id))).scalar_one()
            lines = (await conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(order_lines.c.quantity), 0))
                .where(order_lines.c.tenant_id == tenant_id, order_lines.c.variant_id == variant_id)
            )).one()
            numbers = (await conn.execute(sa.select(sa.func.count(sa.distinct(orders.c.number))).where(orders.c.tenant_id == tenant_id))).scalar_one()
            total_orders = (await conn.execute(sa.select(sa.func.count()).select_from(orders).where(orders.c.tenant_id == tenant_id))).scalar_one()
            # every order is written with its #number (none left without one by a failed step)
            unnumbered = (await conn.execute(
                sa.select(sa.func.count()).select_from(orders).where(orders.c.tenant_id == tenant_id, sa.not_(orders.c.number.like("#%")))
            )).scalar_one()
    problems = []
    if left != 0:
        problems.append(f"stock left {left}, expected 0")
    if (lines[0], int(lines[1])) != (stock, stock):
        problems.append(f"{lines[0]} order lines for {lines[1]} units, expected {stock}")
    if result["statuses"] != {303: stock, 409: sold_out}:
        problems.append(f"answers {result['statuses']}, expected {{303: {stock}, 409: {sold_out}}}")
    if numbers != total_orders:
        problems.append(f"{total_orders} orders but {numbers} distinct numbers")
    if unnumbered:
        problems.append(f"{unnumbered} orders without a #number")
    return "; ".join(problems) or f"ok: {stock} orders, stock 0, {sold_out} sold out, numbers unique"


async def run_backend(name: str, args) -> list[dict]:
    data_dir = Path(tempfile.mkdtemp(prefix="zelly-bench-checkout-"))
    settings = Settings(data_dir=data_dir, secret_key="bench-secret-key-0123456789")
    prefix = ""
    if name == "servers":
        prefix = f"zbench_{uuid.uuid4().hex[:6]}_"
        settings = settings.replace(database_url=args.mysql_url, database_schema_prefix=prefix, redis_url=args.redis_url)
    process = None
    results = []
    try:
        prepare_started = time.perf_counter()
        tenant_id, prepared = await prepare(settings, args.runs + 1, args.orders + args.sold_out, args.orders)
        print(f"# {name}: prepared {args.runs} + 1 (warm-up) x {args.orders + args.sold_out} checkouts in {time.perf_counter() - prepare_started:.0f} s", flush=True)
        async with open_services(settings, with_analytics=False) as services:
            keyring = services.keyring
        # The confirmation mails go to a loopback SMTP sink (as in `zelly dev`): a refused connection would
        # make the outbox sender retry and write its rows all run long, which is not what placement costs.
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Sink

        smtp = Controller(Sink(), hostname="127.0.0.1", port=free_port())
        smtp.start()
        settings = settings.replace(smtp_port=smtp.port)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = start_server(settings, port)
        await wait_ready(base)
        # Run 0 warms the server up (connection pools, compiled statements, first imports) and is not counted.
        for run, (variant_id, tokens) in enumerate(prepared):
            load_before = os.getloadavg()[0]
            cpu_before = server_cpu_seconds(process.pid)
            # the name the server reads: __Host-prefixed under the default https public scheme
            result = await place_all(base, keyring, cart_cookie_name(settings.public_scheme), tenant_id, tokens, args.buyers, args.rate)
            # per answer (placed or sold out): the server's CPU for the run over the requests it answered
            result["cpu_ms"] = (server_cpu_seconds(process.pid) - cpu_before) * 1000 / max(1, sum(result["statuses"].values()))
            result["load"] = (load_before, os.getloadavg()[0])
            result["check"] = await verify(settings, tenant_id, variant_id, args.orders, args.sold_out, result)
            result["run"] = run
            if run:
                results.append(result)
            print(
                f"| {name} | {run or 'warm-up'} | {result['orders_per_s']:.0f} | {result['p50']:.1f} | {result['p99']:.1f} | {result['all_p99']:.1f} "
                f"| {result['cpu_ms']:.2f} | {result['load'][0]:.1f}-{result['load'][1]:.1f} | {result['check']} |",
                flush=True,
            )
    finally:
        if process is not None:
            stop_server(process)
            smtp.stop()
            if args.show_server_log:
                print((data_dir / "server.log").read_text()[-5000:])
        if prefix:
            await db.drop_mysql_databases(args.mysql_url, prefix)
        shutil.rmtree(data_dir, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("embedded", "servers", "both"), default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--orders", type=int, default=3000, help="stock of the run's variant = orders expected")
    parser.add_argument("--sold-out", type=int, default=100, help="extra buyers who must be refused")
    parser.add_argument("--buyers", type=int, default=32)
    parser.add_argument(
        "--rate", type=float, metavar="ORDERS_PER_S",
        help="open loop: offer this many orders/s (at most --buyers in flight), latency from each order's due time; default: closed loop",
    )
    parser.add_argument("--show-server-log", action="store_true", help="print the end of the server's output")
    parser.add_argument("--mysql-url", default="mysql+aiomysql://root@127.0.0.1:3306/")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/4")
    args = parser.parse_args()
    if shutil.which("taskset") is None:
        sys.exit("needs taskset (util-linux)")
    os.sched_setaffinity(0, {LOADER_CORE})
    print(
        "| backend | run | orders/s | p50 ms | p99 ms | p99 incl. sold out | server CPU ms/request | load avg | check |\n|---|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    for backend in (("embedded", "servers") if args.backend == "both" else (args.backend,)):
        results = asyncio.run(run_backend(backend, args))
        print(
            f"| {backend} | median | {statistics.median(r['orders_per_s'] for r in results):.0f} | {statistics.median(r['p50'] for r in results):.1f} "
            f"| {statistics.median(r['p99'] for r in results):.1f} | {statistics.median(r['all_p99'] for r in results):.1f} "
            f"| {statistics.median(r['cpu_ms'] for r in results):.2f} | | |",
            flush=True,
        )


if __name__ == "__main__":
    main()
