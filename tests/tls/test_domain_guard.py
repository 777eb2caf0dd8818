"""The origin's own guards: 421 on SNI/Host mismatch (trusted peers only), 410 for a removed domain."""

from __future__ import annotations

import pytest

from origin.domains import actions
from origin.domains.serving import current_allow_list
from origin.web.asgi.domain_guard import is_trusted_peer
from tests.tls.factories import make_tenant, pointed_at_platform, running_apps

FROM_CADDY = {"client": ("127.0.0.1", 50000)}  # Caddy connects from loopback


async def test_sni_header_from_loopback_must_match_host(services) -> None:
    await make_tenant(services, "acme")
    await make_tenant(services, "nordic")
    async with running_apps(services) as (public, _):

        crossed = await public.get(
            "/.well-known/zelly/domain",
            headers={"Host": "nordic.localhost", "X-Zelly-SNI": "acme.localhost"},
            scope_base=FROM_CADDY,
        )
        matched = await public.get(
            "/.well-known/zelly/domain",
            headers={"Host": "NORDIC.localhost.:8443", "X-Zelly-SNI": "nordic.localhost"},
            scope_base=FROM_CADDY,
        )
        crossed_page = await public.get(
            "/", headers={"Host": "nordic.localhost", "X-Zelly-SNI": "acme.localhost"}, scope_base=FROM_CADDY
        )

    assert crossed.status_code == 421
    assert (await crossed.get_json())["error"]["code"] == "misdirected_request"
    assert (matched.status_code, (await matched.get_json())["store"]) == (200, "nordic")
    assert crossed_page.status_code == 421
    assert crossed_page.content_type == "text/html; charset=utf-8"


async def test_sni_header_from_an_untrusted_peer_is_ignored(services) -> None:
    await make_tenant(services, "nordic")
    async with running_apps(services) as (public, _):

        response = await public.get(
            "/.well-known/zelly/domain",
            headers={"Host": "nordic.localhost", "X-Zelly-SNI": "acme.localhost"},
            scope_base={"client": ("198.51.100.20", 40000)},
        )

    assert (response.status_code, (await response.get_json())["store"]) == (200, "nordic")


@pytest.mark.parametrize(
    ("remote", "trusted", "expected"),
    [
        ("127.0.0.1", (), True),
        ("::1", (), True),
        ("10.0.0.5", ("10.0.0.0/8",), True),
        ("10.0.0.5", (), False),
        ("198.51.100.20", ("10.0.0.0/8", "not-a-network"), False),
        ("", (), False),
        (None, (), False),
    ],
)
def test_trusted_peers(remote, trusted, expected) -> None:
    assert is_trusted_peer(remote, trusted) is expected


async def test_probe_names_the_store_or_404s(services) -> None:
    await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):

        known = await public.get("/.well-known/zelly/domain", headers={"Host": "acme.localhost"})
        unknown = await public.get("/.well-known/zelly/domain", headers={"Host": "nobody.localhost"})
        ip = await public.get("/.well-known/zelly/domain", headers={"Host": "127.0.0.1:8000"})

    assert await known.get_json() == {"hostname": "acme.localhost", "kind": "platform_subdomain", "store": "acme"}
    assert (unknown.status_code, (await unknown.get_json())["error"]["code"]) == (404, "unknown_host")
    assert (ip.status_code, (await ip.get_json())["error"]["code"]) == (400, "ip_not_allowed")


async def test_removed_domain_is_gone_and_a_readded_one_is_not(services, dns_server) -> None:
    tenant_id, _ = await make_tenant(services, "acme")
    async with running_apps(services) as (public, internal):
        domain = await actions.do_add_domain(services, tenant_id, "shop.example.test")
        dns_server.serve(pointed_at_platform({"shop.example.test": domain.verification_token}))
        await actions.do_verify_domain(services, tenant_id, domain.id)
        await actions.do_remove_domain(services, tenant_id, domain.id)
        gone = await public.get("/anything", headers={"Host": "shop.example.test"})

        again = await actions.do_add_domain(services, tenant_id, "shop.example.test")
        dns_server.serve(pointed_at_platform({"shop.example.test": again.verification_token}))
        await actions.do_verify_domain(services, tenant_id, again.id)
        back = await public.get("/.well-known/zelly/domain", headers={"Host": "shop.example.test"})
        ask = await internal.get("/tls/ask?domain=shop.example.test")

    assert gone.status_code == 410
    assert back.status_code == 200
    assert ask.status_code == 200
    assert current_allow_list(services) is None  # released when both apps stopped


