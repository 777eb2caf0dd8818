"""zelly tls root  and  zelly domain add|verify|list|remove (custom domains from the command line)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from origin.domains import actions, queries
from origin.domains.errors import from_hostname_error, unknown_domain
from origin.domains.models import CustomDomain
from origin.services import open_services
from origin.settings import Settings
from origin.tenancy import queries as tenancy_queries
from origin.tenancy.errors import unknown_tenant
from tls.caddy import CaddyAdmin, CaddyAdminError
from tls.caddy_process import local_root_certificate
from tls.hostnames import HostnameError, normalize_hostname
from tls.verification import instructions_for


def register(subparsers: argparse._SubParsersAction) -> None:
    tls = subparsers.add_parser("tls", help="local TLS: where Caddy's root certificate is")
    tls_sub = tls.add_subparsers(dest="tls_command", metavar="ACTION", required=True)
    root = tls_sub.add_parser("root", help="print the path of Caddy's local root certificate (trust it, or pass it to curl --cacert)")
    root.set_defaults(handler=print_root)

    domain = subparsers.add_parser("domain", help="custom domains of a store")
    sub = domain.add_subparsers(dest="domain_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add a hostname to a store; prints the DNS records to publish")
    add.add_argument("slug")
    add.add_argument("hostname")
    add.set_defaults(handler=add_domain)
    verify = sub.add_parser("verify", help="check a domain's DNS now (or, with --due, every pending domain that is due)")
    verify.add_argument("slug", nargs="?")
    verify.add_argument("hostname", nargs="?")
    verify.add_argument("--due", action="store_true", help="run the periodic check over all stores")
    verify.set_defaults(handler=verify_domain)
    listing = sub.add_parser("list", help="list a store's domains")
    listing.add_argument("slug")
    listing.set_defaults(handler=list_domains)
    remove = sub.add_parser("remove", help="stop serving a domain at once and delete its certificate")
    remove.add_argument("slug")
    remove.add_argument("hostname")
    remove.set_defaults(handler=remove_domain)


async def print_root(args: argparse.Namespace, settings: Settings) -> int:
    # Ask the running Caddy first (it knows its storage); else where `zelly dev` puts it.
    try:
        async with CaddyAdmin(settings.caddy_admin_url) as admin:
            path = await admin.local_root_certificate()
    except CaddyAdminError:
        path = local_root_certificate((Path(settings.data_dir) / "caddy").resolve())
    if not path.is_file():
        print(f"{path}", flush=True)
        print("zelly: no root certificate yet: Caddy creates it on its first start (zelly dev)", file=sys.stderr)
        return 1
    print(path)
    return 0


async def _tenant_id(services, slug: str) -> int:
    async with services.db.connect() as conn:
        tenant = await tenancy_queries.select_tenant_by_slug(conn, slug)
    if tenant is None:
        raise unknown_tenant(repr(slug))
    return tenant.id


async def _domain(services, tenant_id: int, hostname: str) -> CustomDomain:
    try:
        name = normalize_hostname(hostname)
    except HostnameError as error:
        raise from_hostname_error(error) from None
    async with services.db.connect() as conn:
        domain = await queries.select_domain_by_hostname(conn, name)
    if domain is None or domain.tenant_id != tenant_id:
        raise unknown_domain(repr(name))
    return domain


def _describe(domain: CustomDomain, settings: Settings) -> None:
    shown = instructions_for(domain.hostname, domain.verification_token, settings.dns_cname_target, settings.platform_ips)
    print(f"{domain.display_name}: {domain.status}{' (primary)' if domain.is_primary else ''}")
    if domain.failure_code:
        print(f"  last check: {domain.failure_code}: {domain.failure_reason}")
    if not domain.is_active:
        print(f"  TXT   {shown.txt_name}  \"{shown.txt_value}\"")
        print(f"  CNAME {domain.hostname}  {shown.cname_target}")
        for address in shown.a_records:
            print(f"  or A    {domain.hostname}  {address}")
        for address in shown.aaaa_records:
            print(f"  or AAAA {domain.hostname}  {address}")


async def add_domain(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        domain = await actions.do_add_domain(services, await _tenant_id(services, args.slug), args.hostname)
    _describe(domain, settings)
    print(f"then run: zelly domain verify {args.slug} {domain.hostname}")
    return 0


async def verify_domain(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        if args.due:
            checked = await actions.verify_due_domains(services)
            for domain in checked:
                print(f"{domain.hostname}: {domain.status}" + (f" ({domain.failure_code})" if domain.failure_code else ""))
            print(f"{len(checked)} domain(s) checked")
            return 0
        if not (args.slug and args.hostname):
            print("zelly: give a store slug and a hostname, or --due", file=sys.stderr)
            return 2
        tenant_id = await _tenant_id(services, args.slug)
        domain = await actions.do_verify_domain(services, tenant_id, (await _domain(services, tenant_id, args.hostname)).id)
    _describe(domain, settings)
    return 0 if domain.is_active else 1


async def list_domains(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        tenant_id = await _tenant_id(services, args.slug)
        async with services.db.connect() as conn:
            found = await queries.select_domains(conn, tenant_id)
    print(f"{'HOSTNAME':<40} {'STATUS':<8} {'PRIMARY':<7} LAST FAILURE")
    for domain in found:
        print(f"{domain.display_name:<40} {domain.status:<8} {'yes' if domain.is_primary else '':<7} {domain.failure_code or ''}")
    return 0


async def remove_domain(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        tenant_id = await _tenant_id(services, args.slug)
        removed = await actions.do_remove_domain(services, tenant_id, (await _domain(services, tenant_id, args.hostname)).id)
    files = "not reachable (files kept)" if removed.certificate_files_removed is None else f"{removed.certificate_files_removed} file(s) deleted"
    print(f"{removed.hostname}: removed; certificate: {files}")
    if removed.new_primary:
        print(f"primary domain is now {removed.new_primary}")
    return 0
