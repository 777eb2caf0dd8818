"""Domain verification over DNS: ownership by TXT token, routing by CNAME or A/AAAA.

A merchant proves two things about ``shop.example.com``:

1. ownership: ``_zelly-challenge.shop.example.com`` has a TXT record holding the
   domain's token (a token only the owning tenant was shown);
2. routing: the name is a CNAME to the platform target (``ZELLY_DNS_TARGET``),
   or, for an apex that cannot hold a CNAME, its A/AAAA records are all platform
   addresses (``ZELLY_PLATFORM_IPS``). A leftover AAAA pointing at the old host is
   the classic half-migrated domain: IPv6 visitors would never reach us, so it fails.

Every failure has a stable :class:`Failure` code and a sentence that says what
to change. A check reports every problem it finds at once (issue 20, item 5): a
missing TXT record and a stray A record are two problems of one check, so a
merchant fixes both before the next one, not one per round trip. Only a name
that does not exist (NXDOMAIN) or DNS that does not answer stops the check early.

Queries go to the configured resolvers (``ip`` or ``ip:port``), with
no cache, so a merchant who fixes a record sees it on the next check.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from typing import Iterable

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

from tls.numbers import parse_bounded_int

CHALLENGE_LABEL = "_zelly-challenge"
DEFAULT_LIFETIME_SECONDS = 5.0


class Failure(enum.Enum):
    NO_TXT = "no_txt"
    WRONG_TOKEN = "wrong_token"
    NXDOMAIN = "nxdomain"
    CNAME_ELSEWHERE = "cname_elsewhere"
    A_ELSEWHERE = "a_elsewhere"
    CONFLICTING_AAAA = "conflicting_aaaa"
    NOT_POINTED = "not_pointed"
    TIMEOUT = "dns_timeout"
    DNS_ERROR = "dns_error"


@dataclass(frozen=True)
class Problem:
    failure: Failure
    message: str


@dataclass(frozen=True)
class VerificationResult:
    hostname: str
    problems: tuple[Problem, ...]
    verified_by: str = ""  # on success, the record that proved routing

    @classmethod
    def failed(cls, hostname: str, failure: Failure, message: str) -> "VerificationResult":
        return cls(hostname, (Problem(failure, message),))

    @property
    def is_verified(self) -> bool:
        return not self.problems

    @property
    def failure(self) -> Failure | None:
        """The first problem's code: what a domain row keeps as its ``failure_code``."""
        return self.problems[0].failure if self.problems else None

    @property
    def message(self) -> str:
        """Every problem's sentence, numbered when there are several; on success, what passed."""
        if not self.problems:
            return self.verified_by
        if len(self.problems) == 1:
            return self.problems[0].message
        return f"{len(self.problems)} problems: " + " ".join(
            f"({number}) {problem.message}." for number, problem in enumerate(self.problems, 1)
        )


@dataclass(frozen=True)
class Instructions:
    """What the merchant must publish: shown by the API right after adding a domain."""

    txt_name: str
    txt_value: str
    cname_target: str
    a_records: tuple[str, ...]
    aaaa_records: tuple[str, ...]


def challenge_name(hostname: str) -> str:
    return f"{CHALLENGE_LABEL}.{hostname}"


def instructions_for(hostname: str, token: str, cname_target: str, platform_ips: Iterable[str]) -> Instructions:
    addresses = [ipaddress.ip_address(ip) for ip in platform_ips]
    return Instructions(
        txt_name=challenge_name(hostname),
        txt_value=token,
        cname_target=cname_target,
        a_records=tuple(str(ip) for ip in addresses if ip.version == 4),
        aaaa_records=tuple(str(ip) for ip in addresses if ip.version == 6),
    )


def parse_resolver(value: str) -> dns.nameserver.Do53Nameserver:
    """``1.1.1.1``, ``127.0.0.1:5353``, ``[2001:db8::53]:53`` or ``2001:db8::53``."""
    value = value.strip()
    host, port = value, 53
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            port = _port(value, rest.removeprefix(":"))
    elif value.count(":") == 1:
        host, _, raw_port = value.partition(":")
        port = _port(value, raw_port)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"DNS resolver {value!r} must be an IP address, optionally with :port") from None
    return dns.nameserver.Do53Nameserver(host, port)


def _port(value: str, raw: str) -> int:
    port = parse_bounded_int(raw, low=1, high=65535)  # ASCII digits: isdigit() let '²' reach int()
    if port is None:
        raise ValueError(f"DNS resolver {value!r} has a bad port")
    return port


