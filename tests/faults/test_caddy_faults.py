"""Caddy's admin API down while a store removes a domain: the removal answers, the certificate goes later (issue 12, item 11).

The admin address is a real Caddy's, started only after the removal: before,
nothing listens there (refused, as a stopped Caddy). The periodic domain job's
certificate pass then deletes what the removal could not.
"""

from __future__ import annotations

import sqlalchemy as sa

from origin.db import utcnow
from origin.domains.actions import delete_pending_certificates
from origin.settings import Settings
from origin.tenancy.actions import do_issue_api_token
from origin.tenancy.tables import domains, removed_domains
from tests.factories import make_tenant
from tests.faults.conftest import serving
from tests.tls.test_caddy_admin import options
from tls.caddy import CaddyAdmin
from tls.caddy_process import run_caddy


async def certificate_deleted_at(services, hostname: str):
    async with services.db.connect() as conn:
        return (await conn.execute(sa.select(removed_domains.c.certificate_deleted_at).where(removed_domains.c.hostname == hostname))).scalar_one()


async def test_a_removal_while_caddy_is_down_answers_and_its_certificate_is_deleted_once_caddy_is_back(base_settings: Settings, tmp_path):
    caddy_options = options(tmp_path / "caddy-run", storage_dir=tmp_path / "caddy-storage")
    settings = base_settings.replace(caddy_admin_url=caddy_options.admin_url)
    async with serving(settings) as (services, client):
        tenant = await make_tenant(services, slug="acme", name="Acme")
        token = (await do_issue_api_token(services, tenant.id)).token
        async with services.db.begin() as conn:
            for hostname in ("shop.example.test", "keep.example.test"):
                await conn.execute(domains.insert().values(
                    tenant_id=tenant.id, hostname=hostname, status="active", verification_token="t-" + hostname, verified_at=utcnow(),
                ))
            shop_id = (await conn.execute(sa.select(domains.c.id).where(domains.c.hostname == "shop.example.test"))).scalar_one()
        headers = {"Host": "localhost", "Authorization": f"Bearer {token}"}

        removed = await client.delete(f"/api/v1/domains/{shop_id}", headers=headers)
        gone = await client.get("/", headers={"Host": "shop.example.test"})
        pending_before = await certificate_deleted_at(services, "shop.example.test")
        nothing_yet = await delete_pending_certificates(services)  # Caddy still down: kept for the next pass

        async with run_caddy(caddy_options):
            async with CaddyAdmin(caddy_options.admin_url) as admin:
                root = await admin.storage_root()
                for hostname in ("shop.example.test", "keep.example.test"):
                    folder = root / "certificates" / "local" / hostname
                    folder.mkdir(parents=True)
                    (folder / f"{hostname}.crt").write_text("x")
                deleted = await delete_pending_certificates(services)
                again = await delete_pending_certificates(services)
                left = [c.hostname for c in await admin.stored_certificates("shop.example.test")]
                kept = [c.hostname for c in await admin.stored_certificates("keep.example.test")]
        pending_after = await certificate_deleted_at(services, "shop.example.test")

    assert removed.status_code == 200
    assert (await removed.get_json())["certificate_files_removed"] is None  # said plainly: Caddy could not be reached
    assert gone.status_code == 410  # the removal itself took effect at once
    assert pending_before is None and nothing_yet == []
    assert deleted == ["shop.example.test"] and again == []
    assert left == [] and kept == ["keep.example.test"]
    assert pending_after is not None
