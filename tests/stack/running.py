"""`zelly stack` as a child of the test (or of bench/soak.py): free ports, a private data dir, MariaDB databases and Redis db.

:class:`RunningStack` starts the real command, waits for its "is up" banner,
and knows what an operator would look up: the HTTPS port and Caddy's root,
each child's pid (from the banner), every descendant process (from /proc).
:meth:`interrupt` is the operator's Ctrl-C (SIGINT to the stack alone).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

from origin import db
from origin.settings import Settings
from tests.storefront.conftest import attribute, parse_html
from tls.caddy_process import local_root_certificate

ROOT = Path(__file__).resolve().parents[2]
MYSQL_URL = os.environ.get("ZELLY_TEST_MYSQL_URL", "mysql+aiomysql://root@127.0.0.1:3306/")
UP_BANNER = "Zelly stack is up"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> dict[int, str]:
    """Every living process under ``pid`` (pid -> command), from /proc's parent links."""
    children: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: dict[int, str] = {}
    pending = list(children.get(pid, []))
    while pending:
        child = pending.pop()
        found[child] = commands.get(child, "")
        pending += children.get(child, [])
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


class RunningStack:
    def __init__(self, directory: Path, redis_url: str, **environment: str) -> None:
        self.directory = directory
        self.data_dir = directory / "var"
        self.schema_prefix = f"zs{os.getpid()}_{uuid.uuid4().hex[:6]}_"
        self.redis_url = redis_url
        self.https_port = free_port()
        self.binds = {name: f"127.0.0.1:{free_port()}" for name in (
            "origin", "internal", "edge", "edge_internal", "second_origin", "second_internal", "pool", "internal_pool")}
        self.environment = {key: value for key, value in os.environ.items() if not key.startswith(("ZELLY_", "CADDY_"))}
        self.environment.update(
            ZELLY_DATA_DIR=str(self.data_dir), ZELLY_DATABASE_URL=MYSQL_URL, ZELLY_DATABASE_SCHEMA_PREFIX=self.schema_prefix,
            ZELLY_REDIS_URL=redis_url, ZELLY_ORIGIN_BIND=self.binds["origin"], ZELLY_INTERNAL_BIND=self.binds["internal"],
            ZELLY_EDGE_BIND=self.binds["edge"], ZELLY_EDGE_INTERNAL_BIND=self.binds["edge_internal"],
            ZELLY_HTTP_PORT=str(free_port()), ZELLY_HTTPS_PORT=str(self.https_port),
            ZELLY_CADDY_ADMIN_URL=f"http://127.0.0.1:{free_port()}", ZELLY_SMTP_PORT=str(free_port()),
            ZELLY_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT),
        )
        self.environment.update(environment)
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []
        self._up = threading.Event()

    @property
    def settings(self) -> Settings:
        """The stack's stores, for the test's own reads and writes (same secret key file in the data dir)."""
        return Settings(data_dir=self.data_dir, database_url=MYSQL_URL, database_schema_prefix=self.schema_prefix,
                        redis_url=self.redis_url, smtp_port=int(self.environment["ZELLY_SMTP_PORT"]))

    @property
    def root_certificate(self) -> Path:
        return local_root_certificate(self.data_dir / "caddy")

    def start(self, timeout: float = 240.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ops.cli", "stack", "--second-origin-bind", self.binds["second_origin"],
             "--second-internal-bind", self.binds["second_internal"], "--pool-bind", self.binds["pool"],
             "--internal-pool-bind", self.binds["internal_pool"]],
            cwd=self.directory, env=self.environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self._up.wait(0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"zelly stack did not come up:\n{self.text}")

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("  processes"):
                self._up.set()

    @property
    def text(self) -> str:
        return "".join(self.output)

    def pid_of(self, name: str) -> int:
        """A child's pid as the banner lists it, e.g. ``pid_of("origin a")``."""
        match = re.search(rf"{re.escape(name)} \((\d+)\)", self.text)
        assert match, self.text
        return int(match.group(1))

    def interrupt(self, timeout: float = 120.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=timeout)
        self._close_output()
        return code

    def _close_output(self) -> None:
        self._reader.join(timeout=5)  # the pipe ends with the stack; what it printed last is in the output
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def stop(self) -> None:
        """Whatever state it is in: SIGINT, then SIGKILL (its children die with it: PR_SET_PDEATHSIG)."""
        if self.process is None:
            return
        if self.process.poll() is not None:
            self._close_output()
            return
        try:
            self.interrupt(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            self._close_output()

    def drop_databases(self) -> None:
        asyncio.run(db.drop_mysql_databases(MYSQL_URL, self.schema_prefix))

    def https_client(self, **options) -> httpx.AsyncClient:
        """HTTPS to Caddy on loopback, verified against its local root (no -k); :class:`Shopper` sends Host and SNI."""
        context = ssl.create_default_context(cafile=str(self.root_certificate))
        return httpx.AsyncClient(base_url=f"https://127.0.0.1:{self.https_port}", verify=context, **options)


UA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


class Shopper:
    """One browser on one store: HTTPS through Caddy, its own cookies."""

    def __init__(self, stack: RunningStack, host: str) -> None:
        self.host = host
        self.client = stack.https_client(timeout=30, headers={"User-Agent": UA})

    async def get(self, path: str):
        return await self.client.get(path, headers={"Host": self.host}, extensions={"sni_hostname": self.host})

    async def post(self, path: str, **options):
        headers = {"Host": self.host, **SAME_ORIGIN, **options.pop("headers", {})}
        return await self.client.post(path, headers=headers, extensions={"sni_hostname": self.host}, **options)

    async def form(self, path: str, form: dict):
        token = attribute(parse_html((await self.get("/checkout")).text), ".//input[@name='csrf_token']", "value")
        return await self.post(path, data={"csrf_token": token, **form})


class PlatformClient:
    """What Shopify's webhook sender posts through: the platform host over HTTPS."""

    def __init__(self, stack: RunningStack, host: str = "localhost") -> None:
        self.host = host
        self.client = stack.https_client(timeout=30)

    async def post(self, url: str, *, content: bytes, headers: dict):
        return await self.client.post(url, content=content, headers={**headers, "Host": self.host},
                                      extensions={"sni_hostname": self.host})
