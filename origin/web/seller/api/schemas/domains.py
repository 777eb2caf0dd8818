"""Request and response models for custom domains.

The request model checks only the JSON shape (an object with a string
``hostname``); what makes a hostname acceptable (not an IP, no wildcard, not
the platform's own name, IDNA, lengths) is decided by ``origin.domains``,
whose errors come back on the ``hostname`` path with their own codes
(``ip_not_allowed``, ``wildcard_not_allowed``, …).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from origin.domains.models import CustomDomain, RemovedDomain
from origin.settings import Settings
from origin.web.seller.api.schemas.common import STRICT, Timestamp
from tls.verification import Instructions, instructions_for


class DomainIn(BaseModel):
    """A custom domain to add; it starts `pending` until its DNS records verify."""

    model_config = STRICT

    hostname: str = Field(
        examples=["shop.example.com"],
        description="the domain, in Unicode or punycode; case, a trailing dot and a port are ignored",
    )


class TxtRecord(BaseModel):
    name: str = Field(examples=["_zelly-challenge.shop.example.com"])
    value: str = Field(examples=["zelly-verify=0123456789abcdef0123456789abcdef"])


class CnameRecord(BaseModel):
    name: str
    target: str


class DnsInstructions(BaseModel):
    """The records the merchant publishes: the TXT token, and a CNAME (or A/AAAA for an apex)."""

    txt: TxtRecord
    cname: CnameRecord
    a: list[str]
    aaaa: list[str]
    instructions: str


class VerificationFailure(BaseModel):
    """Why the last check failed: `no_txt`, `wrong_token`, `nxdomain`, `cname_elsewhere`, …"""

    code: str
    message: str


class DomainOut(BaseModel):
    """A custom domain: `pending` until verified, then `active`; `failed` after 7 days unverified."""

    id: int
    hostname: str = Field(description="the normal form (punycode)")
    display_name: str = Field(description="the form for people (Unicode)")
    status: Literal["pending", "active", "failed"]
    is_primary: bool
    dns: DnsInstructions
    failure: VerificationFailure | None
    check_attempts: int
    last_checked_at: Timestamp | None
    next_check_at: Timestamp | None
    verified_at: Timestamp | None
    created_at: Timestamp

    @classmethod
    def build(cls, domain: CustomDomain, settings: Settings) -> "DomainOut":
        return cls(
            id=domain.id,
            hostname=domain.hostname,
            display_name=domain.display_name,
            status=domain.status,
            is_primary=domain.is_primary,
            dns=dns_instructions(domain, settings),
            failure=(
                VerificationFailure(code=domain.failure_code, message=domain.failure_reason or "")
                if domain.failure_code
                else None
            ),
            check_attempts=domain.check_attempts,
            last_checked_at=domain.last_checked_at,
            next_check_at=domain.next_check_at,
            verified_at=domain.verified_at,
            created_at=domain.created_at,
        )


def dns_instructions(domain: CustomDomain, settings: Settings) -> DnsInstructions:
    shown = instructions_for(domain.hostname, domain.verification_token, settings.dns_cname_target, settings.platform_ips)
    return DnsInstructions(
        txt=TxtRecord(name=shown.txt_name, value=shown.txt_value),
        cname=CnameRecord(name=domain.hostname, target=shown.cname_target),
        a=list(shown.a_records),
        aaaa=list(shown.aaaa_records),
        instructions=instructions_sentence(domain.hostname, shown),
    )


def instructions_sentence(hostname: str, shown: Instructions) -> str:
    """What to publish, naming only the address families the platform has (never "AAAA records -")."""
    families = [
        f"{name} records {', '.join(addresses)}"
        for name, addresses in (("A", shown.a_records), ("AAAA", shown.aaaa_records))
        if addresses
    ]
    apex = f" (or, for an apex domain, {' and '.join(families)}; remove any other A/AAAA records)" if families else ""
    return (
        f"Add a TXT record at {shown.txt_name} holding {shown.txt_value}, then point {hostname} at "
        f"{shown.cname_target} with a CNAME{apex}."
    )


class DomainList(BaseModel):
    """Every custom domain of the store, oldest first (a store has a handful: no paging)."""

    domains: list[DomainOut]


class DomainRemoved(BaseModel):
    """The domain is no longer served; its certificate files are deleted."""

    removed: str = Field(description="the hostname removed")
    certificate_files_removed: int | None = Field(
        description="certificate files deleted from Caddy's storage; null when the storage could not be reached"
    )
    primary: str | None = Field(description="the domain that became primary instead, if the removed one was")

    @classmethod
    def build(cls, removed: RemovedDomain) -> "DomainRemoved":
        return cls(
            removed=removed.hostname,
            certificate_files_removed=removed.certificate_files_removed,
            primary=removed.new_primary,
        )
