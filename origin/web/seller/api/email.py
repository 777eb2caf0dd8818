"""Email: the store's templates (defaults and overrides) and its outbox, the record of what was sent.

    GET    /api/v1/email-templates               every template, whether the store overrides it
    GET    /api/v1/email-templates/<name>        the sources the store sends (override or default), sample context
    PUT    /api/v1/email-templates/<name>        {"subject", "text", "html"}: test-rendered first; 422 names part and line
    DELETE /api/v1/email-templates/<name>        back to the default
    GET    /api/v1/emails                        messages, newest first (status filter, cursor pages)
    GET    /api/v1/emails/<id>                   one message as sent (or as it will be), with its bodies
    POST   /api/v1/emails/<id>/retry             a dead message tries again from attempt 1

A child of ``api_v1``: the same host rule, authentication and error shape as the catalog API.
"""

from __future__ import annotations

from quart import Blueprint

from origin.outbox import actions, queries
from origin.outbox.errors import OutboxError, OutboxErrorCode
from origin.outbox.templates import EmailTemplate, TemplateSources, default_sources, sample_context
from origin.errors import ErrorKind
from origin.web.seller.api.framework.idempotency import idempotent
from origin.web.seller.api.framework.parsing import json_body, query_args
from origin.web.seller.api.framework.responses import json_response, responds
from origin.web.seller.api.framework.routing import ID
from origin.web.seller.api.schemas.email import (
    EmailListQuery,
    EmailOut,
    EmailPage,
    EmailSummaryOut,
    EmailTemplateDeleted,
    EmailTemplateIn,
    EmailTemplateItem,
    EmailTemplateList,
    EmailTemplateOut,
)
from origin.web.seller.api_tokens import api_tenant, require_api_tenant
from origin.web.context import current_services
from origin.web.rate_limits import limit_template_write

blueprint = Blueprint("email_api", __name__)

TEMPLATE_PATH = "/email-templates/<string(maxlength=64):name>"
EMAIL_PATH = f"/emails/<{ID}:email_id>"


async def _template_out(template: EmailTemplate) -> EmailTemplateOut:
    tenant_id = api_tenant().id
    async with current_services().db.connect() as conn:
        override = await actions.select_override(conn, tenant_id, template)
        updated = (await queries.select_override_times(conn, tenant_id)).get(template.value)
    sources = override or default_sources(template)
    return EmailTemplateOut(
        name=template.value, overridden=override is not None, updated_at=updated if override else None,
        subject=sources.subject, text=sources.text, html=sources.html, sample_context=sample_context(template),
    )


@blueprint.get("/email-templates")
@require_api_tenant
@responds(200, EmailTemplateList, errors=(401, 403))
async def list_email_templates():
    """Every email the platform sends for the store, and which of them the store overrides."""
    async with current_services().db.connect() as conn:
        overridden = await queries.select_override_times(conn, api_tenant().id)
    return json_response(
        EmailTemplateList(
            items=[
                EmailTemplateItem(name=t.value, overridden=t.value in overridden, updated_at=overridden.get(t.value))
                for t in EmailTemplate
            ]
        )
    )


@blueprint.get(TEMPLATE_PATH)
@require_api_tenant
@responds(200, EmailTemplateOut, errors=(401, 403, 404))
async def get_email_template(name: str):
    """The subject, text and HTML sources the store sends, and the variables they get."""
    return json_response(await _template_out(actions.template_named(name)))


@blueprint.put(TEMPLATE_PATH)
@require_api_tenant
@responds(200, EmailTemplateOut, errors=(400, 401, 403, 404, 409, 415, 422))
@json_body(EmailTemplateIn)
async def put_email_template(name: str, data: EmailTemplateIn):
    """Override all three parts; they are compiled and rendered with the sample context first."""
    template = actions.template_named(name)
    await limit_template_write(api_tenant().id)  # each write test-renders: a budget of its own
    await actions.do_put_email_template(
        current_services(), api_tenant().id, template, TemplateSources(subject=data.subject, text=data.text, html=data.html)
    )
    return json_response(await _template_out(template))


@blueprint.delete(TEMPLATE_PATH)
@require_api_tenant
@responds(200, EmailTemplateDeleted, errors=(401, 403, 404))
async def delete_email_template(name: str):
    """Remove the override: the store sends the shipped default again."""
    template = actions.template_named(name)
    await actions.do_delete_email_template(current_services(), api_tenant().id, template)
    return json_response(EmailTemplateDeleted(name=template.value))


@blueprint.get("/emails")
@require_api_tenant
@responds(200, EmailPage, errors=(401, 403, 422))
@query_args(EmailListQuery)
async def list_emails(query: EmailListQuery):
    """The store's messages, newest first: what was sent, what waits, what gave up (``dead``)."""
    async with current_services().db.connect() as conn:
        found = await queries.select_emails(
            conn, api_tenant().id, status=query.status, limit=query.limit + 1,
            before_id=int(query.cursor) if query.cursor else None,
        )
    page, more = found[: query.limit], len(found) > query.limit
    return json_response(EmailPage(items=[EmailSummaryOut.build(e) for e in page], next_cursor=str(page[-1].id) if more else None))


@blueprint.get(EMAIL_PATH)
@require_api_tenant
@responds(200, EmailOut, errors=(401, 403, 404))
async def get_email(email_id: int):
    """One message with its bodies, exactly as it is (or was) sent."""
    async with current_services().db.connect() as conn:
        email = await queries.select_email(conn, api_tenant().id, email_id)
    if email is None:
        raise OutboxError(OutboxErrorCode.UNKNOWN_EMAIL, f"no email {email_id} in this store", kind=ErrorKind.NOT_FOUND)
    return json_response(EmailOut.build(email))


@blueprint.post(f"{EMAIL_PATH}/retry")
@require_api_tenant
@idempotent
@responds(200, EmailOut, errors=(401, 403, 404, 409, 422))
async def retry_email(email_id: int):
    """Send a dead message again (after fixing its address, say): attempts start over, due now."""
    services = current_services()
    await actions.do_retry_email(services, api_tenant().id, email_id)
    async with services.db.connect() as conn:
        email = await queries.select_email(conn, api_tenant().id, email_id)
    return json_response(EmailOut.build(email))
