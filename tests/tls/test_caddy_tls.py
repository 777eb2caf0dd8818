"""Real Caddy, real TLS: on-demand certificates gated by the ask hook, checked against Caddy's local root.

Each test runs the origin (public and internal apps under hypercorn) and a Caddy
process on free loopback ports, on both backends. The response that names the
store is /.well-known/zelly/domain, which the storefront's pages will not change.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import socket
import ssl
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import AsyncIterator

import pytest
from hypercorn.asyncio import serve

from ops.serve import hypercorn_config
from origin.app import create_app, create_internal_app
from origin.domains import actions
from origin.domains.serving import current_allow_list
from origin.services import Services
from origin.settings import Settings
from tests.tls.local_servers import free_port
from tests.tls.dnsmasq import DnsServer
from tests.tls.factories import make_tenant, pointed_at_platform
from tests.tls.tls_client import https_get, openssl_handshake
from tls.ask import AllowList
from tls.caddy import CaddyAdmin
from tls.caddy_process import CaddyOptions, CaddyProcess, local_root_certificate, options_from_settings

PROBE = "/.well-known/zelly/domain"


def page_title(html: bytes) -> str:
    class Title(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inside, self.text = False, ""

        def handle_starttag(self, tag, attrs) -> None:
            self.inside = tag == "title"

        def handle_endtag(self, tag) -> None:
            self.inside = False

        def handle_data(self, data) -> None:
            if self.inside:
                self.text += data

    parser = Title()
    parser.feed(html.decode())
    return parser.text.strip()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(
        origin_bind=f"127.0.0.1:{free_port()}",
        internal_bind=f"127.0.0.1:{free_port()}",
        caddy_admin_url=f"http://127.0.0.1:{free_port()}",
        http_port=free_port(),
        https_port=free_port(),
    )


@dataclass
class Stack:
    services: Services
    caddy: CaddyProcess
    root: Path
    dns: DnsServer

    @property
    def https_port(self) -> int:
        return self.services.settings.https_port

    @property
    def allow_list(self) -> AllowList:
        allow_list = current_allow_list(self.services)
        assert allow_list is not None
        return allow_list

    async def get(self, sni: str | None, *, host: str | None = None, path: str = PROBE, headers: dict | None = None):
        return await asyncio.to_thread(https_get, self.https_port, sni, self.root, host=host, path=path, headers=headers)

    async def get_once_issued(self, sni: str, path: str = PROBE):
        """For a managed certificate, which Caddy obtains in the background after start-up: the first GET once it holds one."""
        for _ in range(200):
            try:
                return await self.get(sni, path=path)
            except ssl.SSLError:  # an "internal error" alert: no certificate for the name yet
                await asyncio.sleep(0.05)
        raise AssertionError(f"Caddy never obtained a certificate for {sni}")

    async def raw_handshake(self, sni: str | None):
        return await asyncio.to_thread(openssl_handshake, self.https_port, sni, self.root)

    async def stored_certificates(self, hostname: str):
        async with CaddyAdmin(self.services.settings.caddy_admin_url) as admin:
            return await admin.stored_certificates(hostname)

    async def caddy_config(self) -> dict:
        async with CaddyAdmin(self.services.settings.caddy_admin_url) as admin:
            return await admin.config()

    async def active_domain(self, tenant_id: int, hostname: str) -> int:
        """Add and verify ``hostname`` through the real DNS check."""
        domain = await actions.do_add_domain(self.services, tenant_id, hostname)
        self.dns.serve(pointed_at_platform({domain.hostname: domain.verification_token}))
        verified = await actions.do_verify_domain(self.services, tenant_id, domain.id)
        assert verified.status == "active", verified.failure_reason
        return domain.id


@contextlib.asynccontextmanager
async def running_stack(services: Services, dns_server: DnsServer, options: CaddyOptions) -> AsyncIterator[Stack]:
    """The origin's two apps under hypercorn and a Caddy in front of them, on the settings' loopback ports."""
    settings = services.settings
    stop = asyncio.Event()
    public = create_app(settings, services=services)
    internal = create_internal_app(settings, services=services)
    servers = [
        asyncio.create_task(serve(app, hypercorn_config(bind), shutdown_trigger=stop.wait))
        for app, bind in ((public, settings.origin_bind), (internal, settings.internal_bind))
    ]
    caddy = CaddyProcess(options)
    try:
        await _wait_for_port(settings.internal_bind)
        await _wait_for_port(settings.origin_bind)
        caddy.start()
        await asyncio.to_thread(caddy.wait_ready)
        yield Stack(services, caddy, local_root_certificate(settings.data_dir / "caddy"), dns_server)
    finally:
        await asyncio.to_thread(caddy.stop)
        stop.set()
        await asyncio.gather(*servers, return_exceptions=True)


@pytest.fixture
async def stack(services: Services, dns_server: DnsServer) -> AsyncIterator[Stack]:
    async with running_stack(services, dns_server, options_from_settings(services.settings)) as running:
        yield running


async def _wait_for_port(bind: str) -> None:
    host, _, port = bind.rpartition(":")
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection(host, int(port))
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.02)
    raise RuntimeError(f"nothing listens on {bind}")


async def test_active_domain_gets_a_certificate_chaining_to_the_local_root(stack: Stack) -> None:
    tenant_id, _ = await make_tenant(stack.services, "acme")
    await make_tenant(stack.services, "nordic")
    await stack.active_domain(tenant_id, "shop.example.test")

    response = await stack.get("shop.example.test")
    home = await stack.get("shop.example.test", path="/")

    assert response.sans == ("shop.example.test",)
    assert response.status == 200
    assert response.json() == {"hostname": "shop.example.test", "kind": "custom_domain", "store": "acme"}
    assert home.status == 200
    assert page_title(home.body).startswith("Acme")
    assert stack.allow_list.stats.asks_for("shop.example.test") >= 1


async def test_platform_subdomain_of_an_active_store_is_served(stack: Stack) -> None:
    await make_tenant(stack.services, "acme")
    await stack.allow_list.refresh()  # the tenant was created after start-up

    response = await stack.get("acme.localhost")

    assert response.sans == ("acme.localhost",)
    assert response.json()["store"] == "acme"


async def test_the_seller_api_answers_over_https_on_the_platform_host_in_dev(stack: Stack) -> None:
    """`make dev`'s https://localhost:8443/api/v1/openapi.json: a managed certificate, not an ask (issue 13, item 8)."""
    platform = await stack.get_once_issued("localhost", "/api/v1/openapi.json")
    api = await stack.get_once_issued("api.localhost", "/api/v1/openapi.json")

    assert (platform.status, platform.sans) == (200, ("localhost",))
    assert (api.status, api.sans) == (200, ("api.localhost",))
    assert platform.json()["openapi"].startswith("3.")
    assert stack.allow_list.stats.asks_for("localhost") == 0


