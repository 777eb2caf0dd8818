"""CPU per order placement in one process: what the origin's core pays, whatever else runs on the machine.

    python bench/checkout_cpu.py [--backend embedded|servers|both] [--orders 300] [--buyers 32] [--rounds 3]

bench/checkout.py measures orders/s over HTTP, which on a shared machine says as much
about the load average as about placement. This measures the process's CPU time
(``time.process_time``: every thread, so aiosqlite's too) for the same work, in one
process pinned to one core, with the task queue open as the origin runs it (embedded:
the in-memory broker sends every confirmation in this process, to an SMTP sink in
another process; servers: the send task goes to a Redis stream, and a worker elsewhere
would send it). Per round, on a fresh variant and fresh ready checkouts:

- ``place``: ``do_place_order`` by ``--buyers`` concurrent callers, then every mail sent
  (embedded): CPU per order, with the sender's share measured on its own (``mail``);
- ``pay``: (with the mails, as ``place``) the storefront's Pay form (signed cookie, CSRF token, Idempotency-Key) posted
  through the public ASGI app in process (httpx's ASGI transport, no sockets), the same
  placement function under it; minus the client's own CPU (the same client against a
  bare ASGI app answering 303), that is placement plus the request: Quart, form, cookie,
  CSRF, site lookup. The server (hypercorn) is not in it: bench/checkout.py's server CPU
  per request minus ``pay`` is hypercorn's share.

Also the SQL statements the process executed per order during ``place`` (placement's, and on the
embedded default the sender's; the commits and pool pre-pings are not statements here).
Medians over ``--rounds``; the load average is printed with each round.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.checkout import HOST, prepare  # noqa: E402
from bench.storefront import free_port  # noqa: E402
from origin import db  # noqa: E402
from origin.cart.signing import cart_cookie_name, csrf_token, sign_cart_cookie  # noqa: E402
from origin.services import open_services  # noqa: E402
from origin.settings import Settings  # noqa: E402


async def bare_app(scope, receive, send) -> None:
    """The client's own cost: an ASGI app that reads the body and answers 303, nothing else."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 303, "headers": [(b"location", b"/")]})
    await send({"type": "http.response.body", "body": b""})


async def post_all(app, keyring, cookie_name: str, tenant_id: int, tokens: list[str], buyers: int) -> tuple[float, dict[int, int]]:
    queue = list(reversed(tokens))
    statuses: dict[int, int] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}", headers={"Origin": f"http://{HOST}"}) as client:

        async def buyer() -> None:
            while queue:
                token = queue.pop()
                form = {"csrf_token": csrf_token(keyring, tenant_id, token), "idempotency_key": f"bench-{uuid.uuid4().hex}", "payment_provider": "manual"}
                response = await client.post("/checkout/pay", data=form, headers={"Cookie": f"{cookie_name}={sign_cart_cookie(keyring, tenant_id, token)}"})
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code not in (303, 409) and os.environ.get("BENCH_DEBUG"):
                    print(response.status_code, response.text[:500])

        started = time.process_time()
        await asyncio.gather(*(buyer() for _ in range(buyers)))
        return time.process_time() - started, statuses


async def place_all(services, tenant_id: int, tokens: list[str], buyers: int) -> tuple[float, dict[str, int]]:
    from origin.checkout.errors import CheckoutError
    from origin.checkout.placement import do_place_order

    queue = list(reversed(tokens))
    outcomes: dict[str, int] = {}

    async def buyer() -> None:
        while queue:
            token = queue.pop()
            try:
                await do_place_order(services, tenant_id, token, f"bench-{uuid.uuid4().hex}", "manual", store_host=HOST)
                outcome = "placed"
            except CheckoutError as error:
                outcome = error.code
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    started = time.process_time()
    await asyncio.gather(*(buyer() for _ in range(buyers)))
    return time.process_time() - started, outcomes


