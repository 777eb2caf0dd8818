"""Sending over real SMTP (aiosmtpd on a loopback port): after commit only, once, retried, leased."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from ops.mail_server import run_mail_server
from origin.db import utcnow
from origin.invalidation import transaction
from origin.outbox.actions import queue_email
from origin.outbox.sending import (
    LEASE, MAX_ATTEMPTS, MESSAGE_BUDGET, SEND_BATCH, SweepResult, _Connection, _send_batch, claim, send_due, send_one,
)
from origin.outbox.tables import email_outbox
from origin.outbox.templates import EmailTemplate
from origin.services import open_services
from tests.factories import make_tenant
from tests.outbox.contexts import order_context


async def queue(services, tenant_id: int, key: str, *, to: str = "ann@example.com", number: str = "#1001") -> None:
    async with transaction(services) as (conn, after_commit):
        await queue_email(
            conn, after_commit, tenant_id=tenant_id, to=to, template=EmailTemplate.ORDER_CONFIRMATION,
            context=order_context(number=number), dedupe_key=key,
        )


async def rows(services) -> list[dict]:
    async with services.db.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(sa.select(email_outbox).order_by(email_outbox.c.id))]


async def test_after_commit_the_worker_delivers_a_multipart_alternative_message(services, smtp_server, email_worker) -> None:
    tenant = await make_tenant(services)

    await queue(services, tenant.id, "order:1:confirmation")
    [received] = await smtp_server.wait_for(1)
    await email_worker.drain()

    message = received.message
    [row] = await rows(services)
    assert received.envelope_to == ("ann@example.com",)
    assert (message["To"], message["From"], message["Subject"]) == (
        "ann@example.com", "Acme Goods <orders@shops.example.com>", "Order #1001 confirmed - Acme Goods",
    )
    assert message["Message-ID"] == f"<{row['id']}.{tenant.id}.outbox@shops.example.com>"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    # SMTP carries CRLF line ends; the row keeps the rendered text as it was.
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == row["text_body"]
    assert message.get_body(("html",)).get_content().replace("\r\n", "\n") == row["html_body"]
    assert "Socks &lt;3 &amp; more" in row["html_body"]
    assert (row["status"], row["attempts"], row["last_error"], row["claim_token"]) == ("sent", 1, None, None)
    assert row["sent_at"] is not None


async def test_a_shops_name_with_line_breaks_and_accents_goes_out_as_one_encoded_header_each(services, smtp_server, email_worker) -> None:
    """The shop's name is the merchant's text: in From and in the Subject it may not start a header of its own."""
    tenant = await make_tenant(services)
    context = order_context(number="#1002")
    context["store"]["name"] = "Bäckerei Müller\r\nBcc: everyone@example.net"
    async with transaction(services) as (conn, after_commit):
        await queue_email(
            conn, after_commit, tenant_id=tenant.id, to="ann@example.com", template=EmailTemplate.ORDER_CONFIRMATION,
            context=context, dedupe_key="order:2:confirmation",
        )
    [received] = await smtp_server.wait_for(1)
    await email_worker.drain()

    message = received.message
    [row] = await rows(services)
    assert message["Bcc"] is None and received.envelope_to == ("ann@example.com",)
    assert message["From"].addresses[0].display_name == "Bäckerei Müller Bcc: everyone@example.net"
    assert message["Subject"] == " ".join(row["subject"].splitlines())
    assert "Müller" in message["Subject"]
    unix = lambda text: text.replace("\r\n", "\n")  # noqa: E731  (SMTP carries CRLF; the name brought its own)
    assert unix(message.get_body(("plain",)).get_content()) == unix(row["text_body"])
    assert unix(message.get_body(("html",)).get_content()) == unix(row["html_body"])
    assert message.defects == [] and all(part.defects == [] for part in message.iter_parts())


async def test_a_rolled_back_transaction_sends_nothing(services, smtp_server, email_worker) -> None:
    tenant = await make_tenant(services)

    with pytest.raises(RuntimeError):
        async with transaction(services) as (conn, after_commit):
            await queue_email(
                conn, after_commit, tenant_id=tenant.id, to="ann@example.com", template=EmailTemplate.ORDER_CONFIRMATION,
                context=order_context(), dedupe_key="order:1:confirmation",
            )
            raise RuntimeError("payment failed")
    await email_worker.drain()
    swept = await send_due(services)

    assert (swept.sent, swept.retrying, swept.dead) == (0, 0, 0)
    assert smtp_server.mailbox.messages() == []
    assert await rows(services) == []


async def test_the_same_dedupe_key_twice_sends_one_message(services, smtp_server, email_worker) -> None:
    tenant = await make_tenant(services)

    await queue(services, tenant.id, "order:1:confirmation")
    await queue(services, tenant.id, "order:1:confirmation", number="#2002")  # a replayed webhook, say
    await smtp_server.wait_for(1)
    await email_worker.drain()
    await send_due(services, now=utcnow() + dt.timedelta(days=1))

    assert [m.message["Subject"] for m in smtp_server.mailbox.messages()] == ["Order #1001 confirmed - Acme Goods"]


async def test_smtp_down_is_retried_with_back_off_and_delivered_exactly_once(services, settings, tmp_path: Path) -> None:
    tenant = await make_tenant(services)
    await queue(services, tenant.id, "order:1:confirmation")  # no task queue here: only the sweep sends
    t0 = utcnow()

    down = await send_due(services, now=t0)
    [after_failure] = await rows(services)
    too_soon = await send_due(services, now=t0 + dt.timedelta(seconds=59))
    async with run_mail_server(tmp_path / "mail", port=settings.smtp_port) as server:
        up = await send_due(services, now=t0 + dt.timedelta(minutes=1))
        again = await send_due(services, now=t0 + dt.timedelta(days=1))
        delivered = server.mailbox.messages()
    [row] = await rows(services)

    assert (down.sent, down.retrying, down.dead) == (0, 1, 0)
    assert (after_failure["status"], after_failure["attempts"], after_failure["next_attempt_at"]) == ("pending", 1, t0 + dt.timedelta(minutes=1))
    assert "SMTPConnectError" in after_failure["last_error"]
    assert (too_soon.sent, too_soon.retrying) == (0, 0)
    assert (up.sent, again.sent) == (1, 0)
    assert len(delivered) == 1
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, None)


async def test_after_the_last_attempt_the_row_is_dead_and_stays_visible(services) -> None:
    tenant = await make_tenant(services)
    await queue(services, tenant.id, "order:1:confirmation")
    at = utcnow()

    outcomes = []
    for _ in range(MAX_ATTEMPTS + 2):
        outcomes.append(await send_due(services, now=at))
        at += dt.timedelta(days=1)
    [row] = await rows(services)

    assert [o.retrying for o in outcomes] == [1] * (MAX_ATTEMPTS - 1) + [0, 0, 0]
    assert [o.dead for o in outcomes] == [0] * (MAX_ATTEMPTS - 1) + [1, 0, 0]
    assert (row["status"], row["attempts"], row["sent_at"]) == ("dead", MAX_ATTEMPTS, None)
    assert "SMTPConnectError" in row["last_error"]


async def test_a_permanent_refusal_is_dead_at_once(services, settings, tmp_path: Path) -> None:
    tenant = await make_tenant(services)
    await queue(services, tenant.id, "order:1:confirmation", to="nobody@example.com")
    await queue(services, tenant.id, "order:2:confirmation", to="ann@example.com", number="#1002")

    async with run_mail_server(tmp_path / "mail", port=settings.smtp_port, refuse_recipients={"nobody@example.com"}) as server:
        swept = await send_due(services)
        delivered = server.mailbox.messages()
    refused, sent = await rows(services)

    assert (swept.sent, swept.retrying, swept.dead) == (1, 0, 1)
    assert [m.envelope_to for m in delivered] == [("ann@example.com",)]
    assert (refused["status"], refused["attempts"]) == ("dead", 1)
    assert "550" in refused["last_error"]
    assert sent["status"] == "sent"


async def test_two_concurrent_senders_send_each_row_once(services, settings, smtp_server) -> None:
    tenant = await make_tenant(services)
    for number in range(1, 31):
        await queue(services, tenant.id, f"order:{number}:confirmation", number=f"#{1000 + number}")

    # A second process: its own pools, the same database.
    async with open_services(settings, with_analytics=False) as second:
        first_result, second_result = await asyncio.gather(send_due(services), send_due(second))
    delivered = smtp_server.mailbox.messages()

    assert first_result.sent + second_result.sent == 30
    assert first_result.retrying + second_result.retrying == 0
    assert len(delivered) == 30
    assert len({m.message["Message-ID"] for m in delivered}) == 30
    assert {row["status"] for row in await rows(services)} == {"sent"}


async def test_a_crashed_senders_lease_holds_until_it_runs_out_then_the_same_message_id_is_resent(services, smtp_server) -> None:
    tenant = await make_tenant(services)
    await queue(services, tenant.id, "order:1:confirmation")
    [row] = await rows(services)
    t0 = utcnow()

    crashed = await claim(services, row["id"], t0)  # claimed, then the process died before SMTP
    within_lease = await send_due(services, now=t0 + LEASE - dt.timedelta(seconds=1))
    after_lease = await send_due(services, now=t0 + LEASE + dt.timedelta(seconds=1))
    [received] = smtp_server.mailbox.messages()
    [final] = await rows(services)

    assert crashed is not None
    assert (within_lease.sent, after_lease.sent) == (0, 1)
    assert received.message["Message-ID"] == f"<{row['id']}.{tenant.id}.outbox@shops.example.com>"
    assert (final["status"], final["attempts"]) == ("sent", 2)


async def test_concurrent_send_tasks_share_one_claim_and_one_smtp_connection(services, smtp_server) -> None:
    # 25 commits kick 25 send tasks at once (a checkout rush): they are sent in claims of
    # SEND_BATCH over one connection, each row once, and each task learns its own row's outcome.
    tenant = await make_tenant(services)
    for number in range(1, 26):
        await queue(services, tenant.id, f"order:{number}:confirmation", number=f"#{1000 + number}")
    ids = [row["id"] for row in await rows(services)]
    claims = []
    event.listen(services.db.sync_engine, "before_cursor_execute", lambda *args: claims.append(args[2]) if "claim_token=" in args[2] else None)

    outcomes = await asyncio.gather(*(send_one(services, outbox_id, tenant_id=tenant.id) for outbox_id in ids + ids[:3]))
    delivered = smtp_server.mailbox.messages()

    assert [o.sent for o in outcomes] == [1] * 25 + [0, 0, 0]  # a row kicked twice is sent (and counted) once
    assert len(delivered) == 25
    assert len({m.message["Message-ID"] for m in delivered}) == 25
    assert smtp_server.connections == [1]
    claim_updates = [sql for sql in claims if sql.lstrip().upper().startswith("UPDATE") and "attempts" in sql]
    assert len(claim_updates) == -(-25 // SEND_BATCH)  # one claim per batch, not one per mail
    assert {(row["status"], row["attempts"]) for row in await rows(services)} == {("sent", 1)}


async def test_a_send_task_never_claims_another_tenants_row(services, smtp_server) -> None:
    ours, theirs = await make_tenant(services, slug="ours"), await make_tenant(services, slug="theirs")
    await queue(services, theirs.id, "order:1:confirmation")
    [row] = await rows(services)

    outcome = await send_one(services, row["id"], tenant_id=ours.id)
    [after] = await rows(services)

    assert outcome.sent == 0
    assert smtp_server.mailbox.messages() == []
    assert (after["status"], after["attempts"], after["claim_token"]) == ("pending", 0, None)


async def test_rows_the_lease_no_longer_covers_are_released_untried(services, smtp_server) -> None:
    # A sender whose clock has run to the end of its lease (a stalled SMTP server) stops, and
    # gives the rest back due, with the attempt undone: never sent on a lease about to run out.
    tenant = await make_tenant(services)
    await queue(services, tenant.id, "order:1:confirmation")
    await queue(services, tenant.id, "order:2:confirmation", number="#1002")
    [first, second] = await rows(services)
    t0 = utcnow()
    connection = _Connection(services.settings)
    # claim at t0, first row checked at t0, second row checked just inside MESSAGE_BUDGET of the lease's end
    times = [t0, t0, t0 + LEASE - MESSAGE_BUDGET + dt.timedelta(seconds=1)]

    def clock() -> dt.datetime:
        return times.pop(0) if len(times) > 1 else times[0]

    try:
        outcomes = await _send_batch(services, connection, [(first["id"], None), (second["id"], None)], clock)
    finally:
        await connection.close()
    sent, released = await rows(services)

    assert outcomes == {first["id"]: SweepResult(sent=1)}
    assert [m.message["Subject"] for m in smtp_server.mailbox.messages()] == ["Order #1001 confirmed - Acme Goods"]
    assert (sent["status"], sent["attempts"]) == ("sent", 1)
    assert (released["status"], released["attempts"], released["claim_token"], released["claimed_until"]) == ("pending", 0, None, None)
