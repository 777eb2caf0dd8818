"""Domain writes: add, verify (on request and periodically), set primary, remove.

Each ``do_*`` is one transaction; caches, the TLS allow-list and Caddy's
storage hear about it only after the commit. DNS checks run outside any
transaction (they can take seconds).

Verification backoff: the first automatic check a minute after adding, then
doubling up to every 6 hours, for 7 days; after that the domain is ``failed``
and only a merchant's "verify" request checks it again.

Handover (issue 13, item 5): removal and activation drop the shared Host ->
tenant entry and every process's in-process one (the TENANCY_CHANNEL message
names the host) and purge the host at the edge, so the next request for a name
that changed hands is answered by its new tenant. A pending claim does not
block the real owner: a store that adds a name another store holds *pending*
is shown its own claim token (derived from the secret, so the same on every
attempt); once that TXT record and the routing record are in DNS, adding it
again proves ownership, and the squatter's pending claim is deleted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import secrets
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from origin.db import utcnow
from origin.tenancy.tables import domains, removed_domains
from origin.domains import queries
from origin.domains.errors import DomainError, DomainErrorCode, from_hostname_error, unknown_domain
from origin.domains.models import ACTIVE, FAILED, PENDING, CustomDomain, RemovedDomain
from origin.errors import ErrorKind
from origin.keyring import KeyPurpose
from origin.invalidation import TENANCY_CHANNEL, AfterCommit, transaction
from origin.services import Services
from tls.caddy import CaddyAdmin, CaddyAdminError, delete_stored_certificate
from tls.hostnames import HostnameError, validate_custom_domain
from tls.verification import CHALLENGE_LABEL, DomainVerifier, VerificationResult

log = logging.getLogger(__name__)

TOKEN_PREFIX = "zelly-verify="
FIRST_CHECK_AFTER = dt.timedelta(minutes=1)
LONGEST_CHECK_INTERVAL = dt.timedelta(hours=6)
VERIFICATION_WINDOW = dt.timedelta(days=7)
# After a commit this process's allow-list (Services.allow_list, when an app runs one) is
# called directly, before pub/sub reaches the others: removal -> it forgets the name;
# activation -> it reloads. See serving.py.


def next_check_delay(attempts: int) -> dt.timedelta:
    """1, 2, 4, ... minutes, capped at 6 hours: ``attempts`` checks have failed so far."""
    return min(FIRST_CHECK_AFTER * (2 ** min(attempts, 20)), LONGEST_CHECK_INTERVAL)


def verifier_for(settings) -> DomainVerifier:
    try:
        return DomainVerifier(
            resolvers=settings.dns_resolvers, cname_target=settings.dns_cname_target, platform_ips=settings.platform_ips
        )
    except ValueError as error:
        raise DomainError(DomainErrorCode.DNS_RESOLVERS_INVALID, f"ZELLY_DNS_RESOLVERS: {error}", kind=ErrorKind.UNAVAILABLE) from None


def claim_tokens(services: Services, tenant_id: int, hostname: str) -> list[str]:
    """The TXT tokens that prove ``tenant_id`` owns ``hostname`` against another store's pending claim.

    Derived, not stored: the store can be shown its token before it has a row (the
    name is unique, the squatter holds it). One per accepted key, current first, so a
    token shown before a secret rotation still proves during the overlap.
    """
    message = f"{tenant_id}:{hostname}".encode()
    return [
        TOKEN_PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest()[:32]
        for _, key in services.keyring.accepted_keys(KeyPurpose.DOMAIN_CLAIM)
    ]


async def _prove_contested_claim(services: Services, tenant_id: int, name: str) -> str | None:
    """The claim token found in DNS with the name routed to us (a full verification), or None."""
    verifier = verifier_for(services.settings)
    for token in claim_tokens(services, tenant_id, name):
        if (await verifier.verify(name, token)).is_verified:
            return token
    return None


async def do_add_domain(services: Services, tenant_id: int, hostname: object) -> CustomDomain:
    try:
        name = validate_custom_domain(hostname, services.settings.platform_domain)
    except HostnameError as error:
        raise from_hostname_error(error) from None
    async with services.db.connect() as conn:
        existing = await queries.select_domain_by_hostname(conn, name)
    proven_token = None
    if existing is not None and existing.tenant_id != tenant_id and existing.status == PENDING:
        # DNS outside any transaction (it can take seconds); the claim is re-read inside it.
        proven_token = await _prove_contested_claim(services, tenant_id, name)
        if proven_token is None:
            raise _contested(name, claim_tokens(services, tenant_id, name)[0])
    now = utcnow()
    try:
        async with transaction(services) as (conn, effects):
            existing = await queries.select_domain_by_hostname(conn, name)
            if existing is not None:
                if proven_token is not None and existing.tenant_id != tenant_id and existing.status != ACTIVE:
                    log.info("domain %s: tenant %s proved ownership; tenant %s's pending claim deleted", name, tenant_id, existing.tenant_id)
                    await conn.execute(domains.delete().where(domains.c.id == existing.id, domains.c.status != ACTIVE))
                else:
                    _refuse_existing(existing, tenant_id, name, now)
                    # Another store's claim that never verified within the window does not block the owner.
                    await conn.execute(domains.delete().where(domains.c.id == existing.id, domains.c.status == FAILED))
            # Added again (by any store): no longer "removed", so no longer a 410 once the lists reload.
            await conn.execute(removed_domains.delete().where(removed_domains.c.hostname == name))
            proven = dict(status=ACTIVE, verified_at=now, last_checked_at=now, check_attempts=1, next_check_at=None)
            pending = dict(status=PENDING, check_attempts=0, next_check_at=now + FIRST_CHECK_AFTER)
            result = await conn.execute(
                domains.insert().values(
                    tenant_id=tenant_id,
                    hostname=name,
                    is_primary=False,
                    verification_token=proven_token or TOKEN_PREFIX + secrets.token_hex(16),
                    **(proven if proven_token else pending),
                )
            )
            domain_id = result.inserted_primary_key[0]
            if proven_token:
                await _promote_if_no_primary(conn, tenant_id, domain_id)
                _announce_activation(services, effects, tenant_id, name)
            domain = await queries.select_domain(conn, tenant_id, domain_id)
    except IntegrityError:  # a concurrent add of the same name won the unique index
        raise DomainError(
            DomainErrorCode.DOMAIN_TAKEN, f"{name} was just added by another request", field="hostname", kind=ErrorKind.CONFLICT
        ) from None
    assert domain is not None
    return domain


def _refuse_existing(existing: CustomDomain, tenant_id: int, name: str, now: dt.datetime) -> None:
    if existing.tenant_id == tenant_id:
        raise DomainError(
            DomainErrorCode.DOMAIN_EXISTS, f"{name} is already one of this store's domains", field="hostname", kind=ErrorKind.CONFLICT
        )
    if existing.status != FAILED:
        raise DomainError(
            DomainErrorCode.DOMAIN_TAKEN,
            f"{name} is in use by another store; if you own it, remove it there or contact support",
            field="hostname",
            kind=ErrorKind.CONFLICT,
        )


def _contested(name: str, token: str) -> DomainError:
    return DomainError(
        DomainErrorCode.DOMAIN_TAKEN,
        f"{name} is claimed by another store but not verified; if you own it, publish the TXT record "
        f"{CHALLENGE_LABEL}.{name} = {token} and point the name at the platform, then add it again",
        field="hostname",
        kind=ErrorKind.CONFLICT,
    )


def _announce_activation(services: Services, effects: AfterCommit, tenant_id: int, hostname: str) -> None:
    """After the commit: the allow-list reloads, every Host -> tenant answer for the name and the edge's pages under it go."""
    if services.allow_list is not None:
        effects.call(services.allow_list.refresh)
    effects.tenant_changed(tenant_id, hosts=(hostname,))


