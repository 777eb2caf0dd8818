"""Reads for the seller API and the CLI: the tenant's messages and template overrides.

Every query names the tenant: another tenant's message is as unknown as a missing one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.outbox.tables import email_outbox, email_template_overrides

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class EmailSummary:
    id: int
    tenant_id: int
    template: str
    to_address: str
    subject: str
    status: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None
    last_error: str | None


@dataclass(frozen=True)
class Email(EmailSummary):
    from_name: str | None
    dedupe_key: str
    text_body: str
    html_body: str


_SUMMARY_COLUMNS = [email_outbox.c[name] for name in EmailSummary.__dataclass_fields__]


async def select_emails(
    conn: AsyncConnection, tenant_id: int | None, *, status: str | None = None, limit: int = 50, before_id: int | None = None
) -> list[EmailSummary]:
    """Newest first; ``before_id`` continues after the last id of the previous page. None: every tenant (the CLI)."""
    query = sa.select(*_SUMMARY_COLUMNS).order_by(email_outbox.c.id.desc()).limit(min(limit, MAX_PAGE_SIZE))
    if tenant_id is not None:
        query = query.where(email_outbox.c.tenant_id == tenant_id)
    if status is not None:
        query = query.where(email_outbox.c.status == status)
    if before_id is not None:
        query = query.where(email_outbox.c.id < before_id)
    return [EmailSummary(**row._mapping) for row in await conn.execute(query)]


async def select_email(conn: AsyncConnection, tenant_id: int | None, email_id: int) -> Email | None:
    query = sa.select(*[email_outbox.c[name] for name in Email.__dataclass_fields__]).where(email_outbox.c.id == email_id)
    if tenant_id is not None:
        query = query.where(email_outbox.c.tenant_id == tenant_id)
    row = (await conn.execute(query)).first()
    return Email(**row._mapping) if row else None


async def select_override_times(conn: AsyncConnection, tenant_id: int) -> dict[str, dt.datetime]:
    """Template name -> when the tenant last changed its override."""
    rows = await conn.execute(
        sa.select(email_template_overrides.c.template, email_template_overrides.c.updated_at).where(
            email_template_overrides.c.tenant_id == tenant_id
        )
    )
    return {row.template: row.updated_at for row in rows}
