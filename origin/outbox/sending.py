"""Sending: claim due rows with a lease, send each over SMTP, record the outcome.

The guarantees (docs/email.md):

- **A row is sent by one sender at a time.** A sender first claims its rows with
  one conditional UPDATE (pending, due, and no live lease), which sets a fresh
  token and ``claimed_until``; only the sender whose UPDATE matched a row sends
  it, and only its token can mark the row afterwards. A sender claims up to
  ``SEND_BATCH`` rows at once and sends them over one SMTP connection; the send
  tasks of one process hand their rows to one such sender (``_Coalescer``). Two workers, or the send task
  racing the sweep, never send one row twice. This needs no ``SKIP LOCKED``,
  so it is the same on MariaDB and SQLite.
- **Delivery is at least once.** A sender that dies between the SMTP ``DATA``
  and its UPDATE leaves the row claimed; once the lease ran out the sweep sends
  it again, with the same ``Message-ID`` (``<id.tenant.outbox@domain>``), so a
  resend after a crash is recognisable. The sent rows of a batch are recorded
  together after it, so such a crash resends at most one batch. A row is sent
  only while its lease still covers ``MESSAGE_BUDGET`` (the SMTP timeouts of
  one message), so a live sender never loses a row it is sending to another.
- **Failures retry with back-off, then give up.** A transient failure (server
  down, 4xx, timeout) sets ``next_attempt_at`` by ``backoff(attempts)``; a
  permanent refusal of the recipient or the message (5xx) or the
  ``MAX_ATTEMPTS``-th failure makes the row ``dead``, with ``last_error``: the
  merchant sees it in the API, an operator can retry it (``zelly mail retry``).

Every function takes ``now`` so the tests can step over a back-off instead of
sleeping through it.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import secrets
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr
from typing import Any

import aiosmtplib
import sqlalchemy as sa

from origin.db import sqlite_writer_turn, utcnow
from origin.outbox.tables import STATUS_DEAD, STATUS_PENDING, STATUS_SENT, email_outbox
from origin.services import Services
from origin.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10  # 1 + 2 + 4 ... + 256 minutes: about 8.5 hours of back-off before giving up
LEASE = dt.timedelta(minutes=5)
SMTP_TIMEOUT_SECONDS = 30.0  # per SMTP command
# A message is MAIL, RCPT, DATA: the longest a live sender can take over one. A claimed row is sent
# only while its lease still covers that, so a live sender never loses a row it is sending.
MESSAGE_BUDGET = dt.timedelta(seconds=3 * SMTP_TIMEOUT_SECONDS)
SEND_BATCH = 20  # rows per claim: one UPDATE and one record per batch; a crash before the record resends at most these
SWEEP_BATCH = 100
ERROR_TEXT_LIMIT = 2000


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next attempt after ``attempts`` failed ones: 1 min, 2, 4 ... capped at 6 h."""
    return min(dt.timedelta(minutes=2 ** (attempts - 1)), dt.timedelta(hours=6))


@dataclass(frozen=True)
class SweepResult:
    sent: int = 0
    retrying: int = 0
    dead: int = 0

    def __add__(self, other: "SweepResult") -> "SweepResult":
        return SweepResult(self.sent + other.sent, self.retrying + other.retrying, self.dead + other.dead)


def message_id(outbox_id: int, tenant_id: int, settings: Settings) -> str:
    """Stable per row: a resend after a crash carries the same Message-ID as the first send."""
    domain = settings.mail_from.rpartition("@")[2]
    return f"<{outbox_id}.{tenant_id}.outbox@{domain}>"


# The message is written here rather than by the stdlib's email package: its generator refolds every header
# and compiles a regular expression per message (for the boundary), 1.3 ms per confirmation with EmailMessage
# and 0.4 ms with the compat32 classes against about 0.05 ms here, and on the embedded default the origin's own
# core sends each mail. What it writes is fixed: two base64 alternatives (text, HTML) in UTF-8, the only
# free-form headers (the shop's name, the subject) RFC 2047-encoded by email.header where they need it.


def _header_text(value: str) -> str:
    """A merchant's text as one header line's content: no line break can start another header."""
    return " ".join(value.splitlines()) if ("\r" in value or "\n" in value) else value


def _encoded_header(name: str, value: str) -> str:
    text = _header_text(value)
    if text.isascii() and len(text) < 900:
        return f"{name}: {text}"
    return f"{name}: " + Header(text, "utf-8", header_name=name).encode(linesep="\r\n")


def _base64_body(text: str) -> str:
    return base64.encodebytes(text.encode()).decode("ascii").replace("\n", "\r\n")


