"""Writes: queue_email (inside the caller's transaction) and the tenants' template overrides.

``queue_email`` is the agreed API for every domain that mails someone (checkout,
orders, customer accounts, seller invitations). It renders the message now, from
the tenant's override or the default, and stores the result: what the row holds
is exactly what is sent, even if the template changes before the worker runs.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.db import insert_returning_ids, utcnow
from origin.errors import ErrorKind
from origin.invalidation import AfterCommit, transaction
from origin.outbox.errors import OutboxError, OutboxErrorCode
from origin.outbox.tables import STATUS_DEAD, STATUS_PENDING, email_outbox, email_template_overrides
from origin.outbox.templates import EmailTemplate, TemplateSources, check_sources, render_email
from origin.services import Services
from origin.tenancy.themes import template_check_turn

log = logging.getLogger(__name__)

EMAIL_QUEUE = "EMAIL_OUTBOX"
SEND_TASK = "outbox.send"
SWEEP_TASK = "outbox.sweep"

MAX_DEDUPE_KEY_CHARS = 190  # the column (tables.py)
MAX_ADDRESS_CHARS = 320
# One mailbox, no display name, nothing a header could be split on: the caller hands a
# shopper's or merchant's address, already validated by its own form.
ADDRESS = re.compile(r"^[^\s@<>()\[\],;:\\\"]+@[^\s@<>()\[\],;:\\\"]+\.[^\s@<>()\[\],;:\\\"]+$")


def validate_address(to: object) -> str:
    if not isinstance(to, str) or len(to) > MAX_ADDRESS_CHARS or not ADDRESS.match(to):
        raise OutboxError(OutboxErrorCode.INVALID_ADDRESS, "expected one email address like ann@example.com", field="to")
    return to


async def queue_email(
    conn: AsyncConnection,
    after_commit: AfterCommit,
    *,
    tenant_id: int,
    to: str,
    template: EmailTemplate,
    context: Mapping[str, object],
    dedupe_key: str,
) -> None:
    """One outbox row in the caller's transaction; the send task is enqueued after its commit.

    A second call with the same ``dedupe_key`` for the tenant (a replayed webhook, a
    retried request) changes nothing and enqueues nothing. If the enqueue is lost
    (no queue, Redis down) the periodic sweep sends the row instead.
    """
    to = _checked_arguments(to, template, dedupe_key)
    where = sa.and_(email_outbox.c.tenant_id == tenant_id, email_outbox.c.dedupe_key == dedupe_key)
    if (await conn.execute(sa.select(email_outbox.c.id).where(where))).first() is not None:
        return
    overrides = await select_override(conn, tenant_id, template)
    values = await _outbox_row(tenant_id=tenant_id, to=to, template=template, context=context, dedupe_key=dedupe_key, overrides=overrides)
    # A concurrent transaction with the same key (checked above, not yet committed) makes this
    # insert wait on the unique index and then do nothing, instead of failing the caller's
    # transaction with an IntegrityError. No savepoint: on SQLite a SAVEPOINT that opens the
    # transaction would commit it on RELEASE.
    if conn.dialect.name == "sqlite":
        statement = sqlite.insert(email_outbox).values(**values).on_conflict_do_nothing(index_elements=["tenant_id", "dedupe_key"])
    else:
        statement = mysql.insert(email_outbox).values(**values).on_duplicate_key_update(dedupe_key=email_outbox.c.dedupe_key)
    await conn.execute(statement)
    outbox_id = (await conn.execute(sa.select(email_outbox.c.id).where(where))).scalar_one()
    after_commit.enqueue(EMAIL_QUEUE, SEND_TASK, best_effort=True, tenant_id=tenant_id, outbox_id=outbox_id)


@dataclass(frozen=True)
class NewEmail:
    """One mail for :func:`queue_new_emails`; ``after_commit`` holds the effects of the action it belongs to."""

    after_commit: AfterCommit
    to: str
    template: EmailTemplate
    context: Mapping[str, object]
    dedupe_key: str
    overrides: TemplateSources | None


async def queue_new_emails(conn: AsyncConnection, tenant_id: int, mails: Sequence[NewEmail]) -> None:
    """``queue_email`` for mails whose ``dedupe_key`` names a row the caller's transaction has just inserted.

    No earlier mail can hold such a key, so the dedupe read is skipped, and each mail's
    ``overrides`` (``select_override``) was read by the caller beforehand. One statement for
    one mail, two for a batch of them (``insert_returning_ids``),
    for a caller that holds hot row locks until its commit (order placement). Should a key
    exist after all, the plain insert fails and rolls the caller back: never a second mail.
    """
    rows = []
    for mail in mails:
        to = _checked_arguments(mail.to, mail.template, mail.dedupe_key)
        rows.append(
            await _outbox_row(tenant_id=tenant_id, to=to, template=mail.template, context=mail.context, dedupe_key=mail.dedupe_key, overrides=mail.overrides)
        )
    ids = await insert_returning_ids(conn, email_outbox, rows, key="dedupe_key")
    for mail, outbox_id in zip(mails, ids):
        mail.after_commit.enqueue(EMAIL_QUEUE, SEND_TASK, best_effort=True, tenant_id=tenant_id, outbox_id=outbox_id)


def _checked_arguments(to: object, template: object, dedupe_key: str) -> str:
    """The address, validated; a wrong template or dedupe key is a programming error, not input."""
    address = validate_address(to)
    if not isinstance(template, EmailTemplate):
        raise TypeError(f"template must be an EmailTemplate, not {template!r}")
    if not dedupe_key or len(dedupe_key) > MAX_DEDUPE_KEY_CHARS:
        raise ValueError(f"dedupe_key must be 1-{MAX_DEDUPE_KEY_CHARS} characters")
    return address


async def _outbox_row(
    *, tenant_id: int, to: str, template: EmailTemplate, context: Mapping[str, object], dedupe_key: str,
    overrides: TemplateSources | None,
) -> dict[str, object]:
    """The outbox row of one rendered mail, pending and due now."""
    if overrides is None:
        rendered = render_email(template, context, tenant_id=tenant_id)  # our own templates: microseconds, on the loop
    else:
        # A merchant's override may spend its whole render budget (1 s): in a thread, so the loop (every other
        # shop's requests) keeps running while this one order waits for its mail.
        rendered = await asyncio.to_thread(render_email, template, context, tenant_id=tenant_id, overrides=overrides)
    now = utcnow()
    return dict(
        tenant_id=tenant_id, template=template.value, to_address=to, from_name=_store_name(context), subject=rendered.subject,
        text_body=rendered.text, html_body=rendered.html, dedupe_key=dedupe_key, status=STATUS_PENDING,
        created_at=now, attempts=0, next_attempt_at=now,
    )


def _store_name(context: Mapping[str, object]) -> str | None:
    store = context.get("store")
    name = store.get("name") if isinstance(store, Mapping) else None
    if not isinstance(name, str):
        return None
    return " ".join(name.split())[:255] or None  # one line: it can never split the From header


async def select_override(conn: AsyncConnection, tenant_id: int, template: EmailTemplate) -> TemplateSources | None:
    row = (
        await conn.execute(
            sa.select(email_template_overrides.c.subject, email_template_overrides.c.text_body, email_template_overrides.c.html_body).where(
                email_template_overrides.c.tenant_id == tenant_id, email_template_overrides.c.template == template.value
            )
        )
    ).first()
    return TemplateSources(subject=row.subject, text=row.text_body, html=row.html_body) if row else None


def template_named(name: str) -> EmailTemplate:
    template = EmailTemplate.named(name)
    if template is None:
        known = ", ".join(t.value for t in EmailTemplate)
        raise OutboxError(OutboxErrorCode.UNKNOWN_EMAIL_TEMPLATE, f"no email template {name!r}; expected one of {known}", kind=ErrorKind.NOT_FOUND)
    return template


async def do_put_email_template(services: Services, tenant_id: int, template: EmailTemplate, sources: TemplateSources) -> None:
    """Store the tenant's override after a test render; a problem is a 422 naming the part and line."""
    # Off the loop, one at a time per tenant: the test render may spend the whole render budget (1 s).
    async with template_check_turn(services, tenant_id):
        problem = await asyncio.to_thread(check_sources, template, sources)
    if problem is not None:
        raise OutboxError(OutboxErrorCode.INVALID_EMAIL_TEMPLATE, problem.describe(), field=problem.part)
    async with transaction(services) as (conn, _effects):
        where = sa.and_(email_template_overrides.c.tenant_id == tenant_id, email_template_overrides.c.template == template.value)
        values = dict(subject=sources.subject, text_body=sources.text, html_body=sources.html, updated_at=utcnow())
        result = await conn.execute(email_template_overrides.update().where(where).values(**values))
        if result.rowcount == 0:
            await conn.execute(email_template_overrides.insert().values(tenant_id=tenant_id, template=template.value, **values))


