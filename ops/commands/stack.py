"""zelly stack: the production topology on this machine, one process per role (issue 19, item 1).

    shopper ─HTTPS─▶ Caddy ─▶ zelly edge ─▶ Caddy "origin pool" ─▶ zelly origin a, zelly origin b
                       │ (repo Caddyfile)      (round robin, retries, health checks)
                       └─ ask ─▶ Caddy "internal pool" ─▶ each origin's internal listener
    taskiq worker per queue, the three taskiq schedulers, zelly analytics consume
    on MariaDB + Redis, and ClickHouse when ZELLY_ANALYTICS_URL names one (chDB otherwise)

`zelly dev` is the same code in one process on the embedded stores; this runs
what the systemd units in ops/deploy/systemd run, as child processes of one
command (ops/child_processes.py): one Ctrl-C stops them front to back.

The load balancer between the edge and the origins is the same Caddy, given two
more servers through its admin API after it loaded the repo's Caddyfile: the
edge has one upstream (ZELLY_EDGE_UPSTREAM), as it has behind an internal load
balancer in production. A GET whose origin dies mid-request is retried on the
other one (Caddy retries GETs after a failed round trip, any method after a
failed connection); a POST already sent to a dying origin is not retried, since
it may have been acted on.

chDB lets one process open its data (docs/architecture.md, Data): on chDB the
store-events consumer holds it and the origins run ``--without-analytics`` (the
reports answer 503 there); set ZELLY_ANALYTICS_URL to a ClickHouse server to
have reports in the stack too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from ops.child_processes import CaddyChild, Child, ChildFailed, http_ready, start_tier, stop_tiers, watch_for_exits
from ops.commands.dev import DEMO_SLUGS
from ops.data_dir_lock import hold_data_dir
from ops.ports import caddy_binds, check_binds, listener_binds, refuse_a_client_of_our_listener
from ops.serve import shutdown_event
from origin.settings import ConfigurationError, Settings, redact_url
from tls.caddy import CaddyAdmin
from tls.caddy_process import CaddyProcess, options_from_settings

LOCAL_MARIADB_URL = "mysql+aiomysql://root@127.0.0.1:3306/"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
LOOPBACK_PROXIES = "127.0.0.1,::1"  # Caddy and the edge, on this machine: their X-Forwarded-For names the shopper

# One deployment per queue, as ops/deploy/systemd/zelly-worker@.service runs them (store-events is
# the analytics consumer's). The flags are the unit's: bounded stop, 16 tasks in flight.
WORKER_MODULES = ("shopify_webhook", "shopify_catalog_sync", "shopify_settings_push", "shopify_settings_fetch",
                  "email_outbox", "checkout_sweeps")
WORKER_FLAGS = ("--workers", "1", "--max-async-tasks", "16", "--wait-tasks-timeout", "2", "--shutdown-timeout", "2")
SCHEDULER_MODULES = ("shopify_catalog_sync", "email_outbox", "checkout_sweeps")

# The ports the stack picks itself (origin b, the two pools, the background processes' listeners) stay
# clear of every Settings default: 8004 is ZELLY_WORKER_INTERNAL_BIND's, and 8025, ZELLY_SMTP_PORT's, was
# the checkout_sweeps worker's when these started at 8020, so the outbox would have talked SMTP to an HTTP listener.
# Ten ports from here: six workers, three schedulers, the consumer (compose and the systemd examples use the same).
FIRST_WORKER_INTERNAL_PORT = 8030

# The whole stop, every tier at its worst (ops/child_processes.STOP_TIMEOUT_S each); then the watchdog exits.
STACK_DRAIN_BOUND_S = 100.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stack", help="run the production topology on this machine: Caddy, edge, two origins, workers, consumer (MariaDB + Redis)")
    parser.add_argument("--no-seed", action="store_true", help="do not seed the demo tenants on an empty database")
    parser.add_argument("--second-origin-bind", default="127.0.0.1:8010", help="origin b's public listener (a's is ZELLY_ORIGIN_BIND)")
    parser.add_argument("--second-internal-bind", default="127.0.0.1:8011", help="origin b's internal listener (a's is ZELLY_INTERNAL_BIND)")
    parser.add_argument("--pool-bind", default="127.0.0.1:8012", help="Caddy's load balancer over the origins' public listeners")
    parser.add_argument("--internal-pool-bind", default="127.0.0.1:8013", help="Caddy's load balancer over their internal listeners")
    parser.add_argument("--first-worker-internal-port", type=int, default=FIRST_WORKER_INTERNAL_PORT,
                        help="each worker, scheduler and the consumer gets its own internal listener (ZELLY_WORKER_INTERNAL_BIND), "
                             "on 127.0.0.1 from this port up")
    parser.set_defaults(handler=run_stack)


@dataclasses.dataclass(frozen=True)
class Topology:
    settings: Settings  # with the stack's defaults filled in
    origins: tuple[tuple[str, str, str], ...]  # (name, public bind, internal bind)
    pool_bind: str
    internal_pool_bind: str
    first_worker_internal_port: int = FIRST_WORKER_INTERNAL_PORT

    @property
    def worker_internal_binds(self) -> dict[str, str]:
        """Each process without an HTTP app (workers, schedulers, the consumer): its own /metrics, /livez, /readyz."""
        names = [f"worker {module}" for module in WORKER_MODULES] + [f"scheduler {module}" for module in SCHEDULER_MODULES]
        names.append("store-events consumer")
        return {name: f"127.0.0.1:{self.first_worker_internal_port + index}" for index, name in enumerate(names)}

    @property
    def log_dir(self) -> Path:
        return (self.settings.data_dir / "stack" / "logs").resolve()

    @property
    def uses_chdb(self) -> bool:
        return self.settings.effective_analytics_url.startswith("chdb://")


def stack_settings(settings: Settings, echo=print) -> Settings:
    """MariaDB and Redis on this machine where the variables name none; both must answer."""
    changes: dict[str, object] = {"data_dir": settings.data_dir.resolve()}
    if settings.uses_embedded_database:
        echo(f"stack: ZELLY_DATABASE_URL is empty; using {LOCAL_MARIADB_URL} (MariaDB on this machine)")
        changes["database_url"] = LOCAL_MARIADB_URL
    if not settings.redis_url:
        echo(f"stack: ZELLY_REDIS_URL is empty; using {LOCAL_REDIS_URL}")
        changes["redis_url"] = LOCAL_REDIS_URL
    if not settings.trusted_proxies:
        changes["trusted_proxies"] = tuple(LOOPBACK_PROXIES.split(","))
    settings = settings.replace(**changes)
    for variable, name, url, default_port in (
        ("ZELLY_DATABASE_URL", "MariaDB", settings.effective_database_url, 3306),
        ("ZELLY_REDIS_URL", "Redis", settings.redis_url, 6379),
    ):
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or default_port
        if not answers(host, port):  # as .ci/run checks them, before anything starts
            raise ConfigurationError(
                variable, f"{name} does not answer on {host}:{port} ({redact_url(url)}); start it, or point {variable} at one")
    return settings


def answers(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def child_environment(topology: Topology, **overrides: str) -> dict[str, str]:
    """This environment, with the stack's stores and the child's own addresses: each child reads Settings.from_env."""
    settings = topology.settings
    environment = dict(os.environ)
    environment.update(
        ZELLY_DATA_DIR=str(settings.data_dir),
        ZELLY_DATABASE_URL=settings.database_url,
        ZELLY_REDIS_URL=settings.redis_url,
        ZELLY_TRUSTED_PROXIES=",".join(settings.trusted_proxies),
        ZELLY_EDGE_UPSTREAM=f"http://{topology.pool_bind}",
        PYTHONUNBUFFERED="1",
    )
    environment.update(overrides)
    return environment


def zelly_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ops.cli", *args]


def taskiq_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "taskiq"), *args]


def build_children(topology: Topology) -> dict[str, list]:
    """Every process by tier, in start order."""
    settings, logs = topology.settings, topology.log_dir
    origins = []
    for index, (name, public_bind, internal_bind) in enumerate(topology.origins):
        flags = ["--without-analytics"] if topology.uses_chdb else []
        if index > 0:
            flags.append("--no-jobs")  # the periodic jobs (domain checks) run in exactly one origin
        origins.append(Child(
            name, zelly_command("origin", *flags),
            child_environment(topology, ZELLY_ORIGIN_BIND=public_bind, ZELLY_INTERNAL_BIND=internal_bind),
            logs / f"{name.replace(' ', '-')}.log", ready=http_ready(f"http://{internal_bind}/healthz"),
        ))
    options = options_from_settings(settings, upstream_bind=settings.edge_bind)
    # The ask reaches whichever origin is up, through the internal pool.
    options = dataclasses.replace(options, ask_url=f"http://{topology.internal_pool_bind}/tls/ask")
    caddy = CaddyChild("caddy", CaddyProcess(options, log_path=logs / "caddy.log"))
    edge = Child("edge", zelly_command("edge", "--workers", "1"), child_environment(topology), logs / "edge.log",
                 ready=http_ready(f"http://{settings.edge_internal_bind}/internal/edge/stats"))
    # One machine, many processes with an internal listener: each its own port (all on one would refuse the rest).
    internal = topology.worker_internal_binds

    def own_listener(name: str) -> dict[str, str]:
        return child_environment(topology, ZELLY_WORKER_INTERNAL_BIND=internal[name])

    workers = [Child(f"worker {module}", taskiq_command("worker", f"workers.{module}:broker", *WORKER_FLAGS),
                     own_listener(f"worker {module}"), logs / f"worker-{module}.log") for module in WORKER_MODULES]
    schedulers = [Child(f"scheduler {module}", taskiq_command("scheduler", f"workers.{module}:scheduler"),
                        own_listener(f"scheduler {module}"), logs / f"scheduler-{module}.log") for module in SCHEDULER_MODULES]
    consumer = Child("store-events consumer", zelly_command("analytics", "consume"), own_listener("store-events consumer"),
                     logs / "store-events-consumer.log", ready=http_ready(f"http://{internal['store-events consumer']}/livez"))
    return {"origins": origins, "caddy": [caddy], "edge": [edge], "workers": workers, "schedulers": schedulers,
            "consumer": [consumer]}


def pool_server(listen: str, upstreams: list[str]) -> dict:
    """A Caddy server (JSON config) balancing over ``upstreams``, retrying on the next one.

    The edge in front is a trusted proxy here, so the shopper's address in
    X-Forwarded-For and the original X-Forwarded-Proto pass through.
    """
    return {
        "listen": [listen],
        "automatic_https": {"disable": True},
        "trusted_proxies": {"source": "static", "ranges": ["127.0.0.1/32", "::1/128"]},
        "routes": [{"handle": [{
            "handler": "reverse_proxy",
            "upstreams": [{"dial": upstream} for upstream in upstreams],
            "load_balancing": {
                "selection_policy": {"policy": "round_robin"},
                # Within this long, a request whose origin refused or dropped it goes to the next one.
                "try_duration": "5s", "try_interval": "50ms", "retries": 3,
            },
            "health_checks": {
                "passive": {"fail_duration": "5s", "max_fails": 1},
                "active": {"uri": "/healthz", "interval": "1s", "timeout": "1s"},
            },
        }]}],
    }


async def add_origin_pools(topology: Topology) -> None:
    async with CaddyAdmin(topology.settings.caddy_admin_url) as admin:
        await admin.put_config("apps/http/servers/zelly_origin_pool",
                               pool_server(topology.pool_bind, [public for _, public, _ in topology.origins]))
        await admin.put_config("apps/http/servers/zelly_internal_pool",
                               pool_server(topology.internal_pool_bind, [internal for _, _, internal in topology.origins]))


def stack_topology(args: argparse.Namespace, settings: Settings) -> Topology:
    return Topology(
        settings=settings,
        origins=(("origin a", settings.origin_bind, settings.internal_bind),
                 ("origin b", args.second_origin_bind, args.second_internal_bind)),
        pool_bind=args.pool_bind, internal_pool_bind=args.internal_pool_bind,
        first_worker_internal_port=args.first_worker_internal_port,
    )


def stack_listeners(args: argparse.Namespace, topology: Topology) -> list[tuple[str, str, str]]:
    """Every address a process of the stack listens on: (the variable or flag that sets it, host:port, its value)."""
    settings = topology.settings
    return (
        listener_binds(settings, "origin_bind", "internal_bind", "edge_bind", "edge_internal_bind")
        + [("--second-origin-bind", args.second_origin_bind, args.second_origin_bind),
           ("--second-internal-bind", args.second_internal_bind, args.second_internal_bind),
           ("--pool-bind", args.pool_bind, args.pool_bind),
           ("--internal-pool-bind", args.internal_pool_bind, args.internal_pool_bind)]
        + [("--first-worker-internal-port", bind, str(topology.first_worker_internal_port))
           for bind in topology.worker_internal_binds.values()]
        + caddy_binds(settings)
    )


async def run_stack(args: argparse.Namespace, settings: Settings) -> int:
    with hold_data_dir(settings.data_dir, "stack"):
        settings = stack_settings(settings)
        topology = stack_topology(args, settings)
        listeners = stack_listeners(args, topology)
        # Nothing answers SMTP there yet, so the port looks free; the email outbox would reach our own listener.
        refuse_a_client_of_our_listener("ZELLY_SMTP_PORT", settings.smtp_host, settings.smtp_port, listeners)
        check_binds(listeners)
        await prepare_data(topology, seed=not args.no_seed)
        return await serve_topology(topology)


async def prepare_data(topology: Topology, *, seed: bool) -> None:
    """Migrations in a child (it opens chDB, which would otherwise stay locked by this process), then the demo seed."""
    from ops.seed import seed_demo_if_empty
    from origin.services import open_services

    migrate = await asyncio.create_subprocess_exec(*zelly_command("migrate"), env=child_environment(topology))
    if await migrate.wait() != 0:
        raise ChildFailed(f"zelly migrate failed (exit code {migrate.returncode}); see above")
    if seed:
        async with open_services(topology.settings, with_analytics=False) as services:
            await seed_demo_if_empty(services, echo=print)


async def serve_topology(topology: Topology) -> int:
    tiers = build_children(topology)
    stop = shutdown_event(drain_bound_s=STACK_DRAIN_BOUND_S)
    started: list[list] = []  # tiers in start order, so the stop goes in the reverse of how they depend
    watcher: asyncio.Task | None = None
    try:
        async with httpx.AsyncClient() as client:
            for key in ("origins", "caddy", "edge", "workers", "schedulers", "consumer"):
                started.append(tiers[key])
                starting = asyncio.create_task(start_tier(tiers[key], client))
                stopping = asyncio.create_task(stop.wait())
                await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if not starting.done():  # Ctrl-C during start-up
                    starting.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await starting
                    return 0
                starting.result()
                if key == "caddy":
                    await add_origin_pools(topology)
        print_urls(topology, tiers)
        watcher = asyncio.create_task(watch_for_exits([c for tier in started for c in tier if isinstance(c, Child)], _echo))
        await stop.wait()
        return 0
    finally:
        if watcher is not None:
            watcher.cancel()
        order = ("caddy", "edge", "origins", "schedulers", "workers", "consumer")
        await stop_tiers([tiers[key] for key in order if tiers[key] in started], _echo)
        _echo("stack: stopped")


def _echo(line: str) -> None:
    print(line, flush=True)


def print_urls(topology: Topology, tiers: dict[str, list]) -> None:
    settings = topology.settings
    lines = ["", "Zelly stack is up (the production topology, one process per role):"]
    for slug in DEMO_SLUGS:
        lines.append(f"  https       https://{slug}.{settings.platform_domain}:{settings.https_port}/")
    lines += [
        "              (trust the local CA: zelly tls root prints its certificate)",
        f"  seller API  https://{settings.platform_domain}:{settings.https_port}/api/v1/openapi.json",
        f"  edge        http://{settings.edge_bind}/  stats: http://{settings.edge_internal_bind}/internal/edge/stats",
        f"  origins     http://{topology.pool_bind}/ (Caddy's pool over "
        + ", ".join(f"{name} http://{public}/" for name, public, _ in topology.origins) + ")",
    ]
    for name, _, internal in topology.origins:
        lines.append(f"  health      http://{internal}/healthz  ({name})")
    lines += [
        f"  stores      {redact_url(settings.database_url)}  {redact_url(settings.redis_url)}  "
        f"{'chDB (held by the store-events consumer; reports answer 503 in the origins)' if topology.uses_chdb else redact_url(settings.analytics_url)}",
        "  processes   " + ", ".join(f"{child.name} ({child.pid})" for key in tiers for child in tiers[key]),
        f"  logs        {topology.log_dir}/",
        "  Ctrl-C stops everything, front to back.",
        "",
    ]
    print("\n".join(lines), flush=True)