def build_message(row: Any, settings: Settings) -> bytes:
    """The row as the bytes sent over SMTP: text and HTML alternatives in UTF-8, non-ASCII headers RFC 2047-encoded."""
    boundary = f"=_zelly_{secrets.token_hex(12)}"  # "_" is not base64: it cannot occur in a body
    part = 'Content-Type: text/{kind}; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    lines = [
        "From: " + formataddr((_header_text(row.from_name or ""), settings.mail_from), charset="utf-8"),
        f"To: {row.to_address}",  # validate_address: one mailbox, no whitespace
        _encoded_header("Subject", row.subject),
        f"Date: {format_datetime(row.created_at)}",
        f"Message-ID: {message_id(row.id, row.tenant_id, settings)}",
        "Auto-Submitted: auto-generated",  # RFC 3834: auto-responders must not answer
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        f"--{boundary}\r\n" + part.format(kind="plain") + _base64_body(row.text_body)
        + f"--{boundary}\r\n" + part.format(kind="html") + _base64_body(row.html_body)
        + f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).encode()


def make_smtp(settings: Settings) -> aiosmtplib.SMTP:
    start_tls = {"auto": None, "always": True, "never": False}[settings.smtp_starttls]
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username or None,
        password=settings.smtp_password.reveal() if settings.smtp_username else None,
        start_tls=start_tls,
        timeout=SMTP_TIMEOUT_SECONDS,
    )


def is_permanent(error: BaseException) -> bool:
    """The server refused this recipient or this message for good (5xx): another attempt cannot help."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(refusal.code >= 500 for refusal in error.recipients)
    if isinstance(error, (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError)):
        return error.code >= 500
    # Everything else (connection, timeout, 4xx, AUTH, our sender refused) is the server's or our
    # configuration's state, not this message's: it is retried.
    return False


def _due(now: dt.datetime):
    return sa.and_(
        email_outbox.c.status == STATUS_PENDING,
        email_outbox.c.next_attempt_at <= now,
        sa.or_(email_outbox.c.claimed_until.is_(None), email_outbox.c.claimed_until < now),
    )


async def claim(services: Services, outbox_id: int, now: dt.datetime, *, tenant_id: int | None = None) -> Any | None:
    """The row, if this call won its lease (committed at once); else None."""
    rows = await claim_many(services, [(outbox_id, tenant_id)], now)
    return rows[0] if rows else None


async def claim_many(services: Services, wanted: Sequence[tuple[int, int | None]], now: dt.datetime) -> list[Any]:
    """The rows of ``wanted`` ((outbox id, tenant id or None)) whose lease this call won, under one token.

    One conditional UPDATE for the whole batch, committed at once: a batch of mails costs the
    database (and, on SQLite, the shared write turn placements wait for) one claim, not one per
    mail. SQLite answers with the claimed rows (``RETURNING``); MariaDB has no ``UPDATE ...
    RETURNING``, so there the rows are read back by their token in the same transaction.
    """
    if not wanted:
        return []
    token = secrets.token_hex(16)
    by_tenant: dict[int | None, list[int]] = {}
    for outbox_id, tenant_id in wanted:
        by_tenant.setdefault(tenant_id, []).append(outbox_id)
    # A tenant-scoped id (the send task names its tenant) is claimed only inside that tenant.
    scopes = [
        email_outbox.c.id.in_(ids) if tenant_id is None else sa.and_(email_outbox.c.tenant_id == tenant_id, email_outbox.c.id.in_(ids))
        for tenant_id, ids in by_tenant.items()
    ]
    update = email_outbox.update().where(sa.or_(*scopes), _due(now)).values(
        claim_token=token, claimed_until=now + LEASE, attempts=email_outbox.c.attempts + 1
    )
    async with sqlite_writer_turn(services.db), services.db.begin() as conn:
        if conn.dialect.update_returning:
            rows = list(await conn.execute(update.returning(*email_outbox.c)))
        else:
            result = await conn.execute(update)
            if result.rowcount == 0:
                return []
            rows = list(await conn.execute(sa.select(email_outbox).where(email_outbox.c.claim_token == token)))
    order = {outbox_id: index for index, (outbox_id, _tenant) in enumerate(wanted)}
    return sorted(rows, key=lambda row: order.get(row.id, 0))  # in the order asked: the sweep's oldest first


async def record_sent(services: Services, row: Any, now: dt.datetime) -> None:
    await record_sent_many(services, [row], now)


async def record_sent_many(services: Services, rows: Sequence[Any], now: dt.datetime) -> None:
    """Mark rows of one claim sent, in one UPDATE: each only while its token is still the claim's."""
    if not rows:
        return
    async with sqlite_writer_turn(services.db), services.db.begin() as conn:
        result = await conn.execute(
            email_outbox.update()
            .where(email_outbox.c.id.in_([row.id for row in rows]), email_outbox.c.claim_token == rows[0].claim_token)
            .values(status=STATUS_SENT, sent_at=now, claim_token=None, claimed_until=None, last_error=None)
        )
    if result.rowcount != len(rows):  # only after a lease ran out under a stalled sender; the Message-ID tells the copies apart
        log.warning("%d of outbox rows %s were sent after their lease ran out; another sender may send them again",
                    len(rows) - result.rowcount, [row.id for row in rows])


