"""Seller API for custom domains: /api/v1/domains (list, add, show, verify, make primary, remove)."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify, request
from werkzeug.exceptions import NotFound

from origin.domains import actions, queries
from origin.domains.errors import unknown_domain
from origin.domains.models import CustomDomain
from origin.errors import ZellyError
from origin.web.api.hosts import is_api_host
from origin.web.auth import api_tenant, require_api_tenant
from origin.web.context import current_services
from tls.verification import instructions_for

blueprint = Blueprint("domains_api", __name__, url_prefix="/api/v1/domains")


@blueprint.before_request
async def only_on_the_platform_host() -> None:
    # Same rule as the rest of the seller API: a storefront host never exposes it.
    if not is_api_host(request.host, current_services().settings.platform_domain):
        raise NotFound()

ADD_FIELDS = frozenset({"hostname"})


def domain_json(domain: CustomDomain, settings) -> dict:
    shown = instructions_for(domain.hostname, domain.verification_token, settings.dns_cname_target, settings.platform_ips)
    return {
        "id": domain.id,
        "hostname": domain.hostname,
        "display_name": domain.display_name,
        "status": domain.status,
        "is_primary": domain.is_primary,
        "dns": {
            "txt": {"name": shown.txt_name, "value": shown.txt_value},
            "cname": {"name": domain.hostname, "target": shown.cname_target},
            "a": list(shown.a_records),
            "aaaa": list(shown.aaaa_records),
            "instructions": (
                f"Add a TXT record at {shown.txt_name} holding {shown.txt_value}, then point {domain.hostname} at "
                f"{shown.cname_target} with a CNAME (or, for an apex domain, A records {', '.join(shown.a_records) or '-'}"
                f" and AAAA records {', '.join(shown.aaaa_records) or '-'}); remove any other A/AAAA records."
            ),
        },
        "failure": {"code": domain.failure_code, "message": domain.failure_reason} if domain.failure_code else None,
        "check_attempts": domain.check_attempts,
        "last_checked_at": _iso(domain.last_checked_at),
        "next_check_at": _iso(domain.next_check_at),
        "verified_at": _iso(domain.verified_at),
        "created_at": _iso(domain.created_at),
    }


MAX_ID = 2**63 - 1  # BIGINT; a larger id in the URL must be a 404, not a driver overflow


def _domain_id(domain_id: int) -> int:
    if domain_id > MAX_ID:
        raise unknown_domain(domain_id)
    return domain_id


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _no_store(response: Response, status: int = 200) -> Response:
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("")
@require_api_tenant
async def list_domains():
    services = current_services()
    async with services.db.connect() as conn:
        found = await queries.select_domains(conn, api_tenant().id)
    return _no_store(jsonify({"domains": [domain_json(domain, services.settings) for domain in found]}))


@blueprint.post("")
@require_api_tenant
async def add_domain():
    body = await request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ZellyError("invalid_json", "send a JSON object like {\"hostname\": \"shop.example.com\"}")
    unknown = sorted(set(body) - ADD_FIELDS)
    if unknown:
        raise ZellyError("unknown_field", f"unknown field {unknown[0]!r}; only 'hostname' is accepted", field=unknown[0])
    if "hostname" not in body:
        raise ZellyError("missing_field", "hostname is required", field="hostname")
    services = current_services()
    domain = await actions.do_add_domain(services, api_tenant().id, body["hostname"])
    response = _no_store(jsonify(domain_json(domain, services.settings)), 201)
    response.headers["Location"] = f"/api/v1/domains/{domain.id}"
    return response


@blueprint.get("/<int:domain_id>")
@require_api_tenant
async def show_domain(domain_id: int):
    services = current_services()
    async with services.db.connect() as conn:
        domain = await queries.select_domain(conn, api_tenant().id, _domain_id(domain_id))
    if domain is None:
        raise unknown_domain(domain_id)
    return _no_store(jsonify(domain_json(domain, services.settings)))


@blueprint.post("/<int:domain_id>/verify")
@require_api_tenant
async def verify_domain(domain_id: int):
    services = current_services()
    domain = await actions.do_verify_domain(services, api_tenant().id, _domain_id(domain_id))
    return _no_store(jsonify(domain_json(domain, services.settings)))


@blueprint.post("/<int:domain_id>/primary")
@require_api_tenant
async def make_primary(domain_id: int):
    services = current_services()
    domain = await actions.do_set_primary_domain(services, api_tenant().id, _domain_id(domain_id))
    return _no_store(jsonify(domain_json(domain, services.settings)))


@blueprint.delete("/<int:domain_id>")
@require_api_tenant
async def remove_domain(domain_id: int):
    removed = await actions.do_remove_domain(current_services(), api_tenant().id, _domain_id(domain_id))
    return _no_store(
        jsonify(
            {
                "removed": removed.hostname,
                "certificate_files_removed": removed.certificate_files_removed,
                "primary": removed.new_primary,
            }
        )
    )



