"""The zelly command as an operator runs it: real subprocesses, real listeners."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def zelly_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZELLY_")}
    env.update({"ZELLY_DATA_DIR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT), **extra})
    return env


def zelly(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", *args],
        cwd=tmp_path,
        env=zelly_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = zelly(tmp_path, "--help")

    assert result.returncode == 0
    for command in ("migrate", "tenant", "seed", "dev", "origin"):
        assert command in result.stdout


def test_a_configuration_mistake_is_one_line_without_traceback(tmp_path: Path) -> None:
    result = zelly(tmp_path, "tenant", "list", ZELLY_REDIS_URL="localhost:6379")

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "zelly: configuration error: ZELLY_REDIS_URL: expected redis://host:port/db, got 'localhost:6379'"
    ]


def test_an_unreachable_server_names_its_variable(tmp_path: Path) -> None:
    port = free_port()

    result = zelly(tmp_path, "tenant", "list", ZELLY_REDIS_URL=f"redis://127.0.0.1:{port}/0")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"zelly: configuration error: ZELLY_REDIS_URL: cannot reach redis://127.0.0.1:{port}/0")


def test_tenant_create_prints_id_and_token_once(tmp_path: Path) -> None:
    assert zelly(tmp_path, "migrate").returncode == 0

    created = zelly(tmp_path, "tenant", "create", "--slug", "acme", "--name", "Acme Outfitters", "--currency", "USD")
    again = zelly(tmp_path, "tenant", "create", "--slug", "acme", "--name", "Acme")
    bad = zelly(tmp_path, "tenant", "create", "--slug", "beta", "--name", "Beta", "--currency", "ZZZ")
    listing = zelly(tmp_path, "tenant", "list")

    assert created.returncode == 0, created.stderr
    lines = dict(line.split(":", 1) for line in created.stdout.splitlines() if ":" in line and not line.startswith(" "))
    assert lines["tenant id"].strip() == "1"
    assert lines["api token"].strip().startswith("zly_")
    assert (again.returncode, again.stderr.strip()) == (1, "zelly: slug 'acme' is taken")
    assert bad.returncode == 1 and "currency 'ZZZ'" in bad.stderr
    assert "acme" in listing.stdout and "Acme Outfitters" in listing.stdout


def test_dev_serves_healthz_and_stops_on_sigterm(tmp_path: Path) -> None:
    origin_port, internal_port = free_port(), free_port()
    env = zelly_env(
        tmp_path,
        ZELLY_DATA_DIR="var",  # relative, as on a fresh checkout: every store must resolve it
        ZELLY_ORIGIN_BIND=f"127.0.0.1:{origin_port}",
        ZELLY_INTERNAL_BIND=f"127.0.0.1:{internal_port}",
        ZELLY_EDGE_BIND=f"127.0.0.1:{free_port()}",
        ZELLY_HTTP_PORT=str(free_port()),
        ZELLY_HTTPS_PORT=str(free_port()),
        ZELLY_CADDY_ADMIN_URL=f"http://127.0.0.1:{free_port()}",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.cli", "dev"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        body = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{origin_port}/healthz", timeout=2) as response:
                    body = json.loads(response.read())
            except OSError:
                assert process.poll() is None, process.stdout.read()
                time.sleep(0.3)

        assert body is not None
        assert body["status"] == "ok"
        assert {name: store["backend"] for name, store in body["stores"].items()} == {
            "database": "sqlite",
            "cache": "memory",
            "analytics": "chdb",
        }
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)

    assert process.returncode == 0, output
    assert f"http://acme.localhost:{origin_port}/" in output
