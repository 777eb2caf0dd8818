"""A merchant's email override runs on the theme's render budget (issue 13, item 1), on both backends.

Email overrides rendered in the plain sandbox: ``{{ 9 ** 30000000 }}`` in an
order confirmation stalled the process placing the order. They now render in
storefront/budget.py's BudgetedSandbox: the PUT's test render refuses a hostile
override with a 422 naming the part and line, and one that slips past the test
render (it only misbehaves on a real order's context) sends the default email.
"""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from origin.db import utcnow
from origin.errors import ErrorKind
from origin.invalidation import transaction
from origin.outbox.actions import do_put_email_template, queue_email
from origin.outbox.errors import OutboxError
from origin.outbox.tables import email_outbox, email_template_overrides
from origin.outbox.templates import EmailTemplate, TemplateSources, default_sources
from tests.abuse.test_template_budget import HOSTILE
from tests.factories import make_tenant
from tests.outbox.contexts import order_context

# Quick to refuse (the slow ones spend the whole second: the theme's tests cover them).
REFUSED_QUICKLY = ("power", "nested_range", "string_repeat", "list_repeat", "doubling", "filter_width", "format_width",
                   "join", "macro_fanout")


@pytest.mark.parametrize("name", REFUSED_QUICKLY)
async def test_put_refuses_a_hostile_email_override_naming_part_and_line(services, name) -> None:
    tenant = await make_tenant(services)
    default = default_sources(EmailTemplate.ORDER_CONFIRMATION)
    hostile = TemplateSources(subject=default.subject, text="Thanks\n\n" + HOSTILE[name] + "\n", html=default.html)

    with pytest.raises(OutboxError) as refused:
        await do_put_email_template(services, tenant.id, EmailTemplate.ORDER_CONFIRMATION, hostile)

    assert refused.value.kind is ErrorKind.INVALID
    assert refused.value.field == "text"
    assert "line 3" in refused.value.message and "over the render budget" in refused.value.message
    async with services.db.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(email_template_overrides))).scalar_one() == 0


async def test_an_override_over_budget_at_send_time_sends_the_default_email(services) -> None:
    tenant = await make_tenant(services)
    default = default_sources(EmailTemplate.ORDER_CONFIRMATION)
    # Behaves on the sample order (#1001) the PUT renders, explodes on any real one: stored as the PUT would.
    smuggled = '{% if order.number != "#1001" %}{{ (9 ** 30000000) > 1 }}{% endif %}Mine: {{ order.number }}'
    await do_put_email_template(services, tenant.id, EmailTemplate.ORDER_CONFIRMATION,
                                TemplateSources(subject=smuggled, text=default.text, html=default.html))

    async with transaction(services) as (conn, after_commit):
        await queue_email(conn, after_commit, tenant_id=tenant.id, to="ann@example.com", template=EmailTemplate.ORDER_CONFIRMATION,
                          context=order_context(number="#2002"), dedupe_key="order:2002:confirmation")

    async with services.db.connect() as conn:
        (subject,) = (await conn.execute(sa.select(email_outbox.c.subject))).one()
    assert "Mine" not in subject and "#2002" in subject  # the default subject, one row: the order was not held up


async def test_an_override_burning_its_budget_at_send_time_does_not_hold_the_event_loop(services) -> None:
    # Rendered in the caller's transaction (order placement): on the loop, a smuggled slow override stopped every
    # other request of the process for its whole second. In a thread, the loop keeps turning meanwhile.
    tenant = await make_tenant(services)
    default = default_sources(EmailTemplate.ORDER_CONFIRMATION)
    slow = '{% if order.number != "#1001" %}' + HOSTILE["slow_steps"] + "{% endif %}{{ order.number }}"
    await do_put_email_template(services, tenant.id, EmailTemplate.ORDER_CONFIRMATION,
                                TemplateSources(subject=slow, text=default.text, html=default.html))

    async def place() -> None:
        async with transaction(services) as (conn, after_commit):
            await queue_email(conn, after_commit, tenant_id=tenant.id, to="ann@example.com", template=EmailTemplate.ORDER_CONFIRMATION,
                              context=order_context(number="#3003"), dedupe_key="order:3003:confirmation")

    placing = asyncio.create_task(place())
    turns = 0
    while not placing.done():
        await asyncio.sleep(0.005)
        turns += 1
    await placing

    async with services.db.connect() as conn:
        (subject,) = (await conn.execute(sa.select(email_outbox.c.subject))).one()
    assert "#3003" in subject and subject != "#3003"  # over budget: the default subject
    assert turns >= 20  # the loop ran other work all through the render (on the loop it got a handful of turns)