async def test_unknown_and_pending_domains_fail_the_handshake_and_the_hook_saw_them(stack: Stack) -> None:
    tenant_id, _ = await make_tenant(stack.services, "acme")
    await actions.do_add_domain(stack.services, tenant_id, "pending.example.test")

    with pytest.raises(ssl.SSLError):
        await stack.get("pending.example.test")
    with pytest.raises(ssl.SSLError):
        await stack.get("unknown.example.test")

    assert ("pending.example.test", "DENY") in stack.allow_list.stats.recent
    assert ("unknown.example.test", "DENY") in stack.allow_list.stats.recent
    assert await stack.stored_certificates("pending.example.test") == []


async def test_sni_variants(stack: Stack) -> None:
    tenant_id, _ = await make_tenant(stack.services, "acme")
    await stack.active_domain(tenant_id, "shop.example.test")
    await stack.active_domain(tenant_id, "bücher.example.test")

    upper = await stack.raw_handshake("SHOP.EXAMPLE.TEST")
    idn = await stack.get("bücher.example.test")  # Python sends the A-label
    trailing_dot_sni = await stack.raw_handshake("shop.example.test.")
    trailing_dot_host = await stack.get("shop.example.test", host="shop.example.test.")  # what browsers send
    ip = await stack.raw_handshake("127.0.0.1")
    none = await stack.raw_handshake(None)

    assert (upper.ok, upper.sans) == (True, ("shop.example.test",))
    assert idn.sans == ("xn--bcher-kva.example.test",)
    assert idn.json()["store"] == "acme"
    # Go's TLS stack refuses a ClientHello whose SNI ends in a dot (RFC 6066 forbids it). Clients strip
    # the dot from SNI but keep it in Host, and strict_sni_host compares the two literally: 421 from Caddy.
    assert trailing_dot_sni.ok is False
    assert "alert decode error" in trailing_dot_sni.output
    assert (trailing_dot_host.status, trailing_dot_host.headers["server"]) == (421, "Caddy")
    assert ip.ok is False
    assert none.ok is False
    assert ("127.0.0.1", "GARBAGE") in stack.allow_list.stats.recent


async def test_thirty_concurrent_first_handshakes_make_one_certificate(stack: Stack) -> None:
    tenant_id, _ = await make_tenant(stack.services, "acme")
    await stack.active_domain(tenant_id, "rush.example.test")
    loop = asyncio.get_running_loop()

    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        responses = await asyncio.gather(
            *(loop.run_in_executor(pool, lambda: https_get(stack.https_port, "rush.example.test", stack.root, path=PROBE)) for _ in range(30))
        )
    stored = await stack.stored_certificates("rush.example.test")

    assert [response.status for response in responses] == [200] * 30
    assert len({response.fingerprint for response in responses}) == 1
    assert [(certificate.issuer_key, [path.suffix for path in certificate.files]) for certificate in stored] == [
        ("local", [".crt", ".json", ".key"])
    ]
    assert 1 <= stack.allow_list.stats.asks_for("rush.example.test") <= 30


