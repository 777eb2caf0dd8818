"""The processes `zelly stack` runs: start each, wait until it serves, stop them tier by tier.

Every child gets its own session (a Ctrl-C in the terminal reaches only the
stack, which then stops the children in order instead of all at once) and
asks the kernel for SIGTERM when the stack dies (PR_SET_PDEATHSIG, as Caddy
does in tls/caddy_process.py), so a SIGKILLed stack leaves nothing behind.
Output goes to one log file per child under ``<data dir>/stack/logs``.

A child that exits on its own is reported with the tail of its log and left
down: the stack is for seeing the topology behave (the journey test kills
an origin on purpose and the other must carry the load), not a supervisor
that hides a crash by restarting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Sequence

import httpx

from tls.caddy_process import CaddyProcess, die_with_parent

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 15.0  # per tier: above every process's own drain bound (ops/serve.py DRAIN_BOUND_S, taskiq's 2 + 2 s)
READY_TIMEOUT_S = 120.0  # importing the app takes seconds on a busy 2-core machine; a dead child fails at once


class ChildFailed(Exception):
    """A child exited during start-up or never became ready: one line and its log's tail."""


ReadyCheck = Callable[[httpx.AsyncClient], Awaitable[bool]]


def http_ready(url: str) -> ReadyCheck:
    """Ready once ``url`` answers at all (any status: the listener is up and the app answers)."""

    async def check(client: httpx.AsyncClient) -> bool:
        try:
            await client.get(url, timeout=2)
            return True
        except httpx.TransportError:
            return False

    return check


@dataclass
class Child:
    """One process of the topology: its command, environment and how to tell it serves."""

    name: str
    argv: Sequence[str]
    environment: dict[str, str]
    log_path: Path
    ready: ReadyCheck | None = None  # None: ready once started (workers, schedulers, consumer)
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    stopping: bool = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, env=self.environment, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output,
                start_new_session=True, preexec_fn=die_with_parent(os.getpid()) if sys.platform == "linux" else None,
            )

    async def wait_ready(self, client: httpx.AsyncClient, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self.process is None or self.process.returncode is not None:
                raise ChildFailed(f"{self.name} exited during start-up ({self.exit_text()}); log {self.log_path}:\n{self.log_tail()}")
            if self.ready is None or await self.ready(client):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise ChildFailed(f"{self.name} was not ready after {timeout:.0f}s; log {self.log_path}:\n{self.log_tail()}")
            await asyncio.sleep(0.2)

    async def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM (each Zelly process drains on it), SIGKILL after ``timeout``."""
        self.stopping = True
        if self.process is None:
            return
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                log.warning("stack: %s did not stop within %.0fs of SIGTERM; killing it", self.name, timeout)
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        # What it started and left behind (a taskiq worker process its supervisor restarted, a granian worker):
        # the child leads its own session, so its process group holds them; PR_SET_PDEATHSIG does not pass to them.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def exit_text(self) -> str:
        code = self.process.returncode if self.process is not None else None
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class CaddyChild:
    """Caddy through tls.caddy_process (its own start, readiness and stop), in the same tiers."""

    name: str
    caddy: CaddyProcess
    stopping: bool = False

    @property
    def pid(self) -> int | None:
        return self.caddy.pid

    @property
    def log_path(self) -> Path:
        return self.caddy.log_path

    async def start(self) -> None:
        self.caddy.start()  # in this thread: PR_SET_PDEATHSIG follows the thread that forked

    async def wait_ready(self, client: httpx.AsyncClient, timeout: float = READY_TIMEOUT_S) -> None:
        await asyncio.to_thread(self.caddy.wait_ready)

    async def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        self.stopping = True
        await asyncio.to_thread(self.caddy.stop)


async def start_tier(tier: Sequence[Child | CaddyChild], client: httpx.AsyncClient) -> None:
    """Start every child of a tier together, then wait until each is ready."""
    for child in tier:
        await child.start()
    await asyncio.gather(*(child.wait_ready(client) for child in tier))


async def stop_tiers(tiers: Sequence[Sequence[Child | CaddyChild]], echo: Callable[[str], None]) -> None:
    """Stop front to back: nothing new comes in while the tiers behind it drain what they hold."""
    for tier in tiers:
        if not tier:
            continue
        echo(f"stack: stopping {', '.join(child.name for child in tier)}")
        await asyncio.gather(*(child.stop() for child in tier))


async def watch_for_exits(children: Sequence[Child], echo: Callable[[str], None]) -> None:
    """Say so when a child exits that nobody stopped (until cancelled)."""

    async def watch(child: Child) -> None:
        assert child.process is not None
        await child.process.wait()
        if not child.stopping:
            echo(f"stack: {child.name} (pid {child.pid}) exited on its own ({child.exit_text()}); the rest keep running. "
                 f"Its log, {child.log_path}:\n{child.log_tail(5)}")

    await asyncio.gather(*(watch(child) for child in children))
