"""Configuration mistakes get one clear line, no traceback (issue 19, item 8): the real command in a child process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import MYSQL_URL, REDIS_URL, require_server
from tests.stack.running import ROOT, free_port

HOLD_A_PORT = """
import socket, sys, time
listener = socket.socket()
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen()
print("listening", flush=True)
time.sleep(600)
"""


def zelly_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("ZELLY_", "CADDY_"))}
    environment.update(ZELLY_DATA_DIR=str(tmp_path / "var"), PYTHONPATH=str(ROOT), **extra)
    return environment


def zelly(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ops.cli", *args], cwd=tmp_path, env=zelly_environment(tmp_path, **extra),
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def port_holder():
    """Another process listening on a loopback port: (port, pid)."""
    port = free_port()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_A_PORT, str(port)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "listening"
    yield port, holder.pid
    holder.kill()
    holder.wait()
    holder.stdout.close()


def test_a_busy_origin_port_names_the_variable_and_the_process_holding_it(tmp_path: Path, port_holder) -> None:
    port, holder_pid = port_holder

    result = zelly(tmp_path, "origin", ZELLY_ORIGIN_BIND=f"127.0.0.1:{free_port()}", ZELLY_INTERNAL_BIND=f"127.0.0.1:{port}")

    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"zelly: ZELLY_INTERNAL_BIND=127.0.0.1:{port}: port {port} is taken by pid {holder_pid} ({sys.executable} -c")
    assert result.stderr.rstrip().endswith("; stop it or set ZELLY_INTERNAL_BIND to a free address")
    assert "Traceback" not in result.stderr


def test_a_busy_https_port_stops_zelly_dev_before_it_starts_anything(tmp_path: Path, port_holder) -> None:
    port, holder_pid = port_holder

    result = zelly(tmp_path, "dev", "--no-seed", ZELLY_HTTPS_PORT=str(port), ZELLY_HTTP_PORT=str(free_port()),
                   ZELLY_ORIGIN_BIND=f"127.0.0.1:{free_port()}", ZELLY_INTERNAL_BIND=f"127.0.0.1:{free_port()}",
                   ZELLY_EDGE_INTERNAL_BIND=f"127.0.0.1:{free_port()}", ZELLY_CADDY_ADMIN_URL=f"http://127.0.0.1:{free_port()}")

    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"zelly: ZELLY_HTTPS_PORT={port}: port {port} is taken by pid {holder_pid} (")
    assert not (tmp_path / "var" / "db").exists()  # no migration ran


def _dev_ports() -> dict[str, str]:
    return dict(ZELLY_ORIGIN_BIND=f"127.0.0.1:{free_port()}", ZELLY_INTERNAL_BIND=f"127.0.0.1:{free_port()}",
                ZELLY_EDGE_INTERNAL_BIND=f"127.0.0.1:{free_port()}", ZELLY_SMTP_PORT=str(free_port()))


def start_dev(tmp_path: Path, ports: dict[str, str]) -> subprocess.Popen:
    """`zelly dev --no-seed --no-caddy` on ``tmp_path/var``, returned once its internal /healthz answers ok."""
    process = subprocess.Popen([sys.executable, "-m", "ops.cli", "dev", "--no-seed", "--no-caddy"], cwd=tmp_path,
                               env=zelly_environment(tmp_path, **ports), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://{ports['ZELLY_INTERNAL_BIND']}/healthz", timeout=2) as response:
                assert json.loads(response.read())["status"] == "ok"
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(process.communicate()[0]) from None
            time.sleep(0.3)


def test_a_second_zelly_dev_on_the_same_data_says_another_one_runs(tmp_path: Path) -> None:
    first = start_dev(tmp_path, _dev_ports())
    try:
        second = zelly(tmp_path, "dev", "--no-seed", "--no-caddy", **_dev_ports())
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)

    assert second.returncode == 2
    assert second.stderr.splitlines() == [
        f"zelly: configuration error: ZELLY_DATA_DIR: another `zelly dev` (pid {first.pid}) is running on "
        f"{(tmp_path / 'var').resolve()}; stop it first, or give this one its own ZELLY_DATA_DIR (and its own ports)"
    ]
    assert first.returncode == 0


def test_a_dev_that_was_killed_leaves_no_lock_behind(tmp_path: Path) -> None:
    """The lock is the kernel's (flock): a SIGKILLed dev does not block the next start on the same data."""
    first = start_dev(tmp_path, _dev_ports())
    first.kill()
    first.communicate(timeout=60)

    second = start_dev(tmp_path, _dev_ports())
    lock_text = (tmp_path / "var" / "zelly.lock").read_text()
    second.send_signal(signal.SIGTERM)
    second.communicate(timeout=60)

    assert first.returncode == -signal.SIGKILL
    assert lock_text == f"`zelly dev` (pid {second.pid})\n"
    assert second.returncode == 0


