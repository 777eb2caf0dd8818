"""Benchmark: /tls/ask latency under a flood of random names (issue 4: p99 under 5 ms).

    python bench/tls_ask.py [--domains 5000] [--seconds 5] [--connections 1 4 16]

The internal app runs under hypercorn in one process (one core at most), on
the embedded store in a temporary directory, with ``--domains`` active custom
domains and a tenant per 10 domains. wrk (one thread) asks as fast as the
server answers over 1, 4 and 16 keep-alive loopback connections: 80 % fresh
random names (never repeated, so the negative cache never helps), 10 % garbage
(IPs, over-long, bad characters) and 10 % allowed names. Then the in-process
cost of the decision alone.

Bounded: ``--seconds`` per row; it stops the server it started. Needs wrk
(the Python load generators tried first topped out near 500 requests/s, below
what the server answers).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WRK_SCRIPT = """
local allowed = {}
for line in io.lines(os.getenv("ASK_ALLOWED")) do allowed[#allowed + 1] = line end
local garbage = {"127.0.0.1", "10.1", "%5B::1%5D", string.rep("a", 300) .. ".com", "bad_name.example",
                 "%2A.example.com", "x..y", ""}
local counter = 0
math.randomseed(4)
local function label(n)
  local t = {}
  for i = 1, n do local c = math.random(0, 35); t[i] = string.char(c < 10 and 48 + c or 87 + c) end
  return table.concat(t)
end
request = function()
  counter = counter + 1
  local roll = math.random()
  local name
  if roll < 0.8 then name = label(10) .. counter .. "." .. label(8) .. ".com"
  elseif roll < 0.9 then name = garbage[math.random(#garbage)]
  else name = allowed[math.random(#allowed)] end
  return wrk.format("GET", "/tls/ask?domain=" .. name)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.3f p50=%.3f p90=%.3f p99=%.3f p999=%.3f max=%.3f errors=%d\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency:percentile(99.9) / 1e3, latency.max / 1e3,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def seed(data_dir: Path, domain_count: int) -> list[str]:
    import sqlalchemy as sa

    from origin import tables
    from origin.tenancy.tables import domains, tenants
    from origin.services import open_services
    from origin.settings import Settings

    settings = Settings(data_dir=data_dir, secret_key="bench")
    async with open_services(settings, with_analytics=False) as services:
        async with services.db.begin() as conn:
            await conn.run_sync(tables.metadata.create_all)
            tenant_count = max(1, domain_count // 10)
            await conn.execute(
                tenants.insert(),
                [{"slug": f"store{i}", "name": f"Store {i}", "currency": "USD", "status": "active"} for i in range(tenant_count)],
            )
            tenant_ids = [row.id for row in await conn.execute(sa.select(tenants.c.id))]
            names = [f"shop{i}.example-{i % 97}.com" for i in range(domain_count)]
            await conn.execute(
                domains.insert(),
                [
                    {"tenant_id": tenant_ids[i % len(tenant_ids)], "hostname": name, "status": "active",
                     "is_primary": False, "verification_token": "t", "check_attempts": 1}
                    for i, name in enumerate(names)
                ],
            )
    return names


def serve(data_dir: str, bind: str) -> None:
    """The server process: the internal app alone, as `zelly origin` serves it."""
    from hypercorn.asyncio import serve as hypercorn_serve

    from ops.serve import hypercorn_config
    from origin.app import create_internal_app
    from origin.settings import Settings

    settings = Settings(data_dir=Path(data_dir), secret_key="bench", internal_bind=bind)
    asyncio.run(hypercorn_serve(create_internal_app(settings), hypercorn_config(bind)))


def run_wrk(port: int, allowed_file: Path, script: Path, connections: int, seconds: float) -> dict:
    completed = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "-s", str(script),
         f"http://127.0.0.1:{port}/"],
        env={**os.environ, "ASK_ALLOWED": str(allowed_file)},
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    )
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    result = {key: float(value) for key, value in (part.split("=") for part in line.split()[1:])}
    if result["errors"]:
        raise RuntimeError(f"wrk saw {result['errors']:.0f} socket errors")
    return result


def random_label(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(length))


def decision_cost(allowed: list[str], rng: random.Random) -> tuple[float, float]:
    """Microseconds per decision in-process: new unknown names, then the same names again (negative cache)."""
    from tls.ask import AllowList

    allow_list = AllowList(lambda: None)
    allow_list._replace(frozenset(allowed))
    names = [f"{random_label(rng, 12)}.{random_label(rng, 8)}.com" for _ in range(20000)]
    started = time.perf_counter()
    for name in names:
        allow_list.decide(name)
    fresh = (time.perf_counter() - started) / len(names) * 1e6
    started = time.perf_counter()
    for name in names:
        allow_list.decide(name)
    cached = (time.perf_counter() - started) / len(names) * 1e6
    return fresh, cached


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--serve", nargs=2, metavar=("DATA_DIR", "BIND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return 0
    if shutil.which("wrk") is None:
        print("bench/tls_ask.py needs wrk (apt-get install -y wrk)", file=sys.stderr)
        return 2

    rng = random.Random(4)
    results = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as data_dir:
        allowed = asyncio.run(seed(Path(data_dir), args.domains))
        allowed_file = Path(data_dir) / "allowed.txt"
        allowed_file.write_text("\n".join(allowed) + "\n")
        script = Path(data_dir) / "ask.lua"
        script.write_text(WRK_SCRIPT)
        port = free_port()
        environment = {key: value for key, value in os.environ.items() if not key.startswith("ZELLY_")}
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", data_dir, f"127.0.0.1:{port}"],
            env={**environment, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(port)
            run_wrk(port, allowed_file, script, 4, 1)  # warm-up
            for connections in args.connections:
                results.append((connections, run_wrk(port, allowed_file, script, connections, args.seconds)))
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"/tls/ask, {args.domains} active domains, one server process, one wrk thread, {args.seconds:.0f} s per row, "
          f"load average before: {load_before:.2f}")
    print(f"{'conns':>5} {'asks/s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} {'max ms':>7}")
    for connections, result in results:
        print(f"{connections:>5} {result['requests'] / result['seconds']:>8,.0f} {result['p50']:>7.2f} {result['p90']:>7.2f} "
              f"{result['p99']:>7.2f} {result['p999']:>8.2f} {result['max']:>7.2f}")
    fresh, cached = decision_cost(allowed, rng)
    print(f"decision alone, in-process: {fresh:.1f} µs per new unknown name, {cached:.2f} µs when repeated (negative cache)")
    return 0


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the ask server did not start")


if __name__ == "__main__":
    sys.exit(main())
