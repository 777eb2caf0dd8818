"""The seller API for custom domains, with DNS from a real dnsmasq; both backends."""

from __future__ import annotations

import re

import pytest

from origin.tenancy.tables import domains
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
    assert response.headers["Cache-Control"] == "no-store"
    assert sorted(body) == sorted(
        ["id", "hostname", "display_name", "status", "is_primary", "dns", "failure", "check_attempts",
         "last_checked_at", "next_check_at", "verified_at", "created_at"]
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["created_at"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["next_check_at"])
    assert (body["check_attempts"], body["last_checked_at"], body["verified_at"]) == (0, None, None)
    assert body["hostname"] == "shop.example.test"
    assert body["status"] == "pending"
    assert body["is_primary"] is False
    assert body["failure"] is None
    assert body["dns"]["txt"]["name"] == "_zelly-challenge.shop.example.test"
    assert body["dns"]["txt"]["value"].startswith("zelly-verify=") and len(body["dns"]["txt"]["value"]) == 45
    assert body["dns"]["cname"] == {"name": "shop.example.test", "target": DNS_TARGET}
    assert (body["dns"]["a"], body["dns"]["aaaa"]) == ([PLATFORM_IPV4], [PLATFORM_IPV6])
    assert body["dns"]["instructions"] == (
        f"Add a TXT record at _zelly-challenge.shop.example.test holding {body['dns']['txt']['value']}, then point "
        f"shop.example.test at {DNS_TARGET} with a CNAME (or, for an apex domain, A records {PLATFORM_IPV4} and "
        f"AAAA records {PLATFORM_IPV6}; remove any other A/AAAA records)."
    )


def test_instructions_name_only_the_address_families_the_platform_has() -> None:
    from origin.web.seller.api.schemas.domains import instructions_sentence
    from tls.verification import instructions_for

    def sentence(*platform_ips: str) -> str:
        return instructions_sentence("example.test", instructions_for("example.test", "zelly-verify=t", "edge.zelly.test", platform_ips))

    assert sentence("192.0.2.1").endswith("with a CNAME (or, for an apex domain, A records 192.0.2.1; remove any other A/AAAA records).")
    assert sentence("2001:db8::1", "2001:db8::2").endswith(
        "(or, for an apex domain, AAAA records 2001:db8::1, 2001:db8::2; remove any other A/AAAA records)."
    )
    assert sentence() == "Add a TXT record at _zelly-challenge.example.test holding zelly-verify=t, then point example.test at edge.zelly.test with a CNAME."
    assert " -" not in sentence("192.0.2.1")


async def test_idn_is_stored_as_punycode_and_shown_in_unicode(services) -> None:
    _, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):

        body = await (await public.post("/api/v1/domains", json={"hostname": "Bücher.example.test"}, headers=headers)).get_json()

    assert (body["hostname"], body["display_name"]) == ("xn--bcher-kva.example.test", "bücher.example.test")


def fields_of(body: dict) -> list[tuple[str, str]]:
    return [(field["path"], field["code"]) for field in body["error"]["fields"]]


async def assert_no_domain_written(services) -> None:
    async with services.db.connect() as conn:
        assert await count_rows(conn, domains) == 0


