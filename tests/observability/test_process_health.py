"""Every process kind: /livez, /readyz and /metrics on its internal listener, and a SIGTERM that drains (issue 19, item 7).

Real processes: each starts as a subprocess, gets a slow request or task, is
sent SIGTERM while that is in flight, and must finish it, exit 0, and do so
within the bound (ops.serve.DRAIN_BOUND_S for the zelly processes, taskiq's
--wait-tasks-timeout for a worker).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis

from observability import context
from origin.settings import Settings
from taskiq.kicker import AsyncKicker
from tests.conftest import REDIS_URL
from tests.test_cli import free_port, zelly_env
from tests.observability.slow_worker import QUEUE, SLOW_TASK
from workers.brokers import make_broker

ROOT = Path(__file__).resolve().parents[2]
SHUTDOWN_BOUND_S = 10.0  # ops.serve.DRAIN_BOUND_S (8 s) plus interpreter exit
SLOW_S = 2.0
REQUEST_ID = "req-for-the-worker-1"


def http_get(port: int, path: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def wait_for(predicate, timeout_s: float, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            raise AssertionError(f"{what}: the process exited early:\n{process.stdout.read()}")
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s}s")


def start(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(process: subprocess.Popen) -> tuple[int, float, str]:
    """SIGTERM; (exit code, seconds it took, output)."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    return process.returncode, time.monotonic() - started, output


def internal_endpoints(port: int) -> dict[str, int]:
    return {path: http_get(port, path)[0] for path in ("/livez", "/readyz", "/metrics")}


def migrate(env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "ops.cli", "migrate"], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr


class SlowBody:
    """A request whose body arrives only after the signal: in flight across the SIGTERM."""

    def __init__(self, port: int, host: str = "localhost") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.sock.sendall(b"POST /webhooks/shopify HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 2\r\nX-Shopify-Topic: products/update\r\n\r\n")

    def finish(self) -> bytes:
        self.sock.sendall(b"{}")
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        self.sock.close()
        return answer


def test_origin_answers_health_and_drains_a_request_in_flight_on_sigterm(tmp_path: Path) -> None:
    origin_port, internal_port = free_port(), free_port()
    env = zelly_env(tmp_path, ZELLY_ORIGIN_BIND=f"127.0.0.1:{origin_port}", ZELLY_INTERNAL_BIND=f"127.0.0.1:{internal_port}",
                    ZELLY_SMTP_PORT=str(free_port()))
    migrate(env, tmp_path)
    process = start([sys.executable, "-m", "ops.cli", "origin"], env, tmp_path)
    try:
        wait_for(lambda: http_get(internal_port, "/livez")[0] == 200, 90, "zelly origin up", process)
        endpoints = internal_endpoints(internal_port)
        in_flight = SlowBody(origin_port)
        time.sleep(0.3)  # the request is read up to its body
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        answer = in_flight.finish()
        output, _ = process.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)

    assert endpoints == {"/livez": 200, "/readyz": 200, "/metrics": 200}
    assert answer.startswith(b"HTTP/1.1 401"), answer  # answered (no HMAC), not dropped
    assert process.returncode == 0, output
    assert elapsed < SHUTDOWN_BOUND_S, output
    assert all(json.loads(line)["service"] == "origin" for line in output.splitlines() if line.startswith("{"))


class SlowOrigin(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(SLOW_S)
        body = b"<p>slow page</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Cache-Control", "public, max-age=60")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        return None


@pytest.fixture
def slow_origin():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowOrigin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("server", ["granian", "hypercorn"])
def test_edge_answers_health_and_drains_a_slow_fetch_on_sigterm(tmp_path: Path, slow_origin: int, server: str) -> None:
    edge_port, internal_port = free_port(), free_port()
    env = zelly_env(tmp_path, ZELLY_EDGE_BIND=f"127.0.0.1:{edge_port}", ZELLY_EDGE_INTERNAL_BIND=f"127.0.0.1:{internal_port}",
                    ZELLY_EDGE_UPSTREAM=f"http://127.0.0.1:{slow_origin}")
    process = start([sys.executable, "-m", "ops.cli", "edge", "--server", server], env, tmp_path)
    result: dict = {}
    try:
        wait_for(lambda: http_get(internal_port, "/livez")[0] == 200, 60, "zelly edge up", process)
        endpoints = internal_endpoints(internal_port)

        def fetch() -> None:
            request = urllib.request.Request(f"http://127.0.0.1:{edge_port}/products/slow", headers={"Host": "shop.localhost"})
            with urllib.request.urlopen(request, timeout=15) as response:
                result["answer"] = (response.status, response.read())

        fetching = threading.Thread(target=fetch)
        fetching.start()
        time.sleep(0.5)  # the edge is waiting on the slow origin
        code, elapsed, output = stop(process)
        fetching.join(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)

    assert endpoints == {"/livez": 200, "/readyz": 200, "/metrics": 200}
    assert result.get("answer") == (200, b"<p>slow page</p>"), output
    assert code == 0, output
    assert elapsed < SHUTDOWN_BOUND_S, output