async def run_backend(name: str, args) -> list[dict]:
    from origin.app import create_app
    from workers.dispatch import open_task_queue

    data_dir = Path(tempfile.mkdtemp(prefix="zelly-bench-checkout-cpu-"))
    smtp_port = free_port()
    sink = subprocess.Popen(
        ["taskset", "-c", args.other_core, sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    settings = Settings(data_dir=data_dir, secret_key="bench-secret-key-0123456789", smtp_port=smtp_port, smtp_starttls="never")
    prefix = ""
    if name == "servers":
        prefix = f"zbench_{uuid.uuid4().hex[:6]}_"
        settings = settings.replace(database_url=args.mysql_url, database_schema_prefix=prefix, redis_url=args.redis_url)
    per_round = args.orders
    results = []
    try:
        # two checkouts sets per round (place, pay) plus one warm-up of each
        tenant_id, prepared = await prepare(settings, 2 * (args.rounds + 1), per_round, per_round)
        await asyncio.sleep(0.5)  # the sink is listening
        async with open_services(settings, with_analytics=False) as services:
            async with open_task_queue(settings, services) as task_queue:
                app = create_app(settings, services=services)
                statements = [0]

                def count(*_args) -> None:
                    statements[0] += 1

                sa.event.listen(services.db.sync_engine, "before_cursor_execute", count)
                profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not wall: the database shares the core
                for round_ in range(args.rounds + 1):
                    if profiler is not None and round_ == 1:
                        profiler.enable()
                    load = os.getloadavg()[0]
                    statements[0] = 0
                    _variant, place_tokens = prepared[2 * round_]
                    place_cpu, outcomes = await place_all(services, tenant_id, place_tokens, args.buyers)
                    mail_started = time.process_time()
                    await task_queue.wait_all()  # embedded: the confirmations still queued are sent here
                    mail_cpu = time.process_time() - mail_started
                    place_statements = statements[0]
                    _variant, pay_tokens = prepared[2 * round_ + 1]
                    pay_cpu, statuses = await post_all(app, services.keyring, cart_cookie_name(settings.public_scheme), tenant_id, pay_tokens, args.buyers)
                    pay_mail_started = time.process_time()
                    await task_queue.wait_all()
                    pay_cpu += time.process_time() - pay_mail_started
                    client_cpu, _ = await post_all(bare_app, services.keyring, cart_cookie_name(settings.public_scheme), tenant_id, pay_tokens, args.buyers)
                    if outcomes != {"placed": per_round} or statuses != {303: per_round}:
                        raise SystemExit(f"unexpected answers: {outcomes} {statuses}")
                    result = dict(
                        place=(place_cpu + mail_cpu) * 1000 / per_round, mail_tail=mail_cpu * 1000 / per_round,
                        pay=(pay_cpu - client_cpu) * 1000 / per_round, client=client_cpu * 1000 / per_round, load=load,
                        statements=place_statements / per_round,
                    )
                    if round_ == 0:
                        continue  # warm-up: imports, statement caches, template compilation
                    results.append(result)
                    print(
                        f"| {name} | {round_} | {result['place']:.2f} | {result['mail_tail']:.2f} | {result['pay']:.2f} | {result['client']:.2f} "
                        f"| {result['statements']:.1f} | {result['load']:.1f}-{os.getloadavg()[0]:.1f} |",
                        flush=True,
                    )
                if profiler is not None:
                    profiler.disable()
                    profiler.dump_stats(f"{args.profile}.{name}")
                    print(f"profile of rounds 1-{args.rounds}: {args.profile}.{name} (python -m pstats)", flush=True)
    finally:
        sink.terminate()
        sink.wait()
        if prefix:
            await db.drop_mysql_databases(args.mysql_url, prefix)
        shutil.rmtree(data_dir, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("embedded", "servers", "both"), default="both")
    parser.add_argument("--orders", type=int, default=300, help="placements per round (each through do_place_order and through Pay)")
    parser.add_argument("--buyers", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--core", default="1", help="the core this process is pinned to")
    parser.add_argument("--other-core", default="0", help="the SMTP sink's core")
    parser.add_argument("--mysql-url", default="mysql+aiomysql://root@127.0.0.1:3306/")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--profile", metavar="PATH", help="cProfile the measured rounds into PATH.<backend> (the CPU figures then include the profiler's)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {int(args.core)})
    print(
        "| backend | round | place ms CPU/order (incl. mail) | of it after the last placement (mail) | Pay request ms CPU/order | client ms (subtracted) | SQL statements/order (placement + sender) | load avg |\n"
        "|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    for backend in (("embedded", "servers") if args.backend == "both" else (args.backend,)):
        results = asyncio.run(run_backend(backend, args))
        print(
            f"| {backend} | median | {statistics.median(r['place'] for r in results):.2f} | {statistics.median(r['mail_tail'] for r in results):.2f} "
            f"| {statistics.median(r['pay'] for r in results):.2f} | | {statistics.median(r['statements'] for r in results):.1f} | |",
            flush=True,
        )


if __name__ == "__main__":
    main()
