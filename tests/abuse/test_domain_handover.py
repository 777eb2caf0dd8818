"""Domains change hands cleanly (issue 13, item 5), on both backends, through the edge in front of the real origin.

- A removes a name, B verifies it: the next request through the edge is B's page, even in a
  process whose LRU had let the name go while the shared Host -> tenant entry still named A;
- a cached 308 to the primary domain carries the tenant's and the host's tags, so purges reach it;
- a squatter's pending claim does not block the owner, who proves ownership with its own TXT token.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from edge.app import wrap_origin
from edge.config import EdgeConfig
from edge.tags import host_tag, tenant_tag
from origin.app import create_app
from origin.domains import actions, queries
from origin.domains.errors import DomainError
from origin.web.storefront.site import app_resolver
from tests.edge.servers import serve_on_loopback
from tests.tls.conftest import DNS_TARGET, PLATFORM_IPV4, PLATFORM_IPV6, dns_server  # noqa: F401 (dns_server: a fixture)
from tests.tls.factories import make_tenant, pointed_at_platform

NAME = "shop.example.test"


@pytest.fixture
def settings(settings, dns_server):  # noqa: F811 (the fixture imported above)
    """The shared settings, resolving through the test's dnsmasq."""
    return settings.replace(dns_resolvers=(dns_server.address,), dns_target=DNS_TARGET, platform_ips=(PLATFORM_IPV4, PLATFORM_IPV6))


@pytest.fixture
async def edge(services):
    """The edge wrapped around the origin app (zelly dev's one process), served on loopback."""
    origin_app = create_app(services.settings, services=services)
    edge_app = wrap_origin(origin_app, EdgeConfig(internal_token="t"), services.broadcast)
    async with serve_on_loopback(edge_app) as url:
        await asyncio.wait_for(edge_app.subscribed.wait(), 5)
        async with httpx.AsyncClient(base_url=url) as client:
            yield origin_app, edge_app, client


async def until(predicate, what: str) -> None:
    """Pub/sub delivery is asynchronous: wait (bounded) for its effect to show."""
    for _ in range(200):
        if await predicate():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"timed out waiting for {what}")


async def page(client: httpx.AsyncClient, host: str, path: str = "/") -> httpx.Response:
    return await client.get(path, headers={"host": host})


async def test_a_removed_then_reverified_name_serves_its_new_tenant_through_the_edge(services, dns_server, edge):
    origin_app, edge_app, client = edge
    acme_id, _ = await make_tenant(services, "acme")
    nordic_id, _ = await make_tenant(services, "nordic")
    claim = await actions.do_add_domain(services, acme_id, NAME)
    dns_server.serve(pointed_at_platform({NAME: claim.verification_token}))
    await actions.do_verify_domain(services, acme_id, claim.id)
    first = await page(client, NAME)
    stored_for_acme = edge_app.store.keys_for(hosts=[NAME])
    # This process's LRU entry expires (LRU_TTL_SECONDS) long before the shared one (POSITIVE_TTL_SECONDS).
    app_resolver(origin_app).forget_everything()

    await actions.do_remove_domain(services, acme_id, claim.id)
    await until(lambda: _status_is(client, 410), "the removal to reach this process")
    moved = await actions.do_add_domain(services, nordic_id, NAME)
    dns_server.serve(pointed_at_platform({NAME: moved.verification_token}))
    await actions.do_verify_domain(services, nordic_id, moved.id)
    await until(lambda: _status_is(client, 200), "the activation to reach this process")
    after = await page(client, NAME)
    again = await page(client, NAME)

    assert (first.status_code, "Acme" in first.text) == (200, True)
    assert len(stored_for_acme) == 1  # the edge held Acme's page under the name
    assert after.status_code == 200
    assert "Nordic" in after.text and "Acme" not in after.text
    assert "Nordic" in again.text and "Acme" not in again.text
    assert f"t{nordic_id}" in after.headers["cache-tag"].split(",")