@pytest.mark.parametrize(
    ("payload", "path", "code"),
    [
        ({"hostname": "203.0.113.10"}, "hostname", "ip_not_allowed"),
        ({"hostname": "*.example.test"}, "hostname", "wildcard_not_allowed"),
        ({"hostname": "shop.acme.localhost"}, "hostname", "platform_hostname"),
        ({"hostname": "localhost"}, "hostname", "not_a_custom_domain"),
        ({"hostname": "a" * 64 + ".example.test"}, "hostname", "hostname_too_long"),
        ({"hostname": "shop..example.test"}, "hostname", "malformed_hostname"),
        ({"hostname": "xn--zz.example.test"}, "hostname", "invalid_idn"),
        ({"hostname": ""}, "hostname", "malformed_hostname"),
        ({"hostname": 42}, "hostname", "string_type"),
        ({"hostname": None}, "hostname", "string_type"),
        ({}, "hostname", "missing"),
        ({"hostname": "shop.example.test", "primary": True}, "primary", "extra_forbidden"),
        (["shop.example.test"], "$", "model_type"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(services, payload, path, code) -> None:
    _, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):

        response = await public.post("/api/v1/domains", json=payload, headers=headers)
        body = await response.get_json()

    assert response.status_code == 422
    assert body["error"]["code"] == "validation_failed"
    assert fields_of(body) == [(path, code)]
    await assert_no_domain_written(services)


async def test_a_url_for_a_hostname_is_a_422_naming_the_host_to_give(services) -> None:
    _, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):

        response = await public.post("/api/v1/domains", json={"hostname": "https://shop.example.test/"}, headers=headers)
        body = await response.get_json()

    assert response.status_code == 422
    assert body["error"]["fields"][0]["path"] == "hostname"
    assert body["error"]["fields"][0]["code"] == "malformed_hostname"
    assert body["error"]["fields"][0]["message"] == (
        "'https://shop.example.test/' is a URL, not a hostname; give only its hostname: shop.example.test"
    )
    await assert_no_domain_written(services)


async def test_a_refused_hostname_says_why(services) -> None:
    _, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):

        response = await public.post("/api/v1/domains", json={"hostname": "203.0.113.10"}, headers=headers)

    assert (await response.get_json())["error"] == {
        "code": "validation_failed",
        "message": "1 field failed validation; nothing was written",
        "fields": [{"path": "hostname", "code": "ip_not_allowed", "message": "an IP address is not a hostname; use a domain name"}],
    }


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"hostname": "shop.example.test"', b'{"hostname": "\xff"}'])
async def test_broken_json_body_is_a_400(services, raw: bytes) -> None:
    _, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):

        response = await public.post("/api/v1/domains", data=raw, headers={**headers, "Content-Type": "application/json"})

    assert response.status_code == 400
    assert (await response.get_json())["error"]["code"] == "malformed_json"
    await assert_no_domain_written(services)


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
async def test_a_body_that_is_not_json_is_a_415(services, content_type: str | None) -> None:
    _, headers = await make_tenant(services, "acme")
    if content_type is not None:
        headers = {**headers, "Content-Type": content_type}
    async with running_apps(services) as (public, _):

        response = await public.post("/api/v1/domains", data=b'{"hostname": "shop.example.test"}', headers=headers)

    assert response.status_code == 415
    assert (await response.get_json())["error"]["code"] == "unsupported_media_type"
    await assert_no_domain_written(services)


async def test_a_retry_with_the_same_idempotency_key_adds_once(services) -> None:
    _, headers = await make_tenant(services, "acme")
    keyed = {**headers, "Idempotency-Key": "add-shop-1"}
    async with running_apps(services) as (public, _):

        first = await public.post("/api/v1/domains", json={"hostname": "shop.example.test"}, headers=keyed)
        retry = await public.post("/api/v1/domains", json={"hostname": "shop.example.test"}, headers=keyed)
        other_body = await public.post("/api/v1/domains", json={"hostname": "www.example.test"}, headers=keyed)
        without_key = await public.post("/api/v1/domains", json={"hostname": "shop.example.test"}, headers=headers)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert await retry.get_json() == await first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert (other_body.status_code, (await other_body.get_json())["error"]["code"]) == (409, "idempotency_key_reused")
    assert (without_key.status_code, (await without_key.get_json())["error"]["code"]) == (409, "domain_exists")
    async with services.db.connect() as conn:
        assert await count_rows(conn, domains) == 1