async def do_verify_domain(
    services: Services, tenant_id: int, domain_id: int, verifier: DomainVerifier | None = None
) -> CustomDomain:
    """Check DNS now (a merchant's request) and record the outcome."""
    async with services.db.connect() as conn:
        domain = await queries.select_domain(conn, tenant_id, domain_id)
    if domain is None:
        raise unknown_domain(domain_id)
    if domain.is_active:
        return domain
    result = await (verifier or verifier_for(services.settings)).verify(domain.hostname, domain.verification_token)
    return await _record_check(services, domain, result, on_request=True)


async def verify_due_domains(
    services: Services, verifier: DomainVerifier | None = None, *, now: dt.datetime | None = None, limit: int = 100
) -> list[CustomDomain]:
    """The periodic task: check every pending domain whose next check is due; returns them as recorded."""
    now = now or utcnow()
    async with services.db.connect() as conn:
        due = await queries.select_due_domains(conn, now, limit)
    verifier = verifier or verifier_for(services.settings)
    recorded = []
    for domain in due:
        result = await verifier.verify(domain.hostname, domain.verification_token)
        try:
            recorded.append(await _record_check(services, domain, result, on_request=False, now=now))
        except DomainError:  # removed by its store while DNS was being checked: nothing to record
            continue
    return recorded


