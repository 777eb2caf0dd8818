"""Custom domains: list, add, show, verify now, make primary, remove (docs/custom-domains.md).

Every write goes through an ``origin.domains`` action; its errors keep their
codes (``domain_exists``, ``domain_taken``, ``domain_not_active`` are 409;
a refused hostname is a 422 on ``hostname``). Another store's domain is as
unknown as a missing one.
"""

from __future__ import annotations

from quart import Blueprint

from origin.domains import actions, queries
from origin.domains.errors import unknown_domain
from origin.domains.models import CustomDomain
from origin.web.seller.api.framework.idempotency import idempotent
from origin.web.seller.api.framework.parsing import json_body
from origin.web.seller.api.framework.responses import json_response, responds
from origin.web.seller.api.framework.routing import ID
from origin.web.seller.api.schemas.domains import DomainIn, DomainList, DomainOut, DomainRemoved
from origin.web.seller.api_tokens import api_tenant, require_api_tenant
from origin.web.context import current_services
from origin.web.rate_limits import limit_domain_verification

blueprint = Blueprint("domains", __name__)

DOMAIN_PATH = f"/domains/<{ID}:domain_id>"


def domain_out(domain: CustomDomain) -> DomainOut:
    return DomainOut.build(domain, current_services().settings)


@blueprint.get("/domains")
@require_api_tenant
@responds(200, DomainList, errors=(401, 403))
async def list_domains():
    """The store's custom domains, oldest first, each with the DNS records it needs."""
    async with current_services().db.connect() as conn:
        found = await queries.select_domains(conn, api_tenant().id)
    return json_response(DomainList(domains=[domain_out(domain) for domain in found]))


@blueprint.post("/domains")
@require_api_tenant
@idempotent
@responds(201, DomainOut, errors=(400, 401, 403, 409, 415, 422))
@json_body(DomainIn)
async def add_domain(data: DomainIn):
    """Add a custom domain: it is `pending`, with the TXT and CNAME (or A/AAAA) records to publish."""
    domain = await actions.do_add_domain(current_services(), api_tenant().id, data.hostname)
    response = json_response(domain_out(domain), 201)
    response.headers["Location"] = f"/api/v1/domains/{domain.id}"
    return response


@blueprint.get(DOMAIN_PATH)
@require_api_tenant
@responds(200, DomainOut, errors=(401, 403, 404))
async def get_domain(domain_id: int):
    """One custom domain with its status, the last check's failure, and its DNS records."""
    async with current_services().db.connect() as conn:
        domain = await queries.select_domain(conn, api_tenant().id, domain_id)
    if domain is None:
        raise unknown_domain(domain_id)
    return json_response(domain_out(domain))


@blueprint.post(f"{DOMAIN_PATH}/verify")
@require_api_tenant
@idempotent
@responds(200, DomainOut, errors=(401, 403, 404, 409, 422))
async def verify_domain(domain_id: int):
    """Check the domain's DNS now (no body): `active` when it passes, else `failure` says what to fix."""
    await limit_domain_verification(api_tenant().id)  # each check is DNS lookups: a budget of its own
    domain = await actions.do_verify_domain(current_services(), api_tenant().id, domain_id)
    return json_response(domain_out(domain))


@blueprint.post(f"{DOMAIN_PATH}/primary")
@require_api_tenant
@idempotent
@responds(200, DomainOut, errors=(401, 403, 404, 409, 422))
async def make_primary(domain_id: int):
    """Make an `active` domain the store's primary (no body): the store's other hosts redirect to it."""
    domain = await actions.do_set_primary_domain(current_services(), api_tenant().id, domain_id)
    return json_response(domain_out(domain))


@blueprint.delete(DOMAIN_PATH)
@require_api_tenant
@responds(200, DomainRemoved, errors=(401, 403, 404))
async def remove_domain(domain_id: int):
    """Stop serving the domain at once and delete its certificate files."""
    removed = await actions.do_remove_domain(current_services(), api_tenant().id, domain_id)
    return json_response(DomainRemoved.build(removed))
