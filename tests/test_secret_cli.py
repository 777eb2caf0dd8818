"""zelly secret rotate / reseal / status as an operator runs them (real subprocesses, embedded default)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from origin.keyring import key_id
from origin.services import open_services
from origin.settings import Settings
from origin.shopify.connections import get_connection
from origin.shopify.errors import ShopifyError
from tests.test_cli import zelly
from tests.shopify_harness import connect_through_fake


async def connection_token(data_dir: Path, tenant_id: int) -> str:
    async with open_services(Settings(data_dir=data_dir), with_analytics=False) as services:
        return (await get_connection(services, tenant_id)).access_token


async def test_rotate_reseal_status_on_the_embedded_default(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    assert zelly(tmp_path, "migrate").returncode == 0
    assert zelly(tmp_path, "tenant", "create", "--slug", "acme", "--name", "Acme", "--currency", "USD").returncode == 0
    async with open_services(Settings(data_dir=data_dir), with_analytics=False) as services:
        await connect_through_fake(services, 1, shop_domain="acme.myshopify.com", access_token="shpat_" + "a" * 32, webhook_secret="whsec-acme-1")
    old_id = key_id((data_dir / "secret.key").read_text().strip())

    before = zelly(tmp_path, "secret", "status")
    rotated = zelly(tmp_path, "secret", "rotate")
    again = zelly(tmp_path, "secret", "rotate")
    new_secret = (data_dir / "secret.key").read_text().strip()
    previous_secret = (data_dir / "secret.previous.key").read_text().strip()
    new_mode = stat.S_IMODE((data_dir / "secret.key").stat().st_mode)
    during = zelly(tmp_path, "secret", "status")
    token_during = await connection_token(data_dir, 1)
    resealed = zelly(tmp_path, "secret", "reseal")
    resealed_again = zelly(tmp_path, "secret", "reseal")
    (data_dir / "secret.previous.key").unlink()
    after = zelly(tmp_path, "secret", "status")

    assert before.stdout.splitlines() == [f"current key id: {old_id}", "previous key id: none", f"  {old_id}: 2 sealed values"]
    assert rotated.returncode == 0, rotated.stderr
    assert previous_secret != new_secret and key_id(previous_secret) == old_id
    assert new_mode == 0o600
    assert again.returncode == 1 and "secret.previous.key exists" in again.stdout
    new_id = key_id(new_secret)
    assert during.stdout.splitlines() == [
        f"current key id: {new_id}", f"previous key id: {old_id}", f"  {new_id}: 0 sealed values", f"  {old_id}: 2 sealed values"
    ]
    assert token_during == "shpat_" + "a" * 32
    assert resealed.stdout.strip() == f"re-sealed 1 of 1 Shopify connections under key id {new_id}"
    assert resealed_again.stdout.strip() == f"re-sealed 0 of 1 Shopify connections under key id {new_id}"
    assert after.stdout.splitlines() == [f"current key id: {new_id}", "previous key id: none", f"  {new_id}: 2 sealed values"]
    assert await connection_token(data_dir, 1) == "shpat_" + "a" * 32


async def test_dropping_the_previous_secret_before_reseal_leaves_credentials_unopenable(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    assert zelly(tmp_path, "migrate").returncode == 0
    assert zelly(tmp_path, "tenant", "create", "--slug", "acme", "--name", "Acme", "--currency", "USD").returncode == 0
    async with open_services(Settings(data_dir=data_dir), with_analytics=False) as services:
        await connect_through_fake(services, 1, shop_domain="acme.myshopify.com", access_token="shpat_" + "a" * 32, webhook_secret="whsec-acme-1")
    old_id = key_id((data_dir / "secret.key").read_text().strip())

    assert zelly(tmp_path, "secret", "rotate").returncode == 0
    (data_dir / "secret.previous.key").unlink()
    status = zelly(tmp_path, "secret", "status")

    assert f"  {old_id}: 2 sealed values, NOT accepted: cannot be opened" in status.stdout.splitlines()
    with pytest.raises(ShopifyError):
        await connection_token(data_dir, 1)


def test_rotate_with_the_secret_in_the_environment_prints_what_to_set_but_never_the_old_secret(tmp_path: Path) -> None:
    old = "operator-set-secret-" + "x" * 40

    result = zelly(tmp_path, "secret", "rotate", ZELLY_SECRET_KEY=old)

    assert result.returncode == 0, result.stderr
    assert old not in result.stdout
    lines = [line.strip() for line in result.stdout.splitlines()]
    new = next(line.removeprefix("ZELLY_SECRET_KEY=") for line in lines if line.startswith("ZELLY_SECRET_KEY="))
    assert len(new) >= 48 and new != old and f"key id {key_id(new)}" in result.stdout
    assert "ZELLY_SECRET_KEY_PREVIOUS=<the current value of ZELLY_SECRET_KEY>" in lines
    assert not (tmp_path / "var" / "secret.key").exists() and not (tmp_path / "var" / "secret.previous.key").exists()