async def do_delete_email_template(services: Services, tenant_id: int, template: EmailTemplate) -> None:
    async with transaction(services) as (conn, _effects):
        result = await conn.execute(
            email_template_overrides.delete().where(
                email_template_overrides.c.tenant_id == tenant_id, email_template_overrides.c.template == template.value
            )
        )
        if result.rowcount == 0:
            raise OutboxError(
                OutboxErrorCode.NO_EMAIL_TEMPLATE_OVERRIDE, f"this store does not override {template.value!r}", kind=ErrorKind.NOT_FOUND
            )


async def do_retry_email(services: Services, tenant_id: int | None, email_id: int) -> None:
    """A dead message goes back to pending with fresh attempts, due now (after fixing what killed it).

    Only dead rows: a pending one may be held by a sender right now, and resetting its lease
    could send it twice. ``tenant_id`` None: an operator's retry from the CLI (any tenant).
    """
    where = sa.and_(email_outbox.c.id == email_id, email_outbox.c.status == STATUS_DEAD)
    if tenant_id is not None:
        where = sa.and_(where, email_outbox.c.tenant_id == tenant_id)
    async with transaction(services) as (conn, effects):
        row = (await conn.execute(sa.select(email_outbox.c.id, email_outbox.c.tenant_id).where(where))).first()
        if row is None:
            raise OutboxError(OutboxErrorCode.UNKNOWN_EMAIL, f"no dead email {email_id}" + (" in this store" if tenant_id is not None else ""), kind=ErrorKind.NOT_FOUND)
        await conn.execute(
            email_outbox.update().where(where).values(
                status=STATUS_PENDING, attempts=0, next_attempt_at=utcnow(), last_error=None, claim_token=None, claimed_until=None
            )
        )
        effects.enqueue(EMAIL_QUEUE, SEND_TASK, best_effort=True, tenant_id=row.tenant_id, outbox_id=row.id)