def test_caddy_admin_that_disagrees_with_zelly_caddy_admin_url_is_refused(tmp_path: Path) -> None:
    other = f"127.0.0.1:{free_port()}"

    refused = zelly(tmp_path, "tenant", "list", CADDY_ADMIN=other)
    refused_explicit = zelly(tmp_path, "tenant", "list", CADDY_ADMIN=other, ZELLY_CADDY_ADMIN_URL="http://127.0.0.1:2019")
    agreeing = zelly(tmp_path, "migrate", CADDY_ADMIN=other, ZELLY_CADDY_ADMIN_URL=f"http://{other}")

    assert refused.returncode == refused_explicit.returncode == 2
    assert refused.stderr.splitlines() == [
        f"zelly: configuration error: CADDY_ADMIN: is '{other}' but ZELLY_CADDY_ADMIN_URL is 'http://127.0.0.1:2019' (its default); "
        f"Zelly starts and calls Caddy's admin API at ZELLY_CADDY_ADMIN_URL: set ZELLY_CADDY_ADMIN_URL=http://{other} and drop "
        "CADDY_ADMIN from Zelly's environment"
    ]
    assert "(its default)" not in refused_explicit.stderr and len(refused_explicit.stderr.splitlines()) == 1
    assert agreeing.returncode == 0, agreeing.stderr


def test_a_stack_without_mariadb_says_so_in_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there

    result = zelly(tmp_path, "stack", ZELLY_DATABASE_URL=f"mysql+aiomysql://root@127.0.0.1:{port}/",
                   ZELLY_REDIS_URL="redis://127.0.0.1:6379/13")

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"zelly: configuration error: ZELLY_DATABASE_URL: MariaDB does not answer on 127.0.0.1:{port} "
        f"(mysql+aiomysql://root@127.0.0.1:{port}/); start it, or point ZELLY_DATABASE_URL at one"
    ]


def test_a_stack_whose_smtp_port_is_one_of_its_own_listeners_says_so_in_one_line(tmp_path: Path) -> None:
    # Nothing listens on that port yet, so only this check stands between the outbox and a worker's HTTP listener.
    require_server("MariaDB", "127.0.0.1", 3306)
    require_server("Redis", "127.0.0.1", 6379)
    first = free_port()

    result = zelly(tmp_path, "stack", "--no-seed", "--first-worker-internal-port", str(first),
                   ZELLY_DATABASE_URL=MYSQL_URL, ZELLY_REDIS_URL=REDIS_URL, ZELLY_SMTP_PORT=str(first + 5))

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"zelly: configuration error: ZELLY_SMTP_PORT: 127.0.0.1:{first + 5} is one of this command's own listeners "
        f"(--first-worker-internal-port={first} listens on 127.0.0.1:{first + 5}), not a server to dial; "
        "set ZELLY_SMTP_PORT to that server's port or --first-worker-internal-port to another"
    ]
    assert not (tmp_path / "var" / "stack").exists()  # no child started, no log written


def test_ports_finds_the_listening_process(port_holder) -> None:
    from ops.ports import processes_listening_on

    port, holder_pid = port_holder

    holders = processes_listening_on(port)

    assert [pid for pid, _ in holders] == [holder_pid]
    assert holders[0][1].startswith(f"{sys.executable} -c")
    assert processes_listening_on(free_port()) == []
