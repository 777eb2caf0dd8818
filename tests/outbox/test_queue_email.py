"""queue_email: one rendered row in the caller's transaction, deduplicated, the tenant's override or the default."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from origin.invalidation import transaction
from origin.outbox.actions import do_put_email_template, queue_email
from origin.outbox.errors import OutboxError
from origin.outbox.tables import email_outbox
from origin.outbox.templates import EmailTemplate, TemplateSources, default_sources
from tests.factories import make_tenant
from tests.outbox.contexts import order_context


async def _rows(services) -> list[dict]:
    async with services.db.connect() as conn:
        rows = await conn.execute(sa.select(email_outbox).order_by(email_outbox.c.id))
        return [dict(row._mapping) for row in rows]


async def test_a_committed_transaction_leaves_one_rendered_pending_row(services) -> None:
    tenant = await make_tenant(services)

    async with transaction(services) as (conn, after_commit):
        await queue_email(
            conn, after_commit, tenant_id=tenant.id, to="ann@example.com", template=EmailTemplate.ORDER_CONFIRMATION,
            context=order_context(), dedupe_key="order:1001:confirmation",
        )

    [row] = await _rows(services)
    assert (row["tenant_id"], row["template"], row["to_address"], row["status"], row["attempts"], row["sent_at"]) == (
        tenant.id, "order_confirmation", "ann@example.com", "pending", 0, None,
    )
    assert row["subject"] == "Order #1001 confirmed - Acme Goods"
    assert "- Linen Shirt (M) x 2: €98.00" in row["text_body"]
    assert "- Socks <3 & more x 1: €5.00" in row["text_body"]  # plain text is not escaped
    assert "Socks &lt;3 &amp; more" in row["html_body"]  # HTML is
    assert "Total: €107.90 EUR" in row["text_body"]
    assert "https://acme.example.com/orders/1001?token=abc" in row["text_body"]
    assert row["next_attempt_at"] <= row["created_at"]


async def test_a_rolled_back_transaction_leaves_nothing(services) -> None:
    tenant = await make_tenant(services)

    with pytest.raises(RuntimeError):
        async with transaction(services) as (conn, after_commit):
            await queue_email(
                conn, after_commit, tenant_id=tenant.id, to="ann@example.com", template=EmailTemplate.ORDER_CONFIRMATION,
                context=order_context(), dedupe_key="order:1001:confirmation",
            )
            raise RuntimeError("the order failed after the email was queued")

    assert await _rows(services) == []


async def test_the_same_dedupe_key_twice_is_one_row_and_other_tenants_keep_their_own(services) -> None:
    tenant = await make_tenant(services)
    other = await make_tenant(services)

    for tenant_id, number in ((tenant.id, "#1001"), (tenant.id, "#9999"), (other.id, "#1001")):
        async with transaction(services) as (conn, after_commit):
            await queue_email(
                conn, after_commit, tenant_id=tenant_id, to="ann@example.com", template=EmailTemplate.ORDER_CONFIRMATION,
                context=order_context(number=number), dedupe_key="order:1001:confirmation",
            )

    assert [(row["tenant_id"], row["subject"]) for row in await _rows(services)] == [
        (tenant.id, "Order #1001 confirmed - Acme Goods"),
        (other.id, "Order #1001 confirmed - Acme Goods"),
    ]


async def test_the_tenants_override_renders_and_other_tenants_get_the_default(services) -> None:
    tenant = await make_tenant(services)
    other = await make_tenant(services)
    default = default_sources(EmailTemplate.ORDER_SHIPPED)
    await do_put_email_template(
        services, tenant.id, EmailTemplate.ORDER_SHIPPED,
        TemplateSources(subject="Shipped: {{ order.number }}!\nBcc: evil@example.com", text="Tracking {{ order.tracking_number }}\n", html=default.html),
    )

    for tenant_id in (tenant.id, other.id):
        async with transaction(services) as (conn, after_commit):
            await queue_email(
                conn, after_commit, tenant_id=tenant_id, to="ann@example.com", template=EmailTemplate.ORDER_SHIPPED,
                context=order_context(tracking_number="TRACK-1", tracking_url="https://carrier.example.com/TRACK-1"),
                dedupe_key="order:1001:shipped",
            )

    overridden, defaulted = await _rows(services)
    assert (overridden["subject"], overridden["text_body"]) == ("Shipped: #1001! Bcc: evil@example.com", "Tracking TRACK-1\n")
    assert '<a href="https://carrier.example.com/TRACK-1">TRACK-1</a>' in overridden["html_body"]
    assert defaulted["subject"] == "Order #1001 is on its way - Acme Goods"
    assert "Tracking number: TRACK-1" in defaulted["text_body"]


@pytest.mark.parametrize("to", ["", "ann", "ann@example.com\r\nBcc: evil@example.com", "Ann <ann@example.com>", "a@b@c.com"])
async def test_a_bad_address_is_refused_and_nothing_is_written(services, to) -> None:
    tenant = await make_tenant(services)

    with pytest.raises(OutboxError) as raised:
        async with transaction(services) as (conn, after_commit):
            await queue_email(
                conn, after_commit, tenant_id=tenant.id, to=to, template=EmailTemplate.ORDER_CONFIRMATION,
                context=order_context(), dedupe_key="order:1001:confirmation",
            )

    assert (raised.value.code, raised.value.field) == ("invalid_address", "to")
    assert await _rows(services) == []


@pytest.mark.parametrize("template", list(EmailTemplate))
def test_every_default_template_passes_its_own_check(template) -> None:
    from origin.outbox.templates import check_sources

    assert check_sources(template, default_sources(template)) is None
