"""A real DNS server for tests: Debian's dnsmasq on a loopback high port, records written by the test.

Every name under the zones given to ``local=`` that has no record is NXDOMAIN
(dnsmasq never forwards: ``no-resolv``, no upstream servers).
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


from tests.tls.local_servers import require_binary


def free_udp_and_tcp_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port for dnsmasq")


@dataclass
class Records:
    zones: tuple[str, ...] = ("example.test",)
    txt: dict[str, list[str]] = field(default_factory=dict)
    hosts: dict[str, list[str]] = field(default_factory=dict)  # name -> A/AAAA addresses
    cnames: dict[str, str] = field(default_factory=dict)  # alias -> target (the target needs a record)

    def config_lines(self) -> list[str]:
        lines = [f"local=/{zone}/" for zone in self.zones]
        for name, values in self.txt.items():
            lines += [f'txt-record={name},"{value}"' for value in values]
        for name, addresses in self.hosts.items():
            lines.append(f"host-record={name},{','.join(addresses)}")
        for alias, target in self.cnames.items():
            lines.append(f"cname={alias},{target}")
        return lines


class DnsServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_udp_and_tcp_port()  # kept across restarts, so settings can name it up front
        self._process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def serve(self, records: Records) -> None:
        """(Re)start dnsmasq with exactly these records."""
        self.stop()
        config = self.directory / "dnsmasq.conf"
        config.write_text("\n".join(records.config_lines()) + "\n")
        self._process = subprocess.Popen(
            [
                require_binary("dnsmasq", "dnsmasq-base"),
                "--keep-in-foreground",
                f"--conf-file={config}",
                f"--port={self.port}",
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
                "--pid-file=",
                "--user=root",
                "--cache-size=0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dnsmasq exited: {self._process.stderr.read().decode()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("dnsmasq did not start listening")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process.stderr.close()
            self._process = None
