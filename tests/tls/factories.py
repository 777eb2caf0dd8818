"""Plain async factories for the custom-domain tests."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

from origin.app import create_app, create_internal_app
from origin.services import Services
from origin.tenancy.actions import do_create_tenant, do_issue_api_token
from tests.tls.conftest import DNS_TARGET, PLATFORM_IPV4
from tests.tls.dnsmasq import Records


async def make_tenant(services: Services, slug: str, currency: str = "USD") -> tuple[int, dict[str, str]]:
    """A tenant and the headers of its API token."""
    tenant = await do_create_tenant(services, slug=slug, name=slug.title(), currency=currency)
    token = await do_issue_api_token(services, tenant.id)
    return tenant.id, {"Authorization": f"Bearer {token.token}"}


def pointed_at_platform(tokens: dict[str, str]) -> Records:
    """DNS where each hostname holds its TXT token and is a CNAME to the platform target."""
    records = Records(zones=("example.test", "zelly-platform.test", "elsewhere.test"))
    records.hosts[DNS_TARGET] = [PLATFORM_IPV4]
    for hostname, token in tokens.items():
        records.txt[f"_zelly-challenge.{hostname}"] = [token]
        records.cnames[hostname] = DNS_TARGET
    return records


@contextlib.asynccontextmanager
async def running_apps(services: Services) -> AsyncIterator[tuple]:
    """Public and internal test clients, with start-up/shutdown hooks run (the allow-list loads)."""
    public = create_app(services.settings, services=services)
    internal = create_internal_app(services.settings, services=services)
    async with public.test_app() as public_app, internal.test_app() as internal_app:
        yield public_app.test_client(), internal_app.test_client()