def _server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return zelly_env(tmp_path, ZELLY_REDIS_URL=REDIS_URL, ZELLY_WORKER_INTERNAL_BIND=f"127.0.0.1:{free_port()}",
                     ZELLY_SMTP_PORT=str(free_port()), **extra)


def _flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()


async def _kick_slow(marker: Path, seconds: float) -> None:
    producer = make_broker(Settings(redis_url=REDIS_URL), QUEUE, producer=True)
    await producer.startup()
    current, token = context.start(REQUEST_ID)  # as if kicked while serving a request
    try:
        await AsyncKicker(task_name=SLOW_TASK, broker=producer, labels={}).kiq(str(marker), seconds)
    finally:
        context.current.reset(token)
        await producer.shutdown()


def test_a_worker_answers_health_and_finishes_its_task_on_sigterm(tmp_path: Path) -> None:
    _flush_redis()
    env = _server_env(tmp_path)
    internal_port = int(env["ZELLY_WORKER_INTERNAL_BIND"].rpartition(":")[2])
    migrate(env, tmp_path)
    marker = tmp_path / "slow"
    process = start([sys.executable, "-m", "taskiq", "worker", "tests.observability.slow_worker:broker", "--workers", "1",
                     "--wait-tasks-timeout", "8"], env, ROOT)
    try:
        wait_for(lambda: http_get(internal_port, "/livez")[0] == 200, 60, "the worker's internal listener up", process)
        endpoints = internal_endpoints(internal_port)
        asyncio.run(_kick_slow(marker, SLOW_S))
        wait_for(lambda: Path(str(marker) + ".started").exists(), 30, "the slow task started", process)
        metrics_while_running = http_get(internal_port, "/metrics")[1].decode()
        code, elapsed, output = stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
        _flush_redis()

    assert endpoints == {"/livez": 200, "/readyz": 200, "/metrics": 200}
    assert f'zelly_queue_depth{{queue="{QUEUE}"}} 1.0' in metrics_while_running
    task_lines = [json.loads(line) for line in output.splitlines() if line.startswith("{") and SLOW_TASK in line]
    assert Path(str(marker) + ".done").exists(), output
    assert {(line["service"], line.get("request_id")) for line in task_lines} == {("worker", REQUEST_ID)}, output
    assert code == 0, output
    assert elapsed < SHUTDOWN_BOUND_S, output


def test_a_scheduler_answers_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    _flush_redis()
    env = _server_env(tmp_path)
    internal_port = int(env["ZELLY_WORKER_INTERNAL_BIND"].rpartition(":")[2])
    process = start([sys.executable, "-m", "taskiq", "scheduler", "workers.email_outbox:scheduler"], env, ROOT)
    try:
        wait_for(lambda: http_get(internal_port, "/livez")[0] == 200, 60, "the scheduler's internal listener up", process)
        endpoints = internal_endpoints(internal_port)
        code, elapsed, output = stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)

    assert endpoints == {"/livez": 200, "/readyz": 200, "/metrics": 200}
    assert code == 0, output
    assert elapsed < SHUTDOWN_BOUND_S, output


def test_the_store_events_consumer_answers_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    _flush_redis()
    env = _server_env(tmp_path)
    internal_port = int(env["ZELLY_WORKER_INTERNAL_BIND"].rpartition(":")[2])
    migrate(env, tmp_path)
    process = start([sys.executable, "-m", "ops.cli", "analytics", "consume"], env, tmp_path)
    try:
        wait_for(lambda: http_get(internal_port, "/livez")[0] == 200, 90, "the consumer's internal listener up", process)
        endpoints = internal_endpoints(internal_port)
        metrics = http_get(internal_port, "/metrics")[1].decode()
        code, elapsed, output = stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
        _flush_redis()

    assert endpoints == {"/livez": 200, "/readyz": 200, "/metrics": 200}
    assert "zelly_store_events_lag_seconds 0.0" in metrics
    assert code == 0, output
    assert elapsed < SHUTDOWN_BOUND_S, output

