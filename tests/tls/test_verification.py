"""DNS verification against a real dnsmasq: every failure reason, and the passing shapes."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.tls.conftest import DNS_TARGET, PLATFORM_IPV4, PLATFORM_IPV6
from tests.tls.dnsmasq import DnsServer, Records
from tls.verification import DomainVerifier, Failure, instructions_for, parse_resolver

TOKEN = "zelly-verify=abc123"


def verifier(dns_server: DnsServer, **overrides) -> DomainVerifier:
    options = dict(resolvers=(dns_server.address,), cname_target=DNS_TARGET, platform_ips=(PLATFORM_IPV4, PLATFORM_IPV6))
    options.update(overrides)
    return DomainVerifier(**options)


def platform_records(**extra) -> Records:
    records = Records(zones=("example.test", "zelly-platform.test", "elsewhere.test"))
    records.hosts[DNS_TARGET] = [PLATFORM_IPV4]
    for key, value in extra.items():
        getattr(records, key).update(value)
    return records


async def test_cname_to_the_platform_with_the_token_verifies(dns_server: DnsServer) -> None:
    dns_server.serve(
        platform_records(txt={"_zelly-challenge.shop.example.test": [TOKEN]}, cnames={"shop.example.test": DNS_TARGET})
    )

    result = await verifier(dns_server).verify("shop.example.test", TOKEN)

    assert (result.is_verified, result.failure) == (True, None)
    assert result.message == f"shop.example.test is a CNAME to {DNS_TARGET}"


async def test_apex_with_platform_a_and_aaaa_verifies(dns_server: DnsServer) -> None:
    dns_server.serve(
        platform_records(
            txt={"_zelly-challenge.example.test": [TOKEN]}, hosts={"example.test": [PLATFORM_IPV4, PLATFORM_IPV6]}
        )
    )

    result = await verifier(dns_server).verify("example.test", TOKEN)

    assert result.failure is None


async def test_token_among_other_txt_values_verifies(dns_server: DnsServer) -> None:
    dns_server.serve(
        platform_records(
            txt={"_zelly-challenge.example.test": ["v=spf1 -all", TOKEN]}, hosts={"example.test": [PLATFORM_IPV4]}
        )
    )

    result = await verifier(dns_server).verify("example.test", TOKEN)

    assert result.failure is None


async def test_no_txt_record(dns_server: DnsServer) -> None:
    dns_server.serve(platform_records(hosts={"example.test": [PLATFORM_IPV4]}))

    result = await verifier(dns_server).verify("example.test", TOKEN)

    assert result.failure is Failure.NO_TXT
    assert result.message == f"no TXT record at _zelly-challenge.example.test; add one holding {TOKEN}"


async def test_wrong_token(dns_server: DnsServer) -> None:
    dns_server.serve(
        platform_records(txt={"_zelly-challenge.example.test": ["zelly-verify=old"]}, hosts={"example.test": [PLATFORM_IPV4]})
    )

    result = await verifier(dns_server).verify("example.test", TOKEN)

    assert result.failure is Failure.WRONG_TOKEN
    assert result.message == (
        f"the TXT record at _zelly-challenge.example.test holds 'zelly-verify=old', expected {TOKEN!r}"
    )


async def test_cname_pointing_elsewhere(dns_server: DnsServer) -> None:
    dns_server.serve(
        platform_records(
            txt={"_zelly-challenge.shop.example.test": [TOKEN]},
            hosts={"old-host.elsewhere.test": ["198.51.100.7"]},
            cnames={"shop.example.test": "old-host.elsewhere.test"},
        )
    )

    result = await verifier(dns_server).verify("shop.example.test", TOKEN)

    assert result.failure is Failure.CNAME_ELSEWHERE
    assert result.message == f"shop.example.test is a CNAME to old-host.elsewhere.test; point it at {DNS_TARGET}"


async def test_conflicting_aaaa(dns_server: DnsServer) -> None:
    dns_server.serve(
        platform_records(
            txt={"_zelly-challenge.example.test": [TOKEN]}, hosts={"example.test": [PLATFORM_IPV4, "2001:db8:dead::1"]}
        )
    )

    result = await verifier(dns_server).verify("example.test", TOKEN)

    assert result.failure is Failure.CONFLICTING_AAAA
    assert result.message == (
        f"example.test has AAAA records 2001:db8:dead::1 pointing elsewhere; replace them with {PLATFORM_IPV6}"
    )


async def test_a_record_elsewhere(dns_server: DnsServer) -> None:
    dns_server.serve(
        platform_records(txt={"_zelly-challenge.example.test": [TOKEN]}, hosts={"example.test": ["198.51.100.7"]})
    )

    result = await verifier(dns_server).verify("example.test", TOKEN)

    assert result.failure is Failure.A_ELSEWHERE


async def test_nxdomain_for_the_host(dns_server: DnsServer) -> None:
    dns_server.serve(platform_records(hosts={"other.example.test": [PLATFORM_IPV4]}))

    result = await verifier(dns_server).verify("gone.example.test", TOKEN)

    assert result.failure is Failure.NXDOMAIN
    assert result.message == "gone.example.test does not exist in DNS (NXDOMAIN)"


async def test_challenge_without_a_host_record_is_not_pointed(dns_server: DnsServer) -> None:
    # The challenge record makes the host an empty non-terminal: NODATA, not NXDOMAIN.
    dns_server.serve(platform_records(txt={"_zelly-challenge.new.example.test": [TOKEN]}))

    result = await verifier(dns_server).verify("new.example.test", TOKEN)

    assert result.failure is Failure.NOT_POINTED
    assert result.message == (
        f"new.example.test has no CNAME, A or AAAA record; add a CNAME to {DNS_TARGET} "
        f"or, for an apex domain, A records {PLATFORM_IPV4} and AAAA records {PLATFORM_IPV6}"
    )


async def test_every_problem_of_a_check_is_reported_at_once(dns_server: DnsServer) -> None:
    dns_server.serve(platform_records(hosts={"example.test": ["198.51.100.7", "2001:db8:dead::1"]}))

    result = await verifier(dns_server).verify("example.test", TOKEN)

    assert [problem.failure for problem in result.problems] == [Failure.NO_TXT, Failure.A_ELSEWHERE, Failure.CONFLICTING_AAAA]
    assert result.failure is Failure.NO_TXT  # what the domain row keeps as its code
    assert result.message == (
        f"3 problems: (1) no TXT record at _zelly-challenge.example.test; add one holding {TOKEN}."
        f" (2) example.test has A records 198.51.100.7 that are not the platform's; replace them with {PLATFORM_IPV4}."
        f" (3) example.test has AAAA records 2001:db8:dead::1 pointing elsewhere; replace them with {PLATFORM_IPV6}."
    )


async def test_a_wrong_token_and_a_cname_elsewhere_are_both_reported(dns_server: DnsServer) -> None:
    dns_server.serve(
        platform_records(
            txt={"_zelly-challenge.shop.example.test": ["zelly-verify=old"]},
            hosts={"old-host.elsewhere.test": ["198.51.100.7"]},
            cnames={"shop.example.test": "old-host.elsewhere.test"},
        )
    )

    result = await verifier(dns_server).verify("shop.example.test", TOKEN)

    assert [problem.failure for problem in result.problems] == [Failure.WRONG_TOKEN, Failure.CNAME_ELSEWHERE]
    assert result.is_verified is False


async def test_a_good_route_does_not_verify_without_the_token(dns_server: DnsServer) -> None:
    dns_server.serve(platform_records(cnames={"shop.example.test": DNS_TARGET}))

    result = await verifier(dns_server).verify("shop.example.test", TOKEN)

    assert [problem.failure for problem in result.problems] == [Failure.NO_TXT]
    assert result.message == f"no TXT record at _zelly-challenge.shop.example.test; add one holding {TOKEN}"


async def test_an_ipv4_only_platform_names_no_empty_aaaa_list(dns_server: DnsServer) -> None:
    dns_server.serve(
        platform_records(
            txt={"_zelly-challenge.example.test": [TOKEN], "_zelly-challenge.new.example.test": [TOKEN]},
            hosts={"example.test": [PLATFORM_IPV4, "2001:db8:dead::1"]},
        )
    )
    ipv4_only = verifier(dns_server, platform_ips=(PLATFORM_IPV4,))

    stray = await ipv4_only.verify("example.test", TOKEN)
    unpointed = await ipv4_only.verify("new.example.test", TOKEN)

    assert stray.message == "example.test has AAAA records 2001:db8:dead::1 pointing elsewhere; remove them"
    assert unpointed.message == (
        f"new.example.test has no CNAME, A or AAAA record; add a CNAME to {DNS_TARGET} or, for an apex domain, A records {PLATFORM_IPV4}"
    )


async def test_a_silent_server_is_a_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never answers
        silent.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        quick = DomainVerifier(resolvers=(address,), cname_target=DNS_TARGET, platform_ips=(PLATFORM_IPV4,), lifetime=0.3)

        result = await quick.verify("example.test", TOKEN)

    assert result.failure is Failure.TIMEOUT


async def test_checks_run_concurrently_against_one_server(dns_server: DnsServer) -> None:
    dns_server.serve(
        platform_records(txt={"_zelly-challenge.example.test": [TOKEN]}, hosts={"example.test": [PLATFORM_IPV4]})
    )
    check = verifier(dns_server)

    results = await asyncio.gather(*(check.verify("example.test", TOKEN) for _ in range(20)))

    assert {result.failure for result in results} == {None}


def test_resolver_addresses_parse() -> None:
    assert (parse_resolver("127.0.0.1:5353").address, parse_resolver("127.0.0.1:5353").port) == ("127.0.0.1", 5353)
    assert (parse_resolver("1.1.1.1").address, parse_resolver("1.1.1.1").port) == ("1.1.1.1", 53)
    assert (parse_resolver("[::1]:5300").address, parse_resolver("[::1]:5300").port) == ("::1", 5300)
    assert parse_resolver("2001:db8::53").address == "2001:db8::53"
    for bad in ("dns.google", "127.0.0.1:99999", "127.0.0.1:x"):
        with pytest.raises(ValueError):
            parse_resolver(bad)


def test_instructions_split_the_platform_addresses() -> None:
    shown = instructions_for("shop.example.test", TOKEN, DNS_TARGET, (PLATFORM_IPV4, PLATFORM_IPV6))

    assert shown.txt_name == "_zelly-challenge.shop.example.test"
    assert shown.txt_value == TOKEN
    assert shown.a_records == (PLATFORM_IPV4,)
    assert shown.aaaa_records == (PLATFORM_IPV6,)