async def test_caddy_refuses_internal_paths_with_404_before_any_upstream(stack: Stack) -> None:
    await make_tenant(stack.services, "acme")
    await stack.allow_list.refresh()

    answers = [await stack.get("acme.localhost", path=path) for path in (
        "/internal/edge/stats", "/internal/edge/purge", "/internal/anything", "/INTERNAL/edge/stats", "/%69nternal/edge/stats")]
    home = await stack.get("acme.localhost", path="/")

    assert [answer.status for answer in answers] == [404, 404, 404, 404, 404]
    assert [answer.body for answer in answers] == [b""] * 5  # Caddy's own empty 404: the request never reached a store
    assert home.status == 200


async def test_sni_of_one_store_with_host_of_another_is_421(stack: Stack) -> None:
    acme_id, _ = await make_tenant(stack.services, "acme")
    nordic_id, _ = await make_tenant(stack.services, "nordic")
    await stack.active_domain(acme_id, "acme-shop.example.test")
    await stack.active_domain(nordic_id, "nordic-shop.example.test")

    crossed = await stack.get("acme-shop.example.test", host="nordic-shop.example.test")
    straight = await stack.get("nordic-shop.example.test")
    # A client cannot plant its own SNI header: Caddy sets it from the handshake.
    planted = await stack.get("nordic-shop.example.test", headers={"X-Zelly-SNI": "acme-shop.example.test"})

    assert crossed.status == 421
    assert straight.json()["store"] == "nordic"
    assert (planted.status, planted.json()["store"]) == (200, "nordic")


async def test_http_redirects_to_https_keeping_path_and_query(stack: Stack) -> None:
    port = stack.services.settings.http_port

    def plain_get() -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"GET /products/x?color=red&size=2 HTTP/1.1\r\nHost: shop.example.test\r\nConnection: close\r\n\r\n")
            return raw.recv(4096)

    head = (await asyncio.to_thread(plain_get)).decode("latin-1")

    assert head.startswith("HTTP/1.1 308 ")
    assert f"Location: https://shop.example.test:{stack.https_port}/products/x?color=red&size=2\r\n" in head


async def test_removed_domain_is_refused_while_caddy_still_holds_its_certificate(stack: Stack) -> None:
    tenant_id, _ = await make_tenant(stack.services, "acme")
    domain_id = await stack.active_domain(tenant_id, "gone.example.test")
    before = await stack.get("gone.example.test")

    removed = await actions.do_remove_domain(stack.services, tenant_id, domain_id)
    after = await stack.get("gone.example.test")  # the handshake still works: Caddy has the certificate in memory
    stored = await stack.stored_certificates("gone.example.test")

    assert before.json()["store"] == "acme"
    assert removed.certificate_files_removed == 3
    assert after.fingerprint == before.fingerprint
    assert after.status == 410
    assert stored == []


async def test_acme_path_against_pebble(services: Services, dns_server: DnsServer, tmp_path: Path) -> None:
    """Production's issuer: ACME with an account email, here against Debian's pebble test CA on loopback."""
    from tests.tls.dnsmasq import Records
    from tests.tls.pebble import Pebble

    settings = services.settings.replace(acme_email="ops@zelly.test")
    pebble = Pebble(tmp_path, http_port=settings.http_port, tls_port=settings.https_port, dns_server=dns_server.address)
    try:
        options = dataclasses.replace(
            options_from_settings(settings), acme_directory=pebble.directory_url, trusted_ca_file=pebble.listener_ca
        )
        async with running_stack(services, dns_server, options) as acme_stack:
            tenant_id, _ = await make_tenant(services, "acme")
            await acme_stack.active_domain(tenant_id, "shop.example.test")
            records = Records(zones=("example.test",))
            records.hosts["shop.example.test"] = ["127.0.0.1"]  # pebble validates the challenge against this Caddy
            dns_server.serve(records)
            pebble_root = await asyncio.to_thread(pebble.issuing_root)

            response = await asyncio.to_thread(https_get, acme_stack.https_port, "shop.example.test", pebble_root, path=PROBE)
            stored = await acme_stack.stored_certificates("shop.example.test")
            config = await acme_stack.caddy_config()
    finally:
        pebble.stop()

    assert response.sans == ("shop.example.test",)
    assert response.json()["store"] == "acme"
    assert [certificate.issuer_key for certificate in stored] == [f"127.0.0.1-{pebble.port}-dir"]
    issuers = config["apps"]["tls"]["automation"]["policies"][0]["issuers"]
    assert [(issuer["module"], issuer["email"], issuer["ca"]) for issuer in issuers] == [
        ("acme", "ops@zelly.test", pebble.directory_url)
    ]
