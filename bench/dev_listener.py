"""`zelly dev`'s public listener: edge hits straight to it and through its Caddy (HTTPS), per server.

    python bench/dev_listener.py [--servers granian,hypercorn] [--rounds 3] [--seconds 5] [--connections 32]

Runs the real `zelly dev --server S` (migrations, the demo seed on the first
start, Caddy as its child) pinned to CPU 1 with ``taskset`` (Caddy inherits the
pin, as it does on a developer's two-core box), the servers alternating round
by round; ``wrk -t1 -c32 --latency`` pinned to CPU 0 asks for a warmed
collection page of ``acme.localhost``, once on the public listener (HTTP) and
once through Caddy (HTTPS). Each row also gives the CPU time per request of the
dev process and of Caddy (from /proc, so less sensitive to other processes'
load than req/s). wrk takes its TLS server name from the URL, and
``*.localhost`` does not resolve here, so the bench builds a tiny getaddrinfo
shim with ``cc`` and preloads it into wrk (without ``cc`` only the HTTP rows run).
Its own data directory and ports; loopback only; no Redis.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.edge_hit import ROOT, free_port, parse_wrk, pinned  # noqa: E402

PATH = "/collections/all"
HOST = "acme.localhost"
TICKS = os.sysconf("SC_CLK_TCK")

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <string.h>
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
    static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    if (!real) real = dlsym(RTLD_NEXT, "getaddrinfo");
    size_t n = node ? strlen(node) : 0;
    if (n > 10 && strcmp(node + n - 10, ".localhost") == 0) node = "127.0.0.1";
    return real(node, service, hints, res);
}
"""


def build_shim(directory: Path) -> Path | None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    (directory / "shim.c").write_text(SHIM)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(directory / "shim.so"), str(directory / "shim.c"), "-ldl"], check=True)
    return directory / "shim.so"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def dev_environment(data_dir: Path) -> tuple[dict[str, str], dict[str, int]]:
    ports = {name: free_port() for name in ("origin", "internal", "edge", "edge_internal", "http", "https", "caddy_admin", "smtp")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZELLY_")}
    env.update({
        "PYTHONPATH": str(ROOT), "ZELLY_DATA_DIR": str(data_dir),
        "ZELLY_ORIGIN_BIND": f"127.0.0.1:{ports['origin']}", "ZELLY_INTERNAL_BIND": f"127.0.0.1:{ports['internal']}",
        "ZELLY_EDGE_BIND": f"127.0.0.1:{ports['edge']}", "ZELLY_EDGE_INTERNAL_BIND": f"127.0.0.1:{ports['edge_internal']}",
        "ZELLY_HTTP_PORT": str(ports["http"]), "ZELLY_HTTPS_PORT": str(ports["https"]),
        "ZELLY_CADDY_ADMIN_URL": f"http://127.0.0.1:{ports['caddy_admin']}", "ZELLY_SMTP_PORT": str(ports["smtp"]),
        "ZELLY_LOG_LEVEL": "warning",
    })
    return env, ports


def wait_healthy(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"zelly dev exited:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if json.loads(response.read())["status"] == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("zelly dev did not become healthy within 120 s")


def wrk(url: str, seconds: int, connections: int, shim: Path | None, pids: list[int]) -> dict:
    env = {**os.environ, **({"LD_PRELOAD": str(shim)} if shim else {})}
    host = ["-H", f"Host: {HOST}"]
    command = pinned(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *host, url], 0)
    subprocess.run(pinned(["wrk", "-t1", "-c4", "-d1s", *host, url], 0), env=env, capture_output=True, check=True)  # fill
    before = [cpu_seconds(pid) for pid in pids]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    after = [cpu_seconds(pid) for pid in pids]
    result = parse_wrk(output)
    requests = int(output.split(" requests in ")[0].split()[-1])
    result["cpu_us"] = [(b - a) / requests * 1e6 for a, b in zip(before, after)]
    result["load"] = os.getloadavg()[0]
    return result


def run_round(server: str, data_dir: Path, shim: Path | None, args) -> dict[str, dict]:
    env, ports = dev_environment(data_dir)
    process = subprocess.Popen(
        pinned([sys.executable, "-m", "ops.cli", "dev", "--server", server], 1),
        cwd=data_dir.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_healthy(ports["internal"], process)
        caddy = [pid for pid in children(process.pid) if "caddy" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
        rows = {"direct": wrk(f"http://127.0.0.1:{ports['origin']}{PATH}", args.seconds, args.connections, shim, [process.pid])}
        if shim and caddy:
            rows["caddy"] = wrk(f"https://{HOST}:{ports['https']}{PATH}", args.seconds, args.connections, shim, [process.pid, caddy[0]])
        return rows
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="granian,hypercorn")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory(prefix="zelly-dev-bench-") as temporary:
        base = Path(temporary)
        shim = build_shim(base)
        if shim is None:
            print("no C compiler: wrk cannot send acme.localhost as the TLS name, so only the HTTP rows run")
        results: dict[tuple[str, str], list[dict]] = {}
        for round_number in range(args.rounds):
            for server in args.servers.split(","):
                for path, row in run_round(server, base / "var", shim, args).items():
                    results.setdefault((server, path), []).append(row)
                    cpu = " + ".join(f"{us:.0f}" for us in row["cpu_us"])
                    print(f"round {round_number + 1} {server:<9} {path:<6} {row['rps']:>8.0f} req/s  p50 {row['p50_ms']:.2f} ms"
                          f"  p99 {row['p99_ms']:.2f} ms  errors {row['errors']}  CPU µs/req (dev + caddy) {cpu}  load {row['load']:.1f}",
                          flush=True)
        print("\nmedians:")
        for (server, path), rows in results.items():
            median = sorted(rows, key=lambda row: row["rps"])[len(rows) // 2]
            cpu = " + ".join(f"{statistics.median(row['cpu_us'][i] for row in rows):.0f}" for i in range(len(rows[0]["cpu_us"])))
            print(f"{server:<9} {path:<6} {median['rps']:>8.0f} req/s  p50 {median['p50_ms']:.2f} ms  p99 {median['p99_ms']:.2f} ms"
                  f"  CPU µs/req {cpu}  (runs: {' / '.join(f'{row['rps']:.0f}' for row in rows)})")


if __name__ == "__main__":
    main()
