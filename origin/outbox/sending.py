"""Sending: claim due rows with a lease, send each over SMTP, record the outcome.

The guarantees (docs/email.md):

- **A row is sent by one sender at a time.** A sender first claims the row with
  one conditional UPDATE (pending, due, and no live lease), which sets a fresh
  token and ``claimed_until``; only the sender whose UPDATE matched sends, and
  only its token can mark the row afterwards. Two workers, or the send task
  racing the sweep, never send one row twice. This needs no ``SKIP LOCKED``,
  so it is the same on MariaDB and SQLite.
- **Delivery is at least once.** A sender that dies between the SMTP ``DATA``
  and its UPDATE leaves the row claimed; once the lease ran out the sweep sends
  it again, with the same ``Message-ID`` (``<id.tenant.outbox@domain>``), so a
  resend after a crash is recognisable. The lease is far longer than the SMTP
  timeout, so a live sender never loses its row to another.
- **Failures retry with back-off, then give up.** A transient failure (server
  down, 4xx, timeout) sets ``next_attempt_at`` by ``backoff(attempts)``; a
  permanent refusal of the recipient or the message (5xx) or the
  ``MAX_ATTEMPTS``-th failure makes the row ``dead``, with ``last_error``: the
  merchant sees it in the API, an operator can retry it (``zelly mail retry``).

Every function takes ``now`` so the tests can step over a back-off instead of
sleeping through it.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
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
SMTP_TIMEOUT_SECONDS = 30.0  # per SMTP command; with one message per row, far below LEASE
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


def build_message(row: Any, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    local, _, domain = settings.mail_from.rpartition("@")
    message["From"] = Address(display_name=row.from_name or "", username=local, domain=domain)
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = message_id(row.id, row.tenant_id, settings)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders must not answer
    message.set_content(row.text_body)
    message.add_alternative(row.html_body, subtype="html")
    return message


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
    """The row, if this call won its lease (one conditional UPDATE, committed at once); else None."""
    token = secrets.token_hex(16)
    where = sa.and_(email_outbox.c.id == outbox_id, _due(now))
    if tenant_id is not None:
        where = sa.and_(where, email_outbox.c.tenant_id == tenant_id)
    async with sqlite_writer_turn(services.db), services.db.begin() as conn:
        result = await conn.execute(
            email_outbox.update().where(where).values(
                claim_token=token, claimed_until=now + LEASE, attempts=email_outbox.c.attempts + 1
            )
        )
        if result.rowcount != 1:
            return None
        return (await conn.execute(sa.select(email_outbox).where(email_outbox.c.id == outbox_id))).one()


async def record_sent(services: Services, row: Any, now: dt.datetime) -> None:
    async with sqlite_writer_turn(services.db), services.db.begin() as conn:
        result = await conn.execute(
            email_outbox.update()
            .where(email_outbox.c.id == row.id, email_outbox.c.claim_token == row.claim_token)
            .values(status=STATUS_SENT, sent_at=now, claim_token=None, claimed_until=None, last_error=None)
        )
    if result.rowcount != 1:  # only after a lease ran out under a stalled sender; the Message-ID tells the copies apart
        log.warning("outbox row %s was sent after its lease ran out; another sender may send it again", row.id)


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


async def _send(services: Services, outbox_ids: list[int], now: dt.datetime | None, *, tenant_id: int | None = None) -> SweepResult:
    """Claim and send each row in turn over one SMTP connection; each outcome is recorded on its row.

    Each row is claimed just before its send, so a lease runs for one message, never for
    the wait behind a whole batch.
    """
    result = SweepResult()
    settings = services.settings
    smtp = make_smtp(settings)
    unreachable: BaseException | None = None  # one failed connect fails the rest of the batch: no 30 s wait per row
    try:
        for outbox_id in outbox_ids:
            at = now or utcnow()  # the clock of this row's lease, not of the batch's start
            row = await claim(services, outbox_id, at, tenant_id=tenant_id)
            if row is None:  # sent, dead, not due, or another sender holds it
                continue
            try:
                if unreachable is not None:
                    raise unreachable
                if not smtp.is_connected:
                    try:
                        await smtp.connect()
                    except (aiosmtplib.SMTPException, OSError) as error:
                        unreachable = error
                        raise
                await smtp.send_message(build_message(row, settings), sender=settings.mail_from, recipients=[row.to_address])
            except (aiosmtplib.SMTPException, OSError) as error:  # down, refusing, timed out: recorded on the row
                outcome = await record_failure(services, row, now or utcnow(), error)
                result += SweepResult(retrying=int(outcome == STATUS_PENDING), dead=int(outcome == STATUS_DEAD))
                continue
            await record_sent(services, row, now or utcnow())
            result += SweepResult(sent=1)
    finally:
        if smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):  # the messages are sent and recorded; a failed goodbye changes nothing
                smtp.close()
    return result


async def send_one(services: Services, outbox_id: int, *, tenant_id: int | None = None, now: dt.datetime | None = None) -> SweepResult:
    """The send task: this row, if it is still due and no one else holds it."""
    return await _send(services, [outbox_id], now, tenant_id=tenant_id)


async def send_due(services: Services, *, now: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> SweepResult:
    """The sweep: every due row (oldest first, ``limit`` per call), whatever happened to its send task."""
    async with services.db.connect() as conn:
        ids = (
            await conn.execute(sa.select(email_outbox.c.id).where(_due(now or utcnow())).order_by(email_outbox.c.next_attempt_at, email_outbox.c.id).limit(limit))
        ).scalars().all()
    return await _send(services, list(ids), now)
