"""Domain actions: periodic verification with backoff, the verification window, claims, the allow-list loader."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import pytest

from origin.db import utcnow
from origin.tenancy.tables import domains
from origin.domains import actions, queries
from origin.domains.errors import DomainError
from origin.domains.serving import acquire_allow_list, release_allow_list
from origin.services import open_services
from origin.tenancy.actions import do_suspend_tenant
from tests.tls.factories import make_tenant, pointed_at_platform


def test_backoff_doubles_from_a_minute_up_to_six_hours() -> None:
    delays = [actions.next_check_delay(attempts) for attempts in (0, 1, 2, 3, 8, 9, 50)]

    assert [delay.total_seconds() for delay in delays] == [60, 120, 240, 480, 15360, 21600, 21600]


async def test_periodic_check_backs_off_then_activates(services, dns_server) -> None:
    tenant_id, _ = await make_tenant(services, "acme")
    domain = await actions.do_add_domain(services, tenant_id, "shop.example.test")
    start = domain.next_check_at
    dns_server.serve(pointed_at_platform({}))

    not_yet = await actions.verify_due_domains(services, now=start - dt.timedelta(seconds=1))
    first = await actions.verify_due_domains(services, now=start)
    second = await actions.verify_due_domains(services, now=first[0].next_check_at)
    dns_server.serve(pointed_at_platform({"shop.example.test": domain.verification_token}))
    third = await actions.verify_due_domains(services, now=second[0].next_check_at)

    assert not_yet == []
    assert (first[0].status, first[0].failure_code, first[0].check_attempts) == ("pending", "nxdomain", 1)
    assert first[0].next_check_at == start + dt.timedelta(minutes=2)
    assert second[0].next_check_at == first[0].next_check_at + dt.timedelta(minutes=4)
    assert (third[0].status, third[0].failure_code, third[0].next_check_at, third[0].is_primary) == ("active", None, None, True)
    assert await actions.verify_due_domains(services, now=utcnow() + dt.timedelta(days=30)) == []


async def test_after_the_window_the_domain_fails_and_stops_being_checked(services, dns_server) -> None:
    tenant_id, _ = await make_tenant(services, "acme")
    domain = await actions.do_add_domain(services, tenant_id, "shop.example.test")
    dns_server.serve(pointed_at_platform({}))
    late = domain.created_at + actions.VERIFICATION_WINDOW

    recorded = await actions.verify_due_domains(services, now=late)

    assert (recorded[0].status, recorded[0].failure_code, recorded[0].next_check_at) == ("failed", "nxdomain", None)
    assert await actions.verify_due_domains(services, now=late + dt.timedelta(days=1)) == []


async def test_a_failed_claim_of_another_store_does_not_block_the_owner(services) -> None:
    squatter_id, _ = await make_tenant(services, "squatter")
    owner_id, _ = await make_tenant(services, "owner")
    claim = await actions.do_add_domain(services, squatter_id, "shop.example.test")
    async with services.db.begin() as conn:
        await conn.execute(domains.update().where(domains.c.id == claim.id).values(status="failed"))

    taken = await actions.do_add_domain(services, owner_id, "shop.example.test")

    assert taken.tenant_id == owner_id
    async with services.db.connect() as conn:
        assert await queries.select_domains(conn, squatter_id) == []


async def test_a_pending_claim_of_another_store_blocks(services) -> None:
    first_id, _ = await make_tenant(services, "first")
    second_id, _ = await make_tenant(services, "second")
    await actions.do_add_domain(services, first_id, "shop.example.test")

    with pytest.raises(DomainError) as raised:
        await actions.do_add_domain(services, second_id, "shop.example.test")

    assert raised.value.code == "domain_taken"


async def test_verify_and_remove_are_scoped_to_the_tenant(services) -> None:
    owner_id, _ = await make_tenant(services, "owner")
    other_id, _ = await make_tenant(services, "other")
    domain = await actions.do_add_domain(services, owner_id, "shop.example.test")

    for call in (actions.do_verify_domain, actions.do_set_primary_domain, actions.do_remove_domain):
        with pytest.raises(DomainError) as raised:
            await call(services, other_id, domain.id)
        assert raised.value.code == "unknown_domain"


async def test_removing_the_primary_promotes_the_oldest_active_domain(services, dns_server) -> None:
    tenant_id, _ = await make_tenant(services, "acme")
    apex = await actions.do_add_domain(services, tenant_id, "example.test")
    www = await actions.do_add_domain(services, tenant_id, "www.example.test")
    dns_server.serve(
        pointed_at_platform({"example.test": apex.verification_token, "www.example.test": www.verification_token})
    )
    await actions.do_verify_domain(services, tenant_id, apex.id)
    await actions.do_verify_domain(services, tenant_id, www.id)

    removed = await actions.do_remove_domain(services, tenant_id, apex.id)

    assert (removed.hostname, removed.new_primary, removed.certificate_files_removed) == ("example.test", "www.example.test", None)
    async with services.db.connect() as conn:
        assert [(d.hostname, d.is_primary) for d in await queries.select_domains(conn, tenant_id)] == [("www.example.test", True)]


async def test_servable_names_are_active_domains_and_subdomains_of_active_stores(services, dns_server) -> None:
    acme_id, _ = await make_tenant(services, "acme")
    nordic_id, _ = await make_tenant(services, "nordic")
    kyoto_id, _ = await make_tenant(services, "kyoto")
    active = await actions.do_add_domain(services, acme_id, "shop.example.test")
    await actions.do_add_domain(services, acme_id, "pending.example.test")
    suspended = await actions.do_add_domain(services, kyoto_id, "kyoto.example.test")
    dns_server.serve(
        pointed_at_platform({"shop.example.test": active.verification_token, "kyoto.example.test": suspended.verification_token})
    )
    await actions.do_verify_domain(services, acme_id, active.id)
    await actions.do_verify_domain(services, kyoto_id, suspended.id)
    await do_suspend_tenant(services, kyoto_id)

    async with services.db.connect() as conn:
        names = await queries.select_servable_hostnames(conn, "localhost")

    assert names == {"acme.localhost", "nordic.localhost", "shop.example.test"}


async def test_a_removal_in_another_process_is_denied_at_once(services, dns_server) -> None:
    """Two Services are two processes on the servers backend (Redis pub/sub); embedded is one process."""
    async with contextlib.AsyncExitStack() as stack:
        if services.redis is not None:
            reader = await stack.enter_async_context(open_services(services.settings, with_analytics=False))
        else:
            reader = services
        tenant_id, _ = await make_tenant(services, "acme")
        domain = await actions.do_add_domain(services, tenant_id, "shop.example.test")
        dns_server.serve(pointed_at_platform({"shop.example.test": domain.verification_token}))
        await actions.do_verify_domain(services, tenant_id, domain.id)
        allow_list = await acquire_allow_list(reader)
        stack.push_async_callback(release_allow_list, reader)
        await asyncio.sleep(0.2)  # the subscription is live
        before = allow_list.decide("shop.example.test").status

        await actions.do_remove_domain(services, tenant_id, domain.id)
        for _ in range(100):
            if allow_list.was_removed("shop.example.test"):
                break
            await asyncio.sleep(0.01)

        assert before == 200
        assert allow_list.decide("shop.example.test").status == 404
        assert allow_list.was_removed("shop.example.test") is True


async def test_the_background_job_verifies_due_domains_until_stopped(services, dns_server) -> None:
    from origin.domains.periodic import periodic_verifier

    tenant_id, _ = await make_tenant(services, "acme")
    domain = await actions.do_add_domain(services, tenant_id, "shop.example.test")
    async with services.db.begin() as conn:  # due now
        await conn.execute(domains.update().where(domains.c.id == domain.id).values(next_check_at=utcnow()))
    dns_server.serve(pointed_at_platform({"shop.example.test": domain.verification_token}))
    stop = asyncio.Event()

    job = asyncio.create_task(periodic_verifier(services, interval=0.05)(stop))
    for _ in range(100):
        async with services.db.connect() as conn:
            status = (await queries.select_domain(conn, tenant_id, domain.id)).status
        if status == "active":
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(job, timeout=2)

    assert status == "active"
    assert job.done() and job.exception() is None