async def test_a_name_is_held_by_one_store(services) -> None:
    _, acme = await make_tenant(services, "acme")
    _, nordic = await make_tenant(services, "nordic")
    async with running_apps(services) as (public, _):
        await public.post("/api/v1/domains", json={"hostname": "shop.example.test"}, headers=acme)

        again = await public.post("/api/v1/domains", json={"hostname": "SHOP.example.test"}, headers=acme)
        other = await public.post("/api/v1/domains", json={"hostname": "shop.example.test"}, headers=nordic)

    again_error = (await again.get_json())["error"]
    other_error = (await other.get_json())["error"]
    assert (again.status_code, again_error["code"]) == (409, "domain_exists")
    assert (other.status_code, other_error["code"]) == (409, "domain_taken")
    assert [field["path"] for field in again_error["fields"] + other_error["fields"]] == ["hostname", "hostname"]
    async with services.db.connect() as conn:
        assert await count_rows(conn, domains) == 1


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
        missing = f"/api/v1/domains/{created['id'] + 1}"
        missing_answers = [
            await public.get(missing, headers=nordic),
            await public.post(f"{missing}/verify", headers=nordic),
            await public.post(f"{missing}/primary", headers=nordic),
            await public.delete(missing, headers=nordic),
        ]
        still_there = await public.get(path, headers=acme)

    assert listing == {"domains": []}
    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert [answer.status_code for answer in missing_answers] == [404, 404, 404, 404]
    # Identical to an id that does not exist, but for the id itself in the message.
    bodies = [await answer.get_json() for answer in answers]
    missing_bodies = [await answer.get_json() for answer in missing_answers]
    assert bodies == [{"error": {"code": "unknown_domain", "message": f"no domain {created['id']} in this store"}}] * 4
    assert missing_bodies == [{"error": {"code": "unknown_domain", "message": f"no domain {created['id'] + 1} in this store"}}] * 4
    assert still_there.status_code == 200
    assert (await still_there.get_json())["status"] == "pending"


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
    assert await catalog_version(services, tenant_id) == version_before + 1  # one tenant change, which purges the host too
    assert allow_list is not None and allow_list.was_removed("shop.example.test")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/domains/99999999999999999999999", "/api/v1/domains/abc", "/api/v1/domains/-1", "/api/v1/domains/0", "/api/v1/domains/007"],
)
async def test_odd_ids_are_404_not_500(services, path: str) -> None:
    _, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):

        shown = await public.get(path, headers=headers)
        verified = await public.post(f"{path}/verify", headers=headers)
        removed = await public.delete(path, headers=headers)

    assert (shown.status_code, verified.status_code, removed.status_code) == (404, 404, 404)


async def test_verify_and_primary_take_an_idempotency_key_too(services) -> None:
    _, headers = await make_tenant(services, "acme")
    async with running_apps(services) as (public, _):
        created = await (await public.post("/api/v1/domains", json={"hostname": "shop.example.test"}, headers=headers)).get_json()
        path = f"/api/v1/domains/{created['id']}"

        bad_key = await public.post(f"{path}/verify", headers={**headers, "Idempotency-Key": "not a key"})
        first = await public.post(f"{path}/primary", headers={**headers, "Idempotency-Key": "primary-1"})
        replayed = await public.post(f"{path}/primary", headers={**headers, "Idempotency-Key": "primary-1"})
        elsewhere = await public.post(f"{path}/verify", headers={**headers, "Idempotency-Key": "primary-1"})

    assert bad_key.status_code == 422
    assert fields_of(await bad_key.get_json()) == [("header:Idempotency-Key", "invalid_idempotency_key")]
    assert (first.status_code, (await first.get_json())["error"]["code"]) == (409, "domain_not_active")
    assert (replayed.status_code, replayed.headers["Idempotent-Replayed"]) == (409, "true")
    assert await replayed.get_json() == await first.get_json()
    assert (elsewhere.status_code, (await elsewhere.get_json())["error"]["code"]) == (409, "idempotency_key_reused")
