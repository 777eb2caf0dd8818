"""Who holds a TCP port, so a busy port is one line naming the variable and the process (issue 19, item 8).

An operator who sees "address already in use" has to find the culprit with
``ss -ltnp``; this does the same lookup from /proc (the listening socket's
inode in /proc/net/tcp{,6}, then the process whose /proc/<pid>/fd links to
it) and puts the answer in the error. Linux only; elsewhere, or for a process
of another user we cannot inspect, the line says so instead of naming one.

A port nobody holds yet can still be wrong: a server we dial on loopback on a
port one of our own processes is about to listen on (refuse_a_client_of_our_listener).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

from origin.settings import ConfigurationError, parse_bind

TCP_LISTEN = "0A"  # the st column of /proc/net/tcp for a listening socket
PROC = Path("/proc")


class ListenError(Exception):
    """A listener's address is taken (or not ours to bind): one line for the operator, no traceback."""


def listening_socket_inodes(port: int, *, proc: Path = PROC) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == TCP_LISTEN and int(fields[1].rpartition(":")[2], 16) == port:
                inodes.add(fields[9])
    return inodes


def processes_listening_on(port: int, *, proc: Path = PROC) -> list[tuple[int, str]]:
    """(pid, command line) of every process holding a listening socket on ``port``, lowest pid first."""
    wanted = {f"socket:[{inode}]" for inode in listening_socket_inodes(port, proc=proc)}
    if not wanted:
        return []
    found: list[tuple[int, str]] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            holds = any(str(link.readlink()) in wanted for link in (entry / "fd").iterdir())
            if holds:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                found.append((int(entry.name), command or entry.joinpath("comm").read_text().strip()))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return sorted(found)


def describe_holder(port: int) -> str:
    holders = processes_listening_on(port)
    if not holders:
        return "a process this user cannot see"
    pid, command = holders[0]
    command = " ".join(command.split())  # one line, whatever the command line holds (python -c "<script>")
    shown = command if len(command) <= 120 else command[:117] + "..."
    more = f" and {len(holders) - 1} more" if len(holders) > 1 else ""
    return f"pid {pid} ({shown}){more}"


def check_port_free(variable: str, host: str, port: int, *, shown: str | None = None) -> None:
    """Bind and release ``host:port`` now; if taken, raise ListenError naming ``variable`` and the holder.

    SO_REUSEADDR as hypercorn and granian bind: a port in TIME_WAIT is not taken.
    ``shown`` is the variable's value as the operator wrote it (a URL for the admin API).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host or "0.0.0.0", port))
        except OSError as error:
            value = shown or f"{host}:{port}"
            if error.errno == errno.EADDRINUSE:
                raise ListenError(
                    f"{variable}={value}: port {port} is taken by {describe_holder(port)}; "
                    f"stop it or set {variable} to a free address"
                ) from None
            raise ListenError(f"{variable}={value}: cannot listen there: {error.strerror or error}") from None


def check_binds(binds: Iterable[tuple[str, str, str]]) -> None:
    """Each (variable, host:port, the variable's value) free, or ListenError naming the first taken one."""
    for variable, bind, shown in binds:
        host, port = parse_bind(bind, variable)
        check_port_free(variable, host, port, shown=shown)


def listener_binds(settings, *names: str) -> list[tuple[str, str, str]]:
    """(variable, bind, value) of Settings' ``*_bind`` fields, e.g. ``listener_binds(settings, "origin_bind")``."""
    return [(f"ZELLY_{name.upper()}", getattr(settings, name), getattr(settings, name)) for name in names]


def caddy_binds(settings) -> list[tuple[str, str, str]]:
    """What Zelly's Caddy listens on (tls.caddy_process.options_from_settings), by the variable that sets each."""
    admin = urlsplit(settings.caddy_admin_url).netloc or "127.0.0.1:2019"
    return [
        ("ZELLY_CADDY_ADMIN_URL", admin, settings.caddy_admin_url),
        ("ZELLY_HTTP_PORT", f"127.0.0.1:{settings.http_port}", str(settings.http_port)),
        ("ZELLY_HTTPS_PORT", f"127.0.0.1:{settings.https_port}", str(settings.https_port)),
    ]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refuse_a_client_of_our_listener(variable: str, host: str, port: int, binds: Iterable[tuple[str, str, str]]) -> None:
    """A server this machine dials on loopback (``variable`` sets its port) must not be one of our own ``binds``.

    check_binds cannot see it: nothing listens there before we start, so the port is free, and then the
    client talks its protocol to one of our HTTP listeners (issue 19: the outbox's SMTP on a worker's port).
    ConfigurationError, one line naming both settings.
    """
    if not is_loopback(host):
        return
    for listener_variable, bind, shown in binds:
        bind_host, bind_port = parse_bind(bind, listener_variable)
        if bind_port == port and (bind_host in ("", "0.0.0.0", "::") or is_loopback(bind_host)):
            raise ConfigurationError(
                variable, f"{host}:{port} is one of this command's own listeners ({listener_variable}={shown} listens on {bind}), "
                          f"not a server to dial; set {variable} to that server's port or {listener_variable} to another")
