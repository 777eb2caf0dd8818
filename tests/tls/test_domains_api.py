"""The seller API for custom domains, with DNS from a real dnsmasq; both backends."""

from __future__ import annotations


import pytest

from origin.db import domains
from origin.domains.serving import current_allow_list
from origin.invalidation import catalog_version
from tests.conftest import count_rows
from tests.tls.conftest import DNS_TARGET, PLATFORM_IPV4, PLATFORM_IPV6
from tests.tls.factories import make_tenant, pointed_at_platform, running_apps


async def test_add_returns_pending_with_dns_instructions(services) -> None:
    _, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):

        response = await public.post("/api/v1/domains", json={"hostname": "Shop.Example.TEST."}, headers=headers)
        body = await response.get_json()

    assert response.status_code == 201
    assert response.headers["Location"] == f"/api/v1/domains/{body['id']}"
    assert body["hostname"] == "shop.example.test"
    assert body["status"] == "pending"
    assert body["is_primary"] is False
    assert body["failure"] is None
    assert body["dns"]["txt"]["name"] == "_zelly-challenge.shop.example.test"
    assert body["dns"]["txt"]["value"].startswith("zelly-verify=") and len(body["dns"]["txt"]["value"]) == 45
    assert body["dns"]["cname"] == {"name": "shop.example.test", "target": DNS_TARGET}
    assert (body["dns"]["a"], body["dns"]["aaaa"]) == ([PLATFORM_IPV4], [PLATFORM_IPV6])


async def test_idn_is_stored_as_punycode_and_shown_in_unicode(services) -> None:
    _, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):

        body = await (await public.post("/api/v1/domains", json={"hostname": "Bücher.example.test"}, headers=headers)).get_json()

    assert (body["hostname"], body["display_name"]) == ("xn--bcher-kva.example.test", "bücher.example.test")


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"hostname": "203.0.113.10"}, "ip_not_allowed", "hostname"),
        ({"hostname": "*.example.test"}, "wildcard_not_allowed", "hostname"),
        ({"hostname": "shop.acme.localhost"}, "platform_hostname", "hostname"),
        ({"hostname": "localhost"}, "not_a_custom_domain", "hostname"),
        ({"hostname": "a" * 64 + ".example.test"}, "hostname_too_long", "hostname"),
        ({"hostname": "shop..example.test"}, "malformed_hostname", "hostname"),
        ({"hostname": "xn--zz.example.test"}, "invalid_idn", "hostname"),
        ({"hostname": 42}, "malformed_hostname", "hostname"),
        ({}, "missing_field", "hostname"),
        ({"hostname": "shop.example.test", "primary": True}, "unknown_field", "primary"),
        (["shop.example.test"], "invalid_json", None),
    ],
)
async def test_bad_input_is_a_422_naming_the_problem_and_writes_nothing(services, payload, code, field) -> None:
    _, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):

        response = await public.post("/api/v1/domains", json=payload, headers=headers)
        error = (await response.get_json())["error"]

    assert response.status_code == 422
    assert error["code"] == code
    assert error.get("field") == field
    async with services.db.connect() as conn:
        assert await count_rows(conn, domains) == 0


async def test_broken_json_body_is_a_422(services) -> None:
    _, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):

        response = await public.post(
            "/api/v1/domains", data=b"{not json", headers={**headers, "Content-Type": "application/json"}
        )

    assert response.status_code == 422
    assert (await response.get_json())["error"]["code"] == "invalid_json"


async def test_a_name_is_held_by_one_store(services) -> None:
    _, acme = await make_tenant(services, "acme")
    _, nordic = await make_tenant(services, "nordic")
    async with running_apps(services) as (public, _):
        await public.post("/api/v1/domains", json={"hostname": "shop.example.test"}, headers=acme)

        again = await public.post("/api/v1/domains", json={"hostname": "SHOP.example.test"}, headers=acme)
        other = await public.post("/api/v1/domains", json={"hostname": "shop.example.test"}, headers=nordic)

    assert (again.status_code, (await again.get_json())["error"]["code"]) == (409, "domain_exists")
    assert (other.status_code, (await other.get_json())["error"]["code"]) == (409, "domain_taken")


async def test_other_store_sees_and_touches_nothing(services) -> None:
    _, acme = await make_tenant(services, "acme")
    _, nordic = await make_tenant(services, "nordic")
    async with running_apps(services) as (public, _):
        created = await (await public.post("/api/v1/domains", json={"hostname": "shop.example.test"}, headers=acme)).get_json()
        path = f"/api/v1/domains/{created['id']}"

        listing = await (await public.get("/api/v1/domains", headers=nordic)).get_json()
        answers = [
            await public.get(path, headers=nordic),
            await public.post(f"{path}/verify", headers=nordic),
            await public.post(f"{path}/primary", headers=nordic),
            await public.delete(path, headers=nordic),
        ]
        still_there = await public.get(path, headers=acme)

    assert listing == {"domains": []}
    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert {(await answer.get_json())["error"]["code"] for answer in answers} == {"unknown_domain"}
    assert still_there.status_code == 200


