"""Real Caddy: the platform's own hosts have managed certificates, every store's platform subdomain shares one wildcard (issue 13, item 8).

A two-label platform domain (production's shape; TLS clients refuse a wildcard
over one label such as dev's ``localhost``, which keeps on-demand certificates,
tests/tls/test_caddy_tls.py). The wildcard comes from Caddy's internal CA here;
production issues it over ACME DNS-01 (docs/decisions.md, "Platform TLS").
"""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from origin.services import Services
from origin.settings import Settings
from tests.tls.dnsmasq import DnsServer
from tests.tls.factories import make_tenant
from tests.tls.local_servers import free_port
from tests.tls.test_caddy_tls import Stack, running_stack
from tls.caddy_process import options_from_settings

PLATFORM = "zelly-platform.test"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(
        platform_domain=PLATFORM,
        origin_bind=f"127.0.0.1:{free_port()}",
        internal_bind=f"127.0.0.1:{free_port()}",
        caddy_admin_url=f"http://127.0.0.1:{free_port()}",
        http_port=free_port(),
        https_port=free_port(),
    )


@pytest.fixture
async def stack(services: Services, dns_server: DnsServer) -> AsyncIterator[Stack]:
    async with running_stack(services, dns_server, options_from_settings(services.settings)) as running:
        yield running


async def test_the_platform_and_api_hosts_answer_the_api_over_managed_certificates(stack: Stack) -> None:
    platform = await stack.get_once_issued(PLATFORM, "/api/v1/openapi.json")
    api = await stack.get_once_issued(f"api.{PLATFORM}", "/api/v1/openapi.json")
    config = await stack.caddy_config()

    assert (platform.status, api.status) == (200, 200)
    assert platform.json()["openapi"].startswith("3.")
    assert api.json() == platform.json()
    assert platform.sans == (PLATFORM,)  # the wildcard does not cover the bare domain: its own certificate
    # api.<platform> has its own managed certificate and is also under the wildcard: whichever Caddy had first.
    assert api.sans in ((f"api.{PLATFORM}",), (f"*.{PLATFORM}",))
    # Managed: in Caddy's automation as named subjects, obtained without asking the hook.
    subjects = {subject for policy in config["apps"]["tls"]["automation"]["policies"] for subject in policy.get("subjects", ())}
    assert {PLATFORM, f"api.{PLATFORM}", f"*.{PLATFORM}"} <= subjects
    assert stack.allow_list.stats.asks_for(PLATFORM) == 0
    assert stack.allow_list.stats.asks_for(f"api.{PLATFORM}") == 0


async def test_every_store_subdomain_shares_one_wildcard_certificate_and_no_per_store_issuance(stack: Stack) -> None:
    slugs = [f"store{index}" for index in range(5)]
    for slug in slugs:
        await make_tenant(stack.services, slug)
    await stack.allow_list.refresh()  # the tenants were created after start-up

    responses = [await stack.get_once_issued(f"{slug}.{PLATFORM}") for slug in slugs]
    stored = [await stack.stored_certificates(f"{slug}.{PLATFORM}") for slug in slugs]

    assert [response.json()["store"] for response in responses] == slugs
    assert {response.sans for response in responses} == {(f"*.{PLATFORM}",)}
    assert len({response.fingerprint for response in responses}) == 1  # one certificate for every store
    assert stored == [[]] * len(slugs)  # no certificate of their own
    assert [stack.allow_list.stats.asks_for(f"{slug}.{PLATFORM}") for slug in slugs] == [0] * len(slugs)


async def test_a_name_under_the_platform_that_is_no_store_gets_no_page(stack: Stack) -> None:
    await make_tenant(stack.services, "acme")

    unknown = await stack.get_once_issued(f"nobody.{PLATFORM}")

    assert unknown.status == 404  # the wildcard covers the handshake; the origin names no store
    assert unknown.sans == (f"*.{PLATFORM}",)
    assert unknown.json() == {"error": {"code": "unknown_host", "message": f"nobody.{PLATFORM} is not a store on this platform"}}