async def _record_check(
    services: Services, domain: CustomDomain, result: VerificationResult, *, on_request: bool, now: dt.datetime | None = None
) -> CustomDomain:
    now = now or utcnow()
    attempts = domain.check_attempts + 1
    if result.is_verified:
        values = dict(
            status=ACTIVE, failure_code=None, failure_reason=None, verified_at=now, next_check_at=None,
        )
    elif now - domain.created_at >= VERIFICATION_WINDOW:
        values = dict(status=FAILED, failure_code=result.failure.value, failure_reason=result.message[:500], next_check_at=None)
    else:
        # A merchant's request does not stretch the automatic schedule, it only reports.
        next_check = domain.next_check_at if on_request and domain.status == PENDING else now + next_check_delay(attempts)
        values = dict(
            status=PENDING,
            failure_code=result.failure.value,
            failure_reason=result.message[:500],
            next_check_at=next_check,
        )
    async with transaction(services) as (conn, effects):
        changed = await conn.execute(
            domains.update()
            .where(domains.c.id == domain.id, domains.c.tenant_id == domain.tenant_id, domains.c.status != ACTIVE)
            .values(check_attempts=attempts, last_checked_at=now, **values)
        )
        became_primary = False
        if changed.rowcount and result.is_verified:
            became_primary = await _promote_if_no_primary(conn, domain.tenant_id, domain.id)
        recorded = await queries.select_domain(conn, domain.tenant_id, domain.id)
        if recorded is None:  # removed while DNS was being checked
            raise unknown_domain(domain.id)
        if changed.rowcount and result.is_verified:
            log.info("domain %s verified for tenant %s (primary: %s)", domain.hostname, domain.tenant_id, became_primary)
            _announce_activation(services, effects, domain.tenant_id, domain.hostname)
    return recorded


async def _promote_if_no_primary(conn, tenant_id: int, domain_id: int) -> bool:
    has_primary = (
        await conn.execute(
            sa.select(sa.func.count())
            .select_from(domains)
            .where(domains.c.tenant_id == tenant_id, domains.c.is_primary.is_(True))
        )
    ).scalar_one()
    if has_primary:
        return False
    await conn.execute(
        domains.update().where(domains.c.tenant_id == tenant_id, domains.c.id == domain_id).values(is_primary=True)
    )
    return True


async def do_set_primary_domain(services: Services, tenant_id: int, domain_id: int) -> CustomDomain:
    async with transaction(services) as (conn, effects):
        domain = await queries.select_domain(conn, tenant_id, domain_id)
        if domain is None:
            raise unknown_domain(domain_id)
        if not domain.is_active:
            raise DomainError(
                DomainErrorCode.DOMAIN_NOT_ACTIVE,
                f"{domain.hostname} is {domain.status}; verify it before making it primary",
                kind=ErrorKind.CONFLICT,
            )
        await conn.execute(
            domains.update()
            .where(domains.c.tenant_id == tenant_id, domains.c.id != domain_id, domains.c.is_primary.is_(True))
            .values(is_primary=False)
        )
        await conn.execute(
            domains.update().where(domains.c.tenant_id == tenant_id, domains.c.id == domain_id).values(is_primary=True)
        )
        domain = await queries.select_domain(conn, tenant_id, domain_id)
        effects.tenant_changed(tenant_id)  # canonical URLs and redirects change on every page
    assert domain is not None
    return domain