async def test_without_a_token_every_route_is_401(services) -> None:
    async with running_apps(services) as (public, _):

        statuses = [
            (await public.get("/api/v1/domains")).status_code,
            (await public.post("/api/v1/domains", json={"hostname": "shop.example.test"})).status_code,
            (await public.delete("/api/v1/domains/1", headers={"Authorization": "Bearer zly_nope"})).status_code,
        ]

    assert statuses == [401, 401, 401]


async def test_verify_reports_the_exact_reason_then_activates(services, dns_server) -> None:
    tenant_id, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, internal):
        created = await (await public.post("/api/v1/domains", json={"hostname": "shop.example.test"}, headers=headers)).get_json()
        token = created["dns"]["txt"]["value"]
        path = f"/api/v1/domains/{created['id']}"
        records = pointed_at_platform({"shop.example.test": "zelly-verify=someone-else"})

        dns_server.serve(records)
        wrong = await (await public.post(f"{path}/verify", headers=headers)).get_json()
        ask_before = await internal.get("/tls/ask?domain=shop.example.test")
        records.txt["_zelly-challenge.shop.example.test"] = [token]
        records.cnames["shop.example.test"] = "old.elsewhere.test"
        records.hosts["old.elsewhere.test"] = ["198.51.100.7"]
        dns_server.serve(records)
        elsewhere = await (await public.post(f"{path}/verify", headers=headers)).get_json()
        dns_server.serve(pointed_at_platform({"shop.example.test": token}))
        verified = await (await public.post(f"{path}/verify", headers=headers)).get_json()
        ask_after = await internal.get("/tls/ask?domain=shop.example.test")

    assert (wrong["status"], wrong["failure"]["code"]) == ("pending", "wrong_token")
    assert wrong["failure"]["message"] == (
        f"the TXT record at _zelly-challenge.shop.example.test holds 'zelly-verify=someone-else', expected {token!r}"
    )
    assert ask_before.status_code == 404
    assert (elsewhere["status"], elsewhere["failure"]["code"]) == ("pending", "cname_elsewhere")
    assert (verified["status"], verified["failure"], verified["is_primary"]) == ("active", None, True)
    assert verified["check_attempts"] == 3
    assert ask_after.status_code == 200


async def test_primary_moves_and_must_be_active(services, dns_server) -> None:
    _, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):
        apex = await (await public.post("/api/v1/domains", json={"hostname": "example.test"}, headers=headers)).get_json()
        www = await (await public.post("/api/v1/domains", json={"hostname": "www.example.test"}, headers=headers)).get_json()
        pending_primary = await public.post(f"/api/v1/domains/{www['id']}/primary", headers=headers)
        dns_server.serve(
            pointed_at_platform({"example.test": apex["dns"]["txt"]["value"], "www.example.test": www["dns"]["txt"]["value"]})
        )
        await public.post(f"/api/v1/domains/{apex['id']}/verify", headers=headers)
        await public.post(f"/api/v1/domains/{www['id']}/verify", headers=headers)

        moved = await public.post(f"/api/v1/domains/{www['id']}/primary", headers=headers)
        listing = await (await public.get("/api/v1/domains", headers=headers)).get_json()

    assert (pending_primary.status_code, (await pending_primary.get_json())["error"]["code"]) == (409, "domain_not_active")
    assert moved.status_code == 200
    assert [(d["hostname"], d["status"], d["is_primary"]) for d in listing["domains"]] == [
        ("example.test", "active", False),
        ("www.example.test", "active", True),
    ]


async def test_remove_stops_serving_at_once(services, dns_server) -> None:
    tenant_id, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, internal):
        created = await (await public.post("/api/v1/domains", json={"hostname": "shop.example.test"}, headers=headers)).get_json()
        dns_server.serve(pointed_at_platform({"shop.example.test": created["dns"]["txt"]["value"]}))
        await public.post(f"/api/v1/domains/{created['id']}/verify", headers=headers)
        served = await public.get("/.well-known/zelly/domain", headers={"Host": "shop.example.test"})
        version_before = await catalog_version(services, tenant_id)

        removed = await public.delete(f"/api/v1/domains/{created['id']}", headers=headers)
        ask = await internal.get("/tls/ask?domain=shop.example.test")
        refused = await public.get("/", headers={"Host": "shop.example.test"})
        gone = await public.get(f"/api/v1/domains/{created['id']}", headers=headers)
        allow_list = current_allow_list(services)

    assert (served.status_code, (await served.get_json())["store"]) == (200, "acme")
    assert removed.status_code == 200
    assert (await removed.get_json()) == {"removed": "shop.example.test", "certificate_files_removed": None, "primary": None}
    assert ask.status_code == 404
    assert refused.status_code == 410
    assert gone.status_code == 404
    assert await catalog_version(services, tenant_id) == version_before + 2  # tenant change + host purge
    assert allow_list is not None and allow_list.was_removed("shop.example.test")


@pytest.mark.parametrize("path", ["/api/v1/domains/99999999999999999999999", "/api/v1/domains/abc", "/api/v1/domains/-1"])
async def test_odd_ids_are_404_not_500(services, path: str) -> None:
    _, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):

        shown = await public.get(path, headers=headers)
        verified = await public.post(f"{path}/verify", headers=headers)
        removed = await public.delete(path, headers=headers)

    assert (shown.status_code, verified.status_code, removed.status_code) == (404, 404, 404)