class DomainVerifier:
    def __init__(
        self,
        *,
        resolvers: Iterable[str] = (),
        cname_target: str,
        platform_ips: Iterable[str],
        lifetime: float = DEFAULT_LIFETIME_SECONDS,
    ) -> None:
        resolvers = tuple(resolvers)
        # configure=False with explicit servers; the system's resolv.conf otherwise.
        self._resolver = dns.asyncresolver.Resolver(configure=not resolvers)
        if resolvers:
            self._resolver.nameservers = [parse_resolver(value) for value in resolvers]
        self._resolver.lifetime = lifetime
        self._resolver.timeout = min(2.0, lifetime)
        self._resolver.cache = None  # a merchant who just fixed a record must see it
        self.cname_target = cname_target.lower().rstrip(".")
        self.platform_ips = frozenset(ipaddress.ip_address(ip) for ip in platform_ips)

    async def verify(self, hostname: str, token: str) -> VerificationResult:
        try:
            return await self._verify(hostname, token)
        except dns.exception.Timeout:
            return VerificationResult.failed(
                hostname, Failure.TIMEOUT, "the DNS servers did not answer in time; try again in a few minutes"
            )
        except dns.resolver.NoNameservers as error:
            return VerificationResult.failed(hostname, Failure.DNS_ERROR, f"no DNS server could answer (SERVFAIL or refused): {error}")

    async def _verify(self, hostname: str, token: str) -> VerificationResult:
        txt_name = challenge_name(hostname)
        values = await self._txt_values(txt_name)
        if not values and await self._does_not_exist(hostname):
            return VerificationResult.failed(hostname, Failure.NXDOMAIN, f"{hostname} does not exist in DNS (NXDOMAIN)")
        problems = []
        if not values:
            problems.append(Problem(Failure.NO_TXT, f"no TXT record at {txt_name}; add one holding {token}"))
        elif token not in values:
            found = ", ".join(sorted(repr(value[:80]) for value in values)[:5])
            problems.append(Problem(Failure.WRONG_TOKEN, f"the TXT record at {txt_name} holds {found}, expected {token!r}"))
        try:
            routing_problems, verified_by = await self._check_routing(hostname)
        except dns.resolver.NXDOMAIN:
            return VerificationResult.failed(hostname, Failure.NXDOMAIN, f"{hostname} does not exist in DNS (NXDOMAIN)")
        return VerificationResult(hostname, tuple(problems + routing_problems), verified_by if not problems else "")

    async def _check_routing(self, hostname: str) -> tuple[list[Problem], str]:
        """The routing problems (every one), and the sentence saying what passed when there is none."""
        cname = await self._resolve(hostname, "CNAME")
        if cname:
            target = cname[0].target.to_text().lower().rstrip(".")
            if target == self.cname_target:
                return [], f"{hostname} is a CNAME to {target}"
            return [Problem(Failure.CNAME_ELSEWHERE, f"{hostname} is a CNAME to {target}; point it at {self.cname_target}")], ""
        a_records = {ipaddress.ip_address(r.address) for r in await self._resolve(hostname, "A")}
        aaaa_records = {ipaddress.ip_address(r.address) for r in await self._resolve(hostname, "AAAA")}
        if not a_records and not aaaa_records:
            return [
                Problem(
                    Failure.NOT_POINTED,
                    f"{hostname} has no CNAME, A or AAAA record; add a CNAME to {self.cname_target}"
                    + (f" or, for an apex domain, {self._address_records()}" if self.platform_ips else ""),
                )
            ], ""
        problems = []
        stray_a = sorted(str(ip) for ip in a_records - self.platform_ips)
        if stray_a:
            wanted = self._ips(4)
            problems.append(
                Problem(
                    Failure.A_ELSEWHERE,
                    f"{hostname} has A records {', '.join(stray_a)} that are not the platform's; "
                    + (f"replace them with {wanted}" if wanted else "remove them"),
                )
            )
        stray_aaaa = sorted(str(ip) for ip in aaaa_records - self.platform_ips)
        if stray_aaaa:
            wanted = self._ips(6)
            problems.append(
                Problem(
                    Failure.CONFLICTING_AAAA,
                    f"{hostname} has AAAA records {', '.join(stray_aaaa)} pointing elsewhere; "
                    + (f"replace them with {wanted}" if wanted else "remove them"),
                )
            )
        return problems, ("" if problems else f"{hostname} points at the platform's addresses")

    def _address_records(self) -> str:
        """"A records 192.0.2.1 and AAAA records 2001:db8::1", naming only the families the platform has."""
        families = [f"{name} records {ips}" for name, ips in (("A", self._ips(4)), ("AAAA", self._ips(6))) if ips]
        return " and ".join(families)

    def _ips(self, version: int) -> str:
        """The platform's addresses of one family, comma-separated; empty when it has none."""
        return ", ".join(sorted(str(ip) for ip in self.platform_ips if ip.version == version))

    async def _does_not_exist(self, hostname: str) -> bool:
        try:
            await self._resolve(hostname, "CNAME")
        except dns.resolver.NXDOMAIN:
            return True
        return False

    async def _txt_values(self, name: str) -> set[str]:
        try:
            # A delegated challenge (a CNAME at _zelly-challenge) is fine: follow it.
            answer = await self._resolve(name, "TXT", own_records_only=False)
        except dns.resolver.NXDOMAIN:
            return set()
        return {b"".join(record.strings).decode("utf-8", "replace").strip() for record in answer}

    async def _resolve(self, name: str, record_type: str, *, own_records_only: bool = True) -> list:
        """The records of one type at ``name`` itself (an empty list for NODATA); NXDOMAIN raises."""
        try:
            answer = await self._resolver.resolve(name + ".", record_type, raise_on_no_answer=False)
        except dns.resolver.NoAnswer:
            return []
        if answer.rrset is None:
            return []
        # resolve() follows CNAMEs; only records owned by the name itself count here.
        owner = dns.name.from_text(name + ".")
        if own_records_only and answer.rrset.name != owner:
            return []
        return list(answer.rrset)
