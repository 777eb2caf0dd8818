"""Request and response bodies of the email template and outbox API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from origin.outbox.queries import MAX_PAGE_SIZE, Email, EmailSummary
from origin.outbox.templates import MAX_PART_CHARS
from origin.web.seller.api.schemas.common import STRICT


class EmailTemplateIn(BaseModel):
    model_config = STRICT

    subject: str = Field(..., min_length=1, max_length=MAX_PART_CHARS, description="Jinja; rendered to one line")
    text: str = Field(..., min_length=1, max_length=MAX_PART_CHARS, description="Jinja, plain text (not escaped)")
    html: str = Field(
        ..., min_length=1, max_length=MAX_PART_CHARS,
        description='Jinja, autoescaped HTML; may `{% extends "layout.html" %}` like the defaults',
    )


class EmailTemplateOut(BaseModel):
    name: str
    overridden: bool = Field(description="false: the store sends the shipped default shown here")
    updated_at: dt.datetime | None
    subject: str
    text: str
    html: str
    sample_context: dict[str, Any] = Field(description="the variables the template gets, with sample values (the test render uses them)")


class EmailTemplateItem(BaseModel):
    name: str
    overridden: bool
    updated_at: dt.datetime | None


class EmailTemplateList(BaseModel):
    items: list[EmailTemplateItem]


class EmailTemplateDeleted(BaseModel):
    name: str
    deleted: bool = True


class EmailListQuery(BaseModel):
    model_config = STRICT

    status: Literal["pending", "sent", "dead"] | None = Field(None, description="only messages in this state")
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description=f"items per page, 1-{MAX_PAGE_SIZE}")
    cursor: str | None = Field(None, pattern=r"^[1-9][0-9]{0,17}$", description="`next_cursor` of the previous page")


class EmailSummaryOut(BaseModel):
    id: int
    template: str
    to: str
    subject: str
    status: Literal["pending", "sent", "dead"]
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None = Field(description="when a pending message is tried next; null once sent or dead")
    sent_at: dt.datetime | None
    last_error: str | None

    @classmethod
    def fields_of(cls, email: EmailSummary) -> dict[str, Any]:
        return dict(
            id=email.id, template=email.template, to=email.to_address, subject=email.subject, status=email.status,
            attempts=email.attempts, created_at=email.created_at,
            next_attempt_at=email.next_attempt_at if email.status == "pending" else None,
            sent_at=email.sent_at, last_error=email.last_error,
        )

    @classmethod
    def build(cls, email: EmailSummary) -> "EmailSummaryOut":
        return cls(**cls.fields_of(email))


class EmailOut(EmailSummaryOut):
    dedupe_key: str
    text_body: str
    html_body: str

    @classmethod
    def build(cls, email: Email) -> "EmailOut":  # type: ignore[override]
        return cls(**cls.fields_of(email), dedupe_key=email.dedupe_key, text_body=email.text_body, html_body=email.html_body)


class EmailPage(BaseModel):
    items: list[EmailSummaryOut]
    next_cursor: str | None
