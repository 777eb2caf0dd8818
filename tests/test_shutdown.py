"""Shutdown is bounded whatever is down, and Caddy never outlives zelly dev (issue 12, item 10). Real processes only."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_cli import free_port, zelly_env
from tls.caddy_process import CaddyOptions, CaddyProcess

SHUTDOWN_BOUND_S = 10.0  # ops.serve.DRAIN_BOUND_S (8 s) plus interpreter exit


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def _wait_for(predicate, timeout_s: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the process exited early:\n{process.stdout.read()}")
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s}s")


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _dev_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    defaults = dict(
        ZELLY_ORIGIN_BIND=f"127.0.0.1:{free_port()}",
        ZELLY_INTERNAL_BIND=f"127.0.0.1:{free_port()}",
        ZELLY_EDGE_BIND=f"127.0.0.1:{free_port()}",
        ZELLY_EDGE_INTERNAL_BIND=f"127.0.0.1:{free_port()}",
        ZELLY_HTTP_PORT=str(free_port()),
        ZELLY_HTTPS_PORT=str(free_port()),
        ZELLY_CADDY_ADMIN_URL=f"http://127.0.0.1:{free_port()}",
        ZELLY_SMTP_PORT=str(free_port()),
    )
    return zelly_env(tmp_path, **{**defaults, **extra})


def test_a_sigkilled_dev_takes_its_caddy_along(tmp_path: Path) -> None:
    env = _dev_env(tmp_path)
    origin_port = int(env["ZELLY_ORIGIN_BIND"].rpartition(":")[2])
    pidfile = tmp_path / "var" / "caddy" / "caddy.pid"
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.cli", "dev", "--no-seed"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_for(lambda: _healthy(origin_port) and pidfile.exists(), 90, "zelly dev up with Caddy", process)
        caddy_pid = int(pidfile.read_text())
        assert _alive(caddy_pid)

        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

        _wait_for(lambda: not _alive(caddy_pid), 5, "Caddy gone after its parent was killed")
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_the_next_start_stops_the_caddy_a_previous_run_left_behind(tmp_path: Path) -> None:
    options = CaddyOptions(
        storage_dir=tmp_path / "caddy", ask_url=f"http://127.0.0.1:{free_port()}/tls/ask", upstream=f"http://127.0.0.1:{free_port()}",
        admin_address=f"127.0.0.1:{free_port()}", http_port=free_port(), https_port=free_port(),
    )
    leftover = CaddyProcess(options)
    leftover.start()
    leftover.wait_ready()
    leftover_pid, leftover_popen = leftover.pid, leftover._process
    leftover._process = None  # forgotten, as by a parent that died: only the pidfile knows it
    second = CaddyProcess(options)
    try:
        second.start()
        second.wait_ready()

        assert not _alive(leftover_pid)
        assert second.pid != leftover_pid and _alive(second.pid)
        assert int((tmp_path / "caddy" / "caddy.pid").read_text()) == second.pid
    finally:
        second.stop()
        if _alive(leftover_pid):
            os.kill(leftover_pid, signal.SIGKILL)
        leftover_popen.wait(timeout=10)
        leftover._log.close()
    assert not (tmp_path / "caddy" / "caddy.pid").exists()


def test_a_pidfile_naming_someone_elses_process_is_left_alone(tmp_path: Path) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "caddy").mkdir()
        (tmp_path / "caddy" / "caddy.pid").write_text(f"{stranger.pid}\n")
        options = CaddyOptions(
            storage_dir=tmp_path / "caddy", ask_url=f"http://127.0.0.1:{free_port()}/tls/ask", upstream=f"http://127.0.0.1:{free_port()}",
            admin_address=f"127.0.0.1:{free_port()}", http_port=free_port(), https_port=free_port(),
        )
        caddy = CaddyProcess(options)
        caddy.start()
        caddy.wait_ready()
        caddy.stop()

        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_a_port_held_by_something_else_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = _dev_env(tmp_path, ZELLY_ORIGIN_BIND=f"127.0.0.1:{port}")
        result = subprocess.run(
            [sys.executable, "-m", "ops.cli", "origin"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )

    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    # The variable that set the address and the process holding it (issue 19, item 8): this test's own.
    assert line.startswith(f"zelly: ZELLY_ORIGIN_BIND=127.0.0.1:{port}: port {port} is taken by pid {os.getpid()} (")
    assert line.endswith("; stop it or set ZELLY_ORIGIN_BIND to a free address")
    assert "Traceback" not in result.stderr


@pytest.fixture
def spare_redis(tmp_path: Path):
    """A Redis of the test's own on a spare port, to kill or freeze (SIGSTOP: it accepts and never answers)."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _wait_for(lambda: _accepts(port), 10, "redis-server up")
    yield server, port
    if server.poll() is None:
        server.send_signal(signal.SIGCONT)
        server.kill()
    server.wait()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("fault", ["refused", "black-holed"])