async def release(services: Services, rows: Sequence[Any]) -> None:
    """Give back claimed rows this sender did not try (its lease would not cover them): due again, the attempt undone."""
    if not rows:
        return
    async with sqlite_writer_turn(services.db), services.db.begin() as conn:
        await conn.execute(
            email_outbox.update()
            .where(email_outbox.c.id.in_([row.id for row in rows]), email_outbox.c.claim_token == rows[0].claim_token)
            .values(claim_token=None, claimed_until=None, attempts=email_outbox.c.attempts - 1)
        )


async def record_failure(services: Services, row: Any, now: dt.datetime, error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"[:ERROR_TEXT_LIMIT]
    dead = is_permanent(error) or row.attempts >= MAX_ATTEMPTS
    values: dict[str, Any] = dict(last_error=text, claim_token=None, claimed_until=None)
    if dead:
        values["status"] = STATUS_DEAD
    else:
        values["next_attempt_at"] = now + backoff(row.attempts)
    async with sqlite_writer_turn(services.db), services.db.begin() as conn:
        await conn.execute(
            email_outbox.update().where(email_outbox.c.id == row.id, email_outbox.c.claim_token == row.claim_token).values(**values)
        )
    if dead:
        log.error("outbox row %s (tenant %s) is dead after %d attempt(s): %s", row.id, row.tenant_id, row.attempts, text)
    else:
        log.warning("outbox row %s attempt %d failed, next at %s: %s", row.id, row.attempts, values["next_attempt_at"], text)
    return STATUS_DEAD if dead else STATUS_PENDING


class _Connection:
    """One SMTP connection, opened on the first message and kept for the next ones (one EHLO, not one per mail)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp = make_smtp(settings)
        self.unreachable: BaseException | None = None  # one failed connect fails the rest of the batch: no 30 s wait per row

    async def send(self, row: Any) -> None:
        if self.unreachable is not None:
            raise self.unreachable
        if not self.smtp.is_connected:
            try:
                await self.smtp.connect()
            except (aiosmtplib.SMTPException, OSError) as error:
                self.unreachable = error
                raise
        options = [] if row.to_address.isascii() else ["SMTPUTF8"]  # a non-ASCII mailbox needs the server's SMTPUTF8
        await self.smtp.sendmail(self.settings.mail_from, [row.to_address], build_message(row, self.settings), mail_options=options)

    async def close(self) -> None:
        if self.smtp.is_connected:
            try:
                await self.smtp.quit()
            except (aiosmtplib.SMTPException, OSError):  # the messages are sent and recorded; a failed goodbye changes nothing
                self.smtp.close()


async def _send_batch(
    services: Services, connection: _Connection, wanted: Sequence[tuple[int, int | None]], clock: Callable[[], dt.datetime]
) -> dict[int, SweepResult]:
    """Claim ``wanted`` (at most SEND_BATCH) at once, send each claimed row, record the sent ones at once.

    Only rows this call claimed are sent. Before each message the lease must still cover
    MESSAGE_BUDGET; rows it no longer covers are released untried (never sent on a lease
    another sender could take over). A failure is recorded on its row at once; the sent rows
    are recorded together after the batch, so a crash before that record resends at most this
    batch, each with its own Message-ID (the at-least-once of a single row, SEND_BATCH wide).
    """
    outcomes: dict[int, SweepResult] = {}
    rows = await claim_many(services, wanted, clock())
    sent: list[Any] = []
    try:
        for index, row in enumerate(rows):
            if (clock()) + MESSAGE_BUDGET > row.claimed_until:
                await release(services, rows[index:])
                break
            try:
                await connection.send(row)
            except (aiosmtplib.SMTPException, OSError) as error:  # down, refusing, timed out: recorded on the row
                outcome = await record_failure(services, row, clock(), error)
                outcomes[row.id] = SweepResult(retrying=int(outcome == STATUS_PENDING), dead=int(outcome == STATUS_DEAD))
                continue
            sent.append(row)
    finally:
        # Also when cancelled mid-batch (shutdown): what went out is recorded, the rest waits for its lease.
        await record_sent_many(services, sent, clock())
    for row in sent:
        outcomes[row.id] = SweepResult(sent=1)
    return outcomes


async def _send(services: Services, wanted: Sequence[tuple[int, int | None]], now: dt.datetime | None) -> dict[int, SweepResult]:
    """Send ``wanted`` in claims of SEND_BATCH over one SMTP connection; each outcome is recorded on its row.

    Each batch is claimed just before it is sent, so a lease runs for one batch, never for
    the wait behind all of them.
    """
    outcomes: dict[int, SweepResult] = {}
    connection = _Connection(services.settings)
    clock = utcnow if now is None else lambda: now  # each row's lease on the clock of its own send
    try:
        for start in range(0, len(wanted), SEND_BATCH):
            outcomes |= await _send_batch(services, connection, wanted[start : start + SEND_BATCH], clock)
    finally:
        await connection.close()
    return outcomes


class _Coalescer:
    """The send tasks of one process (one database engine), sent together.

    Each placement's commit kicks one send task. Sent one by one, every mail costs a claim,
    an SMTP connection and a record of its own (on the embedded default half the origin's
    CPU at checkout load, with every claim and record taking a SQLite write turn from
    placements). Here a task hands its row over and waits for its outcome: one drainer
    sends whatever rows are waiting, in claims of SEND_BATCH over one connection, and while
    it is busy the next rows gather for its next batch. A quiet shop's single mail still
    goes at once; under load the sender's cost per mail falls as the load rises.
    """

    def __init__(self) -> None:
        self.waiting: list[tuple[int, int | None, asyncio.Future[SweepResult]]] = []
        self.drainer: asyncio.Task[None] | None = None

    async def send(self, services: Services, outbox_id: int, tenant_id: int | None) -> SweepResult:
        future: asyncio.Future[SweepResult] = asyncio.get_running_loop().create_future()
        self.waiting.append((outbox_id, tenant_id, future))
        if self.drainer is None or self.drainer.done():
            self.drainer = asyncio.create_task(self._drain(services), name="outbox-sender")
        return await asyncio.shield(future)  # a cancelled task leaves its row to the batch (or the sweep)

    async def _drain(self, services: Services) -> None:
        # The outer loop: a row handed over while the connection says goodbye is sent too, on a new one.
        while self.waiting:
            connection = _Connection(services.settings)
            try:
                while self.waiting:
                    batch, self.waiting = self.waiting[:SEND_BATCH], self.waiting[SEND_BATCH:]
                    await self._send(services, connection, batch)
            finally:
                await connection.close()

    async def _send(self, services: Services, connection: _Connection, batch: list) -> None:
        wanted = list(dict.fromkeys((outbox_id, tenant_id) for outbox_id, tenant_id, _future in batch))
        try:
            outcomes = await _send_batch(services, connection, wanted, utcnow)
        except BaseException as error:
            for *_key, future in batch:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            log.warning("outbox batch %s failed (%s); its tasks retry, the sweep sends what is still due", wanted, error)
            return
        for outbox_id, _tenant_id, future in batch:
            # A row kicked twice counts once: the second waiter gets nothing sent.
            if not future.done():
                future.set_result(outcomes.pop(outbox_id, SweepResult()))


_coalescers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # sync engine -> _Coalescer, like origin.db's write turns


async def send_one(services: Services, outbox_id: int, *, tenant_id: int | None = None, now: dt.datetime | None = None) -> SweepResult:
    """The send task: this row, if it is still due and no one else holds it.

    Sent with the other rows this process's send tasks are waiting to send (``_Coalescer``);
    with ``now`` (a test stepping the clock) alone, at once.
    """
    if now is not None:
        return (await _send(services, [(outbox_id, tenant_id)], now)).get(outbox_id, SweepResult())
    engine = services.db.sync_engine
    coalescer = _coalescers.get(engine)
    if coalescer is None:
        coalescer = _coalescers[engine] = _Coalescer()
    return await coalescer.send(services, outbox_id, tenant_id)


async def send_due(services: Services, *, now: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> SweepResult:
    """The sweep: every due row (oldest first, ``limit`` per call), whatever happened to its send task."""
    async with services.db.connect() as conn:
        ids = (
            await conn.execute(sa.select(email_outbox.c.id).where(_due(now or utcnow())).order_by(email_outbox.c.next_attempt_at, email_outbox.c.id).limit(limit))
        ).scalars().all()
    outcomes = await _send(services, [(outbox_id, None) for outbox_id in ids], now)
    return sum(outcomes.values(), SweepResult())
