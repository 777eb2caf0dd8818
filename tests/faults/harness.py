"""What the fault suite breaks: its own redis-server, and a loopback proxy that can black-hole.

:class:`RedisServer` runs ``redis-server`` on a spare loopback port as a child
process with no persistence (``--save '' --appendonly no``): :meth:`stop` is an
outage that loses everything, :meth:`start` brings back an empty Redis, as a
restarted cache node does.

:class:`BlackHoleProxy` forwards a loopback port to it; :meth:`black_hole`
makes it accept connections and never forward a byte either way (open
connections stall too), which is what a partitioned or wedged Redis looks
like to a client: nothing is refused, nothing answers.
:meth:`swallow_next_reply` drops the next answer coming back (the command did
run on Redis): an ambiguous timeout, where the client cannot know whether its
write happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise RuntimeError("redis-server is not installed (ops/system-packages.sh installs redis-server)")
        self.directory = directory
        self.port = free_loopback_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        assert self.process is None, "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as probe:
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


class BlackHoleProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._forwarding = asyncio.Event()
        self._forwarding.set()
        self._swallow_replies = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self, port: int = 0) -> None:
        """Listen on ``port`` (0: a spare one); a restarted proxy passes its old port again."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    def black_hole(self) -> None:
        self._forwarding.clear()

    def resume(self) -> None:
        self._forwarding.set()

    def swallow_next_reply(self) -> None:
        self._swallow_replies += 1

    @property
    def replies_swallowed_pending(self) -> int:
        return self._swallow_replies

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        self._writers.add(writer)
        upstream_writer = None
        try:
            await self._forwarding.wait()  # accepted; while black-holed, never connected onwards
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            self._writers.add(upstream_writer)
            await asyncio.gather(self._pump(reader, upstream_writer), self._pump(upstream_reader, writer, replies=True))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for each in (writer, upstream_writer):
                if each is not None:
                    self._writers.discard(each)
                    each.close()
                    with contextlib.suppress(Exception):
                        await each.wait_closed()
            self._tasks.discard(task)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, replies: bool = False) -> None:
        try:
            while data := await reader.read(65536):
                await self._forwarding.wait()  # a black hole holds the bytes: nothing arrives either way
                if replies and self._swallow_replies:
                    self._swallow_replies -= 1  # Redis answered; the client never hears it
                    continue
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
