"""Seller API for email templates and the outbox: test-rendered PUTs, 422 with the line, other tenants 404."""

from __future__ import annotations

import pytest

from origin.db import utcnow
from origin.invalidation import transaction
from origin.outbox.actions import queue_email
from origin.outbox.sending import MAX_ATTEMPTS, send_due
from origin.outbox.templates import EmailTemplate, default_sources
from tests.api.conftest import make_store
from tests.outbox.contexts import order_context

HOST = {"Host": "localhost"}
OVERRIDE = {
    "subject": "{{ store.name }}: thanks for order {{ order.number }}",
    "text": "Order {{ order.number }} is ours now.\n",
    "html": '{% extends "layout.html" %}{% block content %}<p class="custom">{{ order.number }} &amp; {{ order.lines[0].title }}</p>{% endblock %}',
}


async def call(client, method: str, path: str, store=None, json=None):
    headers = {**HOST, **(store.auth if store else {})}
    response = await client.open(path, method=method, json=json, headers=headers)
    return response.status_code, await response.get_json()


async def queue(services, tenant_id: int, key: str, to: str = "ann@example.com") -> None:
    async with transaction(services) as (conn, after_commit):
        await queue_email(
            conn, after_commit, tenant_id=tenant_id, to=to, template=EmailTemplate.ORDER_CONFIRMATION,
            context=order_context(), dedupe_key=key,
        )


async def test_a_tenant_override_is_stored_shown_and_rendered_into_the_next_email(services, client, smtp_server) -> None:
    store = await make_store(services)
    other = await make_store(services)

    status, body = await call(client, "PUT", "/api/v1/email-templates/order_confirmation", store, OVERRIDE)
    _, mine = await call(client, "GET", "/api/v1/email-templates/order_confirmation", store)
    _, theirs = await call(client, "GET", "/api/v1/email-templates/order_confirmation", other)
    _, listing = await call(client, "GET", "/api/v1/email-templates", store)
    await queue(services, store.tenant.id, "order:1")
    await queue(services, other.tenant.id, "order:1")
    await send_due(services)
    received = {m.message["Subject"]: m.message for m in await smtp_server.wait_for(2)}

    assert status == 200
    assert (body["overridden"], body["subject"], body["text"], body["html"]) == (True, OVERRIDE["subject"], OVERRIDE["text"], OVERRIDE["html"])
    assert mine == body
    assert (theirs["overridden"], theirs["subject"]) == (False, default_sources(EmailTemplate.ORDER_CONFIRMATION).subject)
    assert theirs["sample_context"]["order"]["number"] == "#1001"
    assert [item["name"] for item in listing["items"]] == [t.value for t in EmailTemplate]
    assert [item["name"] for item in listing["items"] if item["overridden"]] == ["order_confirmation"]
    mine_sent = received["Acme Goods: thanks for order #1001"]
    assert mine_sent.get_body(("plain",)).get_content().strip() == "Order #1001 is ours now."
    assert '<p class="custom">#1001 &amp; Linen Shirt</p>' in mine_sent.get_body(("html",)).get_content()
    assert "Order #1001 confirmed - Acme Goods" in received


@pytest.mark.parametrize(
    "part, source, message",
    [
        ("html", "<p>fine</p>\n{% if order.number %}\n<p>{{ order.number }</p>", "html, line 3: syntax error: unexpected '}'"),
        ("text", "line one\nline two {% for %}", "text, line 2: syntax error: Expected an expression, got 'end of statement block'"),
        ("subject", "Hi {{ order.lines.append(1) }}", "subject, line 1: not allowed in an email template"),
        ("text", "{{ order.lines[0].quantity / 0 }}", "text, line 1: ZeroDivisionError: division by zero"),
    ],
)
async def test_a_bad_template_is_a_422_naming_the_part_and_line_and_nothing_changes(services, client, part, source, message) -> None:
    store = await make_store(services)

    status, body = await call(client, "PUT", "/api/v1/email-templates/order_shipped", store, {**OVERRIDE, part: source})
    _, after = await call(client, "GET", "/api/v1/email-templates/order_shipped", store)

    assert status == 422
    [problem] = body["error"]["fields"]
    assert (problem["path"], problem["code"]) == (part, "invalid_email_template")
    assert problem["message"].startswith(message)
    assert after["overridden"] is False


