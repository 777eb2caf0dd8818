"""The loopback SMTP server of ``zelly dev`` and the tests: every message kept as one .eml file.

A real SMTP server (aiosmtpd) in the calling event loop, bound to loopback
only: the outbox sends to it exactly as it sends to a provider in production,
and nothing leaves the machine. Each message is written atomically to
``<directory>/<UTC time>-<sequence>.eml`` (the bytes as received, with a
``X-Zelly-Envelope-To`` line on top), so ``zelly mail list|show`` and a mail
client can read them and a test can wait for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import itertools
import os
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import AsyncIterator

from aiosmtpd.smtp import SMTP, Envelope, Session

from origin.numbers import parse_bounded_int

ENVELOPE_HEADER = "X-Zelly-Envelope-To"


@dataclass(frozen=True)
class StoredMail:
    path: Path
    envelope_to: tuple[str, ...]
    message: EmailMessage

    @property
    def name(self) -> str:
        return self.path.name


class MailDirectory:
    """The .eml files of one mailbox directory, oldest first."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._sequence = itertools.count(1)

    def save(self, envelope_to: list[str], content: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.directory / f"{stamp}-{next(self._sequence):04d}.eml"
        header = f"{ENVELOPE_HEADER}: {', '.join(envelope_to)}\r\n".encode()
        partial = path.with_suffix(".eml.partial")
        partial.write_bytes(header + content)
        os.replace(partial, path)  # a reader never sees half a message
        return path

    def paths(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.eml"))

    def read(self, path: Path) -> StoredMail:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        envelope = tuple(part.strip() for part in str(message.get(ENVELOPE_HEADER, "")).split(",") if part.strip())
        del message[ENVELOPE_HEADER]
        return StoredMail(path=path, envelope_to=envelope, message=message)  # type: ignore[arg-type]

    def messages(self) -> list[StoredMail]:
        return [self.read(path) for path in self.paths()]

    def find(self, name: str) -> StoredMail | None:
        """A message by file name, or by a unique prefix of it, or by its number in ``list`` (1 = oldest)."""
        paths = self.paths()
        number = parse_bounded_int(name, low=1, high=len(paths))  # ASCII digits: '²' made int() raise
        if number is not None:
            return self.read(paths[number - 1])
        matches = [path for path in paths if path.name.startswith(name)]
        return self.read(matches[0]) if len(matches) == 1 else None


class _KeepEveryMessage:
    def __init__(self, mailbox: MailDirectory, received: asyncio.Condition, refuse_recipients: frozenset[str]) -> None:
        self.mailbox = mailbox
        self.received = received
        self.refuse_recipients = refuse_recipients

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:
        if address.lower() in self.refuse_recipients:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.mailbox.save(list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        async with self.received:
            self.received.notify_all()
        return "250 Message accepted for delivery"


@dataclass
class LoopbackMailServer:
    host: str
    port: int
    mailbox: MailDirectory
    received: asyncio.Condition
    connections: list[int]  # [count]: SMTP connections accepted so far (how many sessions a sender opened)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[StoredMail]:
        """Until at least ``count`` messages are stored (a test's wait, not a sleep)."""
        async with asyncio.timeout(timeout):
            async with self.received:
                await self.received.wait_for(lambda: len(self.mailbox.paths()) >= count)
        return self.mailbox.messages()


@contextlib.asynccontextmanager
async def run_mail_server(
    directory: Path, *, host: str = "127.0.0.1", port: int = 0, refuse_recipients: set[str] | frozenset[str] = frozenset()
) -> AsyncIterator[LoopbackMailServer]:
    """An SMTP server on ``host:port`` (0: any free port) until the block ends.

    ``refuse_recipients`` are answered 550 at RCPT TO, as a provider answers an unknown mailbox.
    """
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError(f"the dev mail server binds loopback only, not {host!r}")
    mailbox = MailDirectory(directory)
    received = asyncio.Condition()
    handler = _KeepEveryMessage(mailbox, received, frozenset(address.lower() for address in refuse_recipients))
    loop = asyncio.get_running_loop()
    connections = [0]

    def session() -> SMTP:
        connections[0] += 1
        return SMTP(handler, hostname="zelly-dev-mail", enable_SMTPUTF8=True, timeout=30)

    server = await loop.create_server(session, host=host, port=port)
    try:
        bound_port = server.sockets[0].getsockname()[1]
        yield LoopbackMailServer(host=host, port=bound_port, mailbox=mailbox, received=received, connections=connections)
    finally:
        server.close()
        server.close_clients()  # a client that never sent QUIT must not hold the shutdown
        await server.wait_closed()