async def _active_domain(services, dns_server, tenant_id: int, hostname: str):
    domain = await actions.do_add_domain(services, tenant_id, hostname)
    dns_server.serve(pointed_at_platform({hostname: domain.verification_token}))
    return await actions.do_verify_domain(services, tenant_id, domain.id)


async def test_a_removal_from_another_process_is_gone_here_and_after_a_restart(services, dns_server) -> None:
    # `zelly domain remove` runs in its own process: its Services have no allow-list, and on the
    # embedded stand-ins its pub/sub message reaches no one. The database says the name was removed.
    from origin.services import open_services

    tenant_id, _ = await make_tenant(services, "acme")
    kept = await _active_domain(services, dns_server, tenant_id, "shop.example.test")
    removed = await _active_domain(services, dns_server, tenant_id, "old.example.test")
    async with running_apps(services) as (public, _):
        before = await public.get("/.well-known/zelly/domain", headers={"Host": "old.example.test"})
        async with open_services(services.settings, with_analytics=False) as command_line:
            await actions.do_remove_domain(command_line, tenant_id, removed.id)
        await current_allow_list(services).refresh()  # the refresher's next tick
        after = await public.get("/anything", headers={"Host": "old.example.test"})
    async with running_apps(services) as (public, _):  # a restart: the allow-list loads from scratch
        restarted = await public.get("/anything", headers={"Host": "old.example.test"})
        still_served = await public.get("/.well-known/zelly/domain", headers={"Host": kept.hostname})
        never_served = await public.get("/anything", headers={"Host": "never.example.test"})

    assert before.status_code == 200
    assert (after.status_code, restarted.status_code) == (410, 410)
    assert "old.example.test is no longer served here" in await restarted.get_data(as_text=True)
    assert still_served.status_code == 200
    assert never_served.status_code == 404


async def test_suspended_store_drops_out_of_the_ask_without_a_410(services) -> None:
    from origin.tenancy.actions import do_suspend_tenant

    tenant_id, _ = await make_tenant(services, "acme")
    async with running_apps(services) as (public, internal):
        allowed = await internal.get("/tls/ask?domain=acme.localhost")
        await do_suspend_tenant(services, tenant_id)
        await current_allow_list(services).refresh()

        denied = await internal.get("/tls/ask?domain=acme.localhost")
        page = await public.get("/.well-known/zelly/domain", headers={"Host": "acme.localhost"})

    assert (allowed.status_code, denied.status_code) == (200, 404)
    assert page.status_code == 404  # the probe's own answer; no 410 from the guard


async def test_a_warm_page_with_a_crossed_sni_is_421_like_a_cold_one(services) -> None:
    # Issue 10, item 1: the guard runs before the cached-page fast path, so being cached changes nothing.
    from quart import request_started

    from tests.storefront.shops import two_shops

    acme, nordic = await two_shops(services)
    built: list[str] = []

    async def count(sender, **extra) -> None:
        built.append("request")

    crossed = {"Host": nordic.host, "X-Zelly-SNI": acme.host}
    async with running_apps(services) as (public, _):
        cold_crossed = await public.get("/products/linen-shirt", headers=crossed, scope_base=FROM_CADDY)
        await public.get("/products/linen-shirt", headers={"Host": nordic.host}, scope_base=FROM_CADDY)  # warms the page
        request_started.connect(count)
        try:
            warm = await public.get("/products/linen-shirt", headers={"Host": nordic.host, "X-Zelly-SNI": nordic.host}, scope_base=FROM_CADDY)
            warm_crossed = await public.get("/products/linen-shirt", headers=crossed, scope_base=FROM_CADDY)
            warm_crossed_head = await public.head("/products/linen-shirt", headers=crossed, scope_base=FROM_CADDY)
        finally:
            request_started.disconnect(count)

    assert (cold_crossed.status_code, warm.status_code) == (421, 200)
    assert built == []  # the warm page came from the fast path, and the refusals from the guard in front of it
    assert (warm_crossed.status_code, warm_crossed_head.status_code) == (421, 421)
    assert await warm_crossed_head.get_data() == b""
    assert warm_crossed.content_type == cold_crossed.content_type == "text/html; charset=utf-8"
    assert await warm_crossed.get_data() == await cold_crossed.get_data()
    assert "Nordic" not in await warm_crossed.get_data(as_text=True)