async def test_bad_bodies_and_names_are_refused(services, client) -> None:
    store = await make_store(services)

    missing, _ = await call(client, "PUT", "/api/v1/email-templates/order_shipped", store, {"subject": "x", "text": "y"})
    unknown_field, _ = await call(client, "PUT", "/api/v1/email-templates/order_shipped", store, {**OVERRIDE, "bcc": "x"})
    empty, _ = await call(client, "PUT", "/api/v1/email-templates/order_shipped", store, {**OVERRIDE, "subject": ""})
    unknown_name, body = await call(client, "PUT", "/api/v1/email-templates/order_exploded", store, OVERRIDE)
    unknown_get, _ = await call(client, "GET", "/api/v1/email-templates/nope", store)
    no_override, _ = await call(client, "DELETE", "/api/v1/email-templates/order_shipped", store)
    anonymous, _ = await call(client, "GET", "/api/v1/email-templates")

    assert (missing, unknown_field, empty) == (422, 422, 422)
    assert (unknown_name, body["error"]["code"]) == (404, "unknown_email_template")
    assert (unknown_get, no_override, anonymous) == (404, 404, 401)


async def test_delete_goes_back_to_the_default_and_another_tenant_cannot_delete_it(services, client) -> None:
    store = await make_store(services)
    other = await make_store(services)
    await call(client, "PUT", "/api/v1/email-templates/order_shipped", store, OVERRIDE)

    foreign, _ = await call(client, "DELETE", "/api/v1/email-templates/order_shipped", other)
    _, still = await call(client, "GET", "/api/v1/email-templates/order_shipped", store)
    deleted, body = await call(client, "DELETE", "/api/v1/email-templates/order_shipped", store)
    _, after = await call(client, "GET", "/api/v1/email-templates/order_shipped", store)

    assert foreign == 404
    assert still["overridden"] is True
    assert (deleted, body) == (200, {"name": "order_shipped", "deleted": True})
    assert after["overridden"] is False


async def test_the_outbox_lists_the_stores_own_messages_and_another_tenants_are_404(services, client, smtp_server) -> None:
    store = await make_store(services)
    other = await make_store(services)
    for number in range(3):
        await queue(services, store.tenant.id, f"order:{number}", to=f"buyer{number}@example.com")
    await queue(services, other.tenant.id, "order:0", to="someone@example.com")
    await send_due(services)

    _, first = await call(client, "GET", "/api/v1/emails?limit=2", store)
    _, second = await call(client, "GET", f"/api/v1/emails?limit=2&cursor={first['next_cursor']}", store)
    _, theirs = await call(client, "GET", "/api/v1/emails", other)
    own_id = first["items"][0]["id"]
    got, one = await call(client, "GET", f"/api/v1/emails/{own_id}", store)
    foreign, _ = await call(client, "GET", f"/api/v1/emails/{own_id}", other)
    foreign_retry, _ = await call(client, "POST", f"/api/v1/emails/{own_id}/retry", other)
    bad_status, _ = await call(client, "GET", "/api/v1/emails?status=lost", store)
    bad_cursor, _ = await call(client, "GET", "/api/v1/emails?cursor=abc", store)

    assert [item["to"] for item in first["items"] + second["items"]] == ["buyer2@example.com", "buyer1@example.com", "buyer0@example.com"]
    assert second["next_cursor"] is None
    assert [item["to"] for item in theirs["items"]] == ["someone@example.com"]
    assert got == 200
    assert (one["status"], one["attempts"], one["next_attempt_at"], one["dedupe_key"]) == ("sent", 1, None, "order:2")
    assert "Linen Shirt" in one["text_body"] and "Linen Shirt" in one["html_body"]
    assert (foreign, foreign_retry) == (404, 404)
    assert (bad_status, bad_cursor) == (422, 422)


async def test_a_dead_message_is_visible_and_a_retry_sends_it(services, client, settings, tmp_path) -> None:
    from ops.mail_server import run_mail_server
    import datetime as dt

    store = await make_store(services)
    await queue(services, store.tenant.id, "order:1")
    at = utcnow()
    for _ in range(MAX_ATTEMPTS):  # no SMTP server: every attempt fails
        await send_due(services, now=at)
        at += dt.timedelta(days=1)

    _, dead = await call(client, "GET", "/api/v1/emails?status=dead", store)
    email_id = dead["items"][0]["id"]
    async with run_mail_server(tmp_path / "mail", port=settings.smtp_port) as server:
        retried, body = await call(client, "POST", f"/api/v1/emails/{email_id}/retry", store)
        swept = await send_due(services)
        delivered = server.mailbox.messages()
    again, _ = await call(client, "POST", f"/api/v1/emails/{email_id}/retry", store)

    assert [(item["status"], item["attempts"]) for item in dead["items"]] == [("dead", MAX_ATTEMPTS)]
    assert "SMTPConnectError" in dead["items"][0]["last_error"]
    assert (retried, body["status"], body["attempts"], body["last_error"]) == (200, "pending", 0, None)
    assert swept.sent == 1
    assert len(delivered) == 1
    assert again == 404  # sent now: nothing to retry
