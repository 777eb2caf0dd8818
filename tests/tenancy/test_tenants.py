"""Tenants and API tokens: lifecycle, bad input, isolation."""

from __future__ import annotations

import pytest

from origin.tenancy.tables import tenant_api_tokens, tenants
from origin.errors import ErrorKind
from origin.tenancy import actions, queries
from origin.tenancy.errors import TenancyError
from tests.conftest import count_rows
from tests.factories import make_tenant


async def test_create_tenant_defaults_locale_by_currency(services) -> None:
    tenant = await actions.do_create_tenant(services, slug="nordic", name="  Nordic Living ", currency="eur")

    async with services.db.connect() as conn:
        loaded = await queries.select_tenant_by_slug(conn, "nordic")
    assert loaded == tenant
    assert (tenant.name, tenant.currency, tenant.locale, tenant.status) == ("Nordic Living", "EUR", "de-DE", "active")
    assert tenant.created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("values", "code", "field"),
    [
        ({"slug": "Acme"}, "invalid_slug", "slug"),
        ({"slug": "-acme"}, "invalid_slug", "slug"),
        ({"slug": "a" * 64}, "invalid_slug", "slug"),
        ({"slug": "admin"}, "invalid_slug", "slug"),
        ({"currency": "XYZ"}, "invalid_currency", "currency"),
        ({"currency": "US"}, "invalid_currency", "currency"),
        ({"name": ""}, "invalid_name", "name"),
        ({"locale": "english"}, "invalid_locale", "locale"),
    ],
)
async def test_bad_tenant_input_is_refused_and_nothing_written(services, values, code, field) -> None:
    arguments = {"slug": "acme", "name": "Acme", "currency": "USD", **values}

    with pytest.raises(TenancyError) as raised:
        await actions.do_create_tenant(services, **arguments)

    assert (raised.value.code, raised.value.field, raised.value.kind) == (code, field, ErrorKind.INVALID)
    async with services.db.connect() as conn:
        assert await count_rows(conn, tenants) == 0


async def test_duplicate_slug_is_a_conflict(services) -> None:
    await make_tenant(services, slug="acme")

    with pytest.raises(TenancyError) as raised:
        await make_tenant(services, slug="acme")

    assert (raised.value.code, raised.value.kind) == ("slug_taken", ErrorKind.CONFLICT)


async def test_suspend_and_resume_touch_only_that_tenant(services) -> None:
    acme = await make_tenant(services)
    other = await make_tenant(services)

    suspended = await actions.do_suspend_tenant(services, acme.id)
    async with services.db.connect() as conn:
        other_state = (await queries.select_tenant(conn, other.id)).status
    resumed = await actions.do_resume_tenant(services, acme.id)

    assert (suspended.status, other_state, resumed.status) == ("suspended", "active", "active")


async def test_suspending_an_unknown_tenant_is_not_found(services) -> None:
    with pytest.raises(TenancyError) as raised:
        await actions.do_suspend_tenant(services, 999)

    assert (raised.value.code, raised.value.kind) == ("unknown_tenant", ErrorKind.NOT_FOUND)


async def test_token_is_stored_only_as_a_hash_and_authenticates_its_tenant(services) -> None:
    acme = await make_tenant(services)
    await make_tenant(services)

    issued = await actions.do_issue_api_token(services, acme.id)

    async with services.db.connect() as conn:
        stored = (await conn.execute(tenant_api_tokens.select())).all()
    assert [row.token_hash for row in stored] == [actions.hash_token(issued.token)]
    assert all(issued.token not in str(tuple(row)) for row in stored)
    assert (await actions.authenticate_api_token(services, issued.token)).id == acme.id


async def test_revoked_and_forged_tokens_fail_the_same_way(services) -> None:
    acme = await make_tenant(services)
    issued = await actions.do_issue_api_token(services, acme.id)
    await actions.do_revoke_api_token(services, acme.id, issued.id)

    errors = []
    for token in (issued.token, "zly_" + "x" * 43, "not-a-token", "zly_" + "y" * 500):
        with pytest.raises(TenancyError) as raised:
            await actions.authenticate_api_token(services, token)
        errors.append((raised.value.code, raised.value.message, raised.value.kind))

    assert set(errors) == {("invalid_token", "invalid or revoked API token", ErrorKind.UNAUTHORIZED)}


async def test_a_tenant_cannot_revoke_another_tenants_token(services) -> None:
    acme = await make_tenant(services)
    other = await make_tenant(services)
    theirs = await actions.do_issue_api_token(services, other.id)

    with pytest.raises(TenancyError) as raised:
        await actions.do_revoke_api_token(services, acme.id, theirs.id)

    assert raised.value.code == "unknown_token"
    assert (await actions.authenticate_api_token(services, theirs.token)).id == other.id