async def do_remove_domain(services: Services, tenant_id: int, domain_id: int) -> RemovedDomain:
    """Stop serving at once: delete the row, deny the ask, purge the host's pages, delete the certificate."""
    async with transaction(services) as (conn, effects):
        domain = await queries.select_domain(conn, tenant_id, domain_id)
        if domain is None:
            raise unknown_domain(domain_id)
        await conn.execute(domains.delete().where(domains.c.tenant_id == tenant_id, domains.c.id == domain_id))
        # Remembered in the database, so every process (and this one after a restart) answers 410
        # for it, whether the removal came from the API, the CLI or another origin (serving.py).
        await conn.execute(removed_domains.delete().where(removed_domains.c.hostname == domain.hostname))
        await conn.execute(removed_domains.insert().values(hostname=domain.hostname, tenant_id=tenant_id, removed_at=utcnow()))
        new_primary = None
        if domain.is_primary:
            new_primary = await _promote_oldest_active(conn, tenant_id)
        if services.allow_list is not None:  # this process denies it before anything else happens
            effects.call(functools.partial(services.allow_list.forget, domain.hostname))
        # Other processes: the allow-list forgets the name on this message (origin/domains/serving.py);
        # every tenancy subscriber reads tenant_id from it as from publish_tenant_change's.
        effects.publish(TENANCY_CHANNEL, json.dumps({"tenant_id": tenant_id, "removed_hostname": domain.hostname}))
        # The shared Host -> tenant entry and every process's LRU entry for the name go (not only the
        # tenant's): otherwise the name resolves to this tenant for up to POSITIVE_TTL_SECONDS. The same
        # effect purges the host's pages at the edge (publish_tenant_change).
        effects.tenant_changed(tenant_id, hosts=(domain.hostname,))
    # The certificate goes after the commit too, but the answer reports what was deleted.
    removed_files = await _delete_certificate(services, domain.hostname)
    if removed_files is not None:
        await _record_certificate_deleted(services, domain.hostname)
    return RemovedDomain(domain.hostname, removed_files, new_primary)


CERTIFICATE_RETRY_WINDOW = dt.timedelta(days=90)  # as long as a removed name is remembered


async def delete_pending_certificates(services: Services, *, limit: int = 50) -> list[str]:
    """Certificates of removed domains that Caddy could not delete then: try again; the hostnames done.

    Run by the periodic domain job every pass (origin/domains/periodic.py), so a removal made
    while Caddy's admin API was down still ends with the certificate gone (issue 12, item 11).
    """
    async with services.db.connect() as conn:
        pending = (await conn.execute(
            sa.select(removed_domains.c.hostname)
            .where(removed_domains.c.certificate_deleted_at.is_(None), removed_domains.c.removed_at > utcnow() - CERTIFICATE_RETRY_WINDOW)
            .order_by(removed_domains.c.removed_at)
            .limit(limit)
        )).scalars().all()
    done = []
    for hostname in pending:
        if await _delete_certificate(services, hostname) is None:
            break  # still unreachable: the next pass tries again, no point hammering it now
        await _record_certificate_deleted(services, hostname)
        done.append(hostname)
    return done


async def _record_certificate_deleted(services: Services, hostname: str) -> None:
    async with services.db.begin() as conn:
        await conn.execute(removed_domains.update().where(removed_domains.c.hostname == hostname).values(certificate_deleted_at=utcnow()))


async def _promote_oldest_active(conn, tenant_id: int) -> str | None:
    row = (
        await conn.execute(
            sa.select(domains.c.id, domains.c.hostname)
            .where(domains.c.tenant_id == tenant_id, domains.c.status == ACTIVE)
            .order_by(domains.c.id)
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    await conn.execute(domains.update().where(domains.c.tenant_id == tenant_id, domains.c.id == row.id).values(is_primary=True))
    return row.hostname


async def _delete_certificate(services: Services, hostname: str) -> int | None:
    # After the commit and best effort: the origin already refuses the host, and a
    # Caddy that is down must not make a merchant's removal fail.
    admin = CaddyAdmin(services.settings.caddy_admin_url, client=services.http)
    try:
        return len(await admin.delete_certificate(hostname))
    except CaddyAdminError as error:
        local_storage = Path(services.settings.data_dir) / "caddy"
        if (local_storage / "certificates").is_dir():  # Caddy is down, but its storage is ours (zelly dev)
            return len(await asyncio.to_thread(delete_stored_certificate, local_storage, hostname))
        log.warning("certificate files of removed domain %s not deleted: %s", hostname, error)
        return None