async def _status_is(client: httpx.AsyncClient, status: int) -> bool:
    return (await page(client, NAME)).status_code == status


async def test_a_cached_redirect_to_the_primary_carries_the_tenant_and_host_tags_and_goes_with_a_primary_change(services, dns_server, edge):
    _, edge_app, client = edge
    acme_id, _ = await make_tenant(services, "acme")
    apex = await actions.do_add_domain(services, acme_id, "example.test")
    www = await actions.do_add_domain(services, acme_id, "www.example.test")
    dns_server.serve(pointed_at_platform({"example.test": apex.verification_token, "www.example.test": www.verification_token}))
    await actions.do_verify_domain(services, acme_id, apex.id)
    await actions.do_verify_domain(services, acme_id, www.id)
    await actions.do_set_primary_domain(services, acme_id, www.id)
    await until(lambda: _redirects_to(client, "example.test", "www.example.test"), "the primary to be www")
    redirect = await page(client, "example.test")
    stored_redirect = edge_app.store.keys_for(tags=[host_tag("example.test")])

    await actions.do_set_primary_domain(services, acme_id, apex.id)
    await until(lambda: _redirects_to(client, "www.example.test", "example.test"), "www to redirect to the apex")
    served = await page(client, "example.test")

    assert redirect.status_code == 308
    assert redirect.headers["cache-tag"].split(",") == [tenant_tag(acme_id), host_tag("example.test")]
    assert len(stored_redirect) == 1
    assert served.status_code == 200  # the cached redirect went with the tenant's purge


async def _redirects_to(client: httpx.AsyncClient, host: str, target: str) -> bool:
    response = await page(client, host)
    return response.status_code == 308 and httpx.URL(response.headers["location"]).host == target


async def test_a_squatters_pending_claim_loses_to_the_owner_who_proves_ownership(services, dns_server, edge):
    _, _, client = edge
    squatter_id, _ = await make_tenant(services, "squatter")
    owner_id, _ = await make_tenant(services, "owner")
    squatted = await actions.do_add_domain(services, squatter_id, NAME)
    owner_token = actions.claim_tokens(services, owner_id, NAME)[0]

    with pytest.raises(DomainError) as before_proof:
        await actions.do_add_domain(services, owner_id, NAME)
    dns_server.serve(pointed_at_platform({NAME: owner_token}))
    owned = await actions.do_add_domain(services, owner_id, NAME)
    with pytest.raises(DomainError) as squatter_again:
        await actions.do_add_domain(services, squatter_id, NAME)
    await until(lambda: _status_is(client, 200), "the owner's activation to reach this process")
    served = await page(client, NAME)

    assert before_proof.value.code == "domain_taken"
    assert f"_zelly-challenge.{NAME} = {owner_token}" in before_proof.value.message
    assert owner_token != squatted.verification_token
    assert (owned.tenant_id, owned.status, owned.is_primary, owned.verification_token) == (owner_id, "active", True, owner_token)
    assert squatter_again.value.code == "domain_taken"
    async with services.db.connect() as conn:
        assert await queries.select_domains(conn, squatter_id) == []
    assert "Owner" in served.text and "Squatter" not in served.text


async def test_a_squatter_cannot_take_a_pending_claim_with_the_owners_dns_either(services, dns_server):
    owner_id, _ = await make_tenant(services, "owner")
    squatter_id, _ = await make_tenant(services, "squatter")
    claim = await actions.do_add_domain(services, owner_id, NAME)
    # The owner's own pending token is in DNS: it proves the owner, never a third store.
    dns_server.serve(pointed_at_platform({NAME: claim.verification_token}))

    with pytest.raises(DomainError) as raised:
        await actions.do_add_domain(services, squatter_id, NAME)

    assert raised.value.code == "domain_taken"
    async with services.db.connect() as conn:
        assert [domain.id for domain in await queries.select_domains(conn, owner_id)] == [claim.id]
