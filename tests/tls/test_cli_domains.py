"""zelly domain add|verify|list|remove and zelly tls root, run as an operator runs them."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import free_port, zelly
from tests.tls.conftest import DNS_TARGET, PLATFORM_IPV4
from tests.tls.dnsmasq import DnsServer, Records
from tests.tls.factories import pointed_at_platform


def test_domain_lifecycle_from_the_command_line(tmp_path: Path, dns_server: DnsServer) -> None:
    env = dict(
        ZELLY_DNS_RESOLVERS=dns_server.address,
        ZELLY_DNS_TARGET=DNS_TARGET,
        ZELLY_PLATFORM_IPS=PLATFORM_IPV4,
        ZELLY_CADDY_ADMIN_URL=f"http://127.0.0.1:{free_port()}",  # no Caddy runs: its storage is cleaned directly
    )
    assert zelly(tmp_path, "migrate", **env).returncode == 0
    assert zelly(tmp_path, "tenant", "create", "--slug", "acme", "--name", "Acme", **env).returncode == 0

    added = zelly(tmp_path, "domain", "add", "acme", "Shop.Example.TEST", **env)
    token = added.stdout.split('"')[1]
    dns_server.serve(pointed_at_platform({}))
    failed = zelly(tmp_path, "domain", "verify", "acme", "shop.example.test", **env)
    dns_server.serve(pointed_at_platform({"shop.example.test": token}))
    verified = zelly(tmp_path, "domain", "verify", "acme", "shop.example.test", **env)
    listing = zelly(tmp_path, "domain", "list", "acme", **env)
    storage = tmp_path / "var" / "caddy" / "certificates" / "local" / "shop.example.test"
    storage.mkdir(parents=True)
    (storage / "shop.example.test.crt").write_text("x")
    removed = zelly(tmp_path, "domain", "remove", "acme", "shop.example.test", **env)
    unknown = zelly(tmp_path, "domain", "remove", "acme", "shop.example.test", **env)
    garbage = zelly(tmp_path, "domain", "add", "acme", "10.0.0.1", **env)
    url = zelly(tmp_path, "domain", "add", "acme", "https://shop.example.test/", **env)

    assert added.returncode == 0
    assert added.stdout.splitlines()[:3] == [
        "shop.example.test: pending",
        f'  TXT   _zelly-challenge.shop.example.test  "{token}"',
        f"  CNAME shop.example.test  {DNS_TARGET}",
    ]
    assert failed.returncode == 1
    assert "  last check: nxdomain: shop.example.test does not exist in DNS (NXDOMAIN)" in failed.stdout
    assert (verified.returncode, verified.stdout) == (0, "shop.example.test: active (primary)\n")
    assert listing.stdout.splitlines()[1].split() == ["shop.example.test", "active", "yes"]
    assert removed.stdout == "shop.example.test: removed; certificate: 1 file(s) deleted\n"
    assert not storage.exists()
    assert (unknown.returncode, unknown.stderr) == (1, "zelly: no domain 'shop.example.test' in this store\n")
    assert (garbage.returncode, garbage.stderr) == (1, "zelly: an IP address is not a hostname; use a domain name\n")
    assert (url.returncode, url.stderr) == (
        1, "zelly: 'https://shop.example.test/' is a URL, not a hostname; give only its hostname: shop.example.test\n"
    )


def test_verify_prints_every_dns_problem_at_once(tmp_path: Path, dns_server: DnsServer) -> None:
    env = dict(ZELLY_DNS_RESOLVERS=dns_server.address, ZELLY_DNS_TARGET=DNS_TARGET, ZELLY_PLATFORM_IPS=PLATFORM_IPV4)
    assert zelly(tmp_path, "migrate", **env).returncode == 0
    assert zelly(tmp_path, "tenant", "create", "--slug", "acme", "--name", "Acme", **env).returncode == 0
    added = zelly(tmp_path, "domain", "add", "acme", "example.test", **env)
    token = added.stdout.split('"')[1]
    records = Records(zones=("example.test",))
    records.hosts["example.test"] = ["198.51.100.7", "2001:db8:dead::1"]  # no TXT, an old A and an old AAAA
    dns_server.serve(records)

    verified = zelly(tmp_path, "domain", "verify", "acme", "example.test", **env)

    assert added.stdout.splitlines() == [
        "example.test: pending",
        f'  TXT   _zelly-challenge.example.test  "{token}"',
        f"  CNAME example.test  {DNS_TARGET}",
        f"  or A    example.test  {PLATFORM_IPV4}",
        "then run: zelly domain verify acme example.test",
    ]
    assert verified.returncode == 1
    assert verified.stdout.splitlines()[:2] == [
        "example.test: pending",
        f"  last check: no_txt: 3 problems: (1) no TXT record at _zelly-challenge.example.test; add one holding {token}."
        f" (2) example.test has A records 198.51.100.7 that are not the platform's; replace them with {PLATFORM_IPV4}."
        " (3) example.test has AAAA records 2001:db8:dead::1 pointing elsewhere; remove them.",
    ]


def test_tls_root_prints_the_path_once_it_exists(tmp_path: Path) -> None:
    root = tmp_path / "var" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    no_caddy = f"http://127.0.0.1:{free_port()}"
    missing = zelly(tmp_path, "tls", "root", ZELLY_CADDY_ADMIN_URL=no_caddy)
    root.parent.mkdir(parents=True)
    root.write_text("-----BEGIN CERTIFICATE-----\n")
    present = zelly(tmp_path, "tls", "root", ZELLY_CADDY_ADMIN_URL=no_caddy)

    assert (missing.returncode, missing.stdout) == (1, f"{root}\n")
    assert "Caddy creates it on its first start" in missing.stderr
    assert (present.returncode, present.stdout) == (0, f"{root}\n")