def test_sigterm_stops_the_origin_within_the_bound_while_redis_is_down(tmp_path: Path, spare_redis, fault: str) -> None:
    server, redis_port = spare_redis
    env = _dev_env(tmp_path, ZELLY_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0")
    origin_port = int(env["ZELLY_ORIGIN_BIND"].rpartition(":")[2])
    assert subprocess.run([sys.executable, "-m", "ops.cli", "migrate"], cwd=tmp_path, env=env, capture_output=True, timeout=120).returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.cli", "origin"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_for(lambda: _healthy(origin_port), 90, "zelly origin up", process)
        if fault == "refused":
            server.kill()
            server.wait()
        else:
            server.send_signal(signal.SIGSTOP)
        time.sleep(1.0)  # let the listeners notice (or hang on) the outage

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)

    assert process.returncode == 0, output
    assert elapsed < SHUTDOWN_BOUND_S, output
    assert "shutdown: SIGTERM received" in output
    stuck = [line for line in output.splitlines() if "shutdown: not done after" in line]
    # Either every close finished, or the one line that ends it names what was left behind.
    assert all("leaving behind: " in line for line in stuck), output


PROXY_SCRIPT = """
import asyncio, sys
from tests.faults.harness import BlackHoleProxy

async def main():
    proxy = BlackHoleProxy(int(sys.argv[1]))
    await proxy.start()
    print(proxy.port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def test_sigterm_stops_the_origin_within_the_bound_while_mariadb_is_black_holed_and_clickhouse_refuses(tmp_path: Path) -> None:
    """Item 10 for the other stores: MariaDB accepts and never answers (its proxy frozen), ClickHouse refuses.

    The origin also has to start with ClickHouse away (it used to stop at start-up), and its
    database pool cannot close cleanly (COM_QUIT is never answered): the stop is still bounded.
    """
    from sqlalchemy.engine import make_url

    from origin import db
    from tests.conftest import MYSQL_URL, require_server

    require_server("MariaDB", "127.0.0.1", 3306)
    mariadb = make_url(MYSQL_URL)
    proxy = subprocess.Popen(
        [sys.executable, "-c", PROXY_SCRIPT, str(mariadb.port or 3306)], cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}, stdout=subprocess.PIPE, text=True,
    )
    prefix = f"zsd{os.getpid()}_{free_port()}_"
    try:
        proxy_port = int(proxy.stdout.readline())
        env = _dev_env(
            tmp_path,
            ZELLY_DATABASE_URL=str(mariadb.set(host="127.0.0.1", port=proxy_port)),
            ZELLY_DATABASE_SCHEMA_PREFIX=prefix,
            ZELLY_DATABASE_READ_TIMEOUT_MS="1000",
        )
        origin_port = int(env["ZELLY_ORIGIN_BIND"].rpartition(":")[2])
        migrated = subprocess.run([sys.executable, "-m", "ops.cli", "migrate"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert migrated.returncode == 0, migrated.stderr
        env["ZELLY_ANALYTICS_URL"] = f"http://127.0.0.1:{free_port()}/"  # nobody listens there
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "origin"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            _wait_for(lambda: _healthy(origin_port), 90, "zelly origin up", process)
            proxy.send_signal(signal.SIGSTOP)  # the kernel still accepts; nothing is ever answered
            time.sleep(0.5)

            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
            elapsed = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=10)
    finally:
        proxy.send_signal(signal.SIGCONT)
        proxy.kill()
        proxy.wait()
        proxy.stdout.close()
        asyncio.run(db.drop_mysql_databases(MYSQL_URL, prefix))

    assert process.returncode == 0, output
    assert elapsed < SHUTDOWN_BOUND_S, output
    assert "analytics: cannot reach" in output
    assert "shutdown: SIGTERM received" in output
