"""Sending over real SMTP (aiosmtpd on a loopback port): after commit only, once, retried, leased."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from ops.mail_server import run_mail_server
from origin.db import utcnow
from origin.invalidation import transaction
from origin.outbox.actions import queue_email
from origin.outbox.sending import LEASE, MAX_ATTEMPTS, claim, send_due
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
