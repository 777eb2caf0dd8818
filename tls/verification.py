"""Domain verification over DNS: ownership by TXT token, routing by CNAME or A/AAAA.

A merchant proves two things about ``shop.example.com``:

1. ownership: ``_zelly-challenge.shop.example.com`` has a TXT record holding the
   domain's token (a token only the owning tenant was shown);
2. routing: the name is a CNAME to the platform target (``ZELLY_DNS_TARGET``),
   or, for an apex that cannot hold a CNAME, its A/AAAA records are all platform
   addresses (``ZELLY_PLATFORM_IPS``). A leftover AAAA pointing at the old host is
   the classic half-migrated domain: IPv6 visitors would never reach us, so it fails.

Every failure has a stable :class:`Failure` code and a sentence that says what
to change. Queries go to the configured resolvers (``ip`` or ``ip:port``), with
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
class VerificationResult:
    hostname: str
    failure: Failure | None
    message: str

    @property
    def is_verified(self) -> bool:
        return self.failure is None


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
    if not raw.isdigit() or not 0 < int(raw) <= 65535:
        raise ValueError(f"DNS resolver {value!r} has a bad port")
    return int(raw)


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
            return VerificationResult(
                hostname, Failure.TIMEOUT, "the DNS servers did not answer in time; try again in a few minutes"
            )
        except dns.resolver.NoNameservers as error:
            return VerificationResult(hostname, Failure.DNS_ERROR, f"no DNS server could answer (SERVFAIL or refused): {error}")

    async def _verify(self, hostname: str, token: str) -> VerificationResult:
        txt_name = challenge_name(hostname)
        values = await self._txt_values(txt_name)
        if not values and await self._does_not_exist(hostname):
            return VerificationResult(hostname, Failure.NXDOMAIN, f"{hostname} does not exist in DNS (NXDOMAIN)")
        if not values:
            return VerificationResult(
                hostname, Failure.NO_TXT, f"no TXT record at {txt_name}; add one holding {token}"
            )
        if token not in values:
            found = ", ".join(sorted(repr(value[:80]) for value in values)[:5])
            return VerificationResult(
                hostname, Failure.WRONG_TOKEN, f"the TXT record at {txt_name} holds {found}, expected {token!r}"
            )
        return await self._check_routing(hostname)

    async def _check_routing(self, hostname: str) -> VerificationResult:
        try:
            cname = await self._resolve(hostname, "CNAME")
        except dns.resolver.NXDOMAIN:
            return VerificationResult(hostname, Failure.NXDOMAIN, f"{hostname} does not exist in DNS (NXDOMAIN)")
        if cname:
            target = cname[0].target.to_text().lower().rstrip(".")
            if target == self.cname_target:
                return VerificationResult(hostname, None, f"{hostname} is a CNAME to {target}")
            return VerificationResult(
                hostname, Failure.CNAME_ELSEWHERE, f"{hostname} is a CNAME to {target}; point it at {self.cname_target}"
            )
        try:
            a_records = {ipaddress.ip_address(r.address) for r in await self._resolve(hostname, "A")}
            aaaa_records = {ipaddress.ip_address(r.address) for r in await self._resolve(hostname, "AAAA")}
        except dns.resolver.NXDOMAIN:
            return VerificationResult(hostname, Failure.NXDOMAIN, f"{hostname} does not exist in DNS (NXDOMAIN)")
        if not a_records and not aaaa_records:
            return VerificationResult(
                hostname,
                Failure.NOT_POINTED,
                f"{hostname} has no CNAME, A or AAAA record; add a CNAME to {self.cname_target} or A records for {self._ips(4)}",
            )
        stray_a = sorted(str(ip) for ip in a_records - self.platform_ips)
        if stray_a:
            return VerificationResult(
                hostname, Failure.A_ELSEWHERE, f"{hostname} has A records {', '.join(stray_a)} that are not the platform's ({self._ips(4)})"
            )
        stray_aaaa = sorted(str(ip) for ip in aaaa_records - self.platform_ips)
        if stray_aaaa:
            wanted = self._ips(6)
            return VerificationResult(
                hostname,
                Failure.CONFLICTING_AAAA,
                f"{hostname} has AAAA records {', '.join(stray_aaaa)} pointing elsewhere; "
                + (f"replace them with {wanted}" if wanted != "none" else "remove them"),
            )
        return VerificationResult(hostname, None, f"{hostname} points at the platform's addresses")

    def _ips(self, version: int) -> str:
        return ", ".join(sorted(str(ip) for ip in self.platform_ips if ip.version == version)) or "none"

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
