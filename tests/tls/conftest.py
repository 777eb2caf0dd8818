"""Fixtures for the custom-domain tests: a real dnsmasq, and settings that point at it."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from origin.settings import Settings
from tests.tls.dnsmasq import DnsServer

PLATFORM_IPV4 = "203.0.113.10"
PLATFORM_IPV6 = "2001:db8::10"
DNS_TARGET = "edge.zelly-platform.test"


@pytest.fixture
def dns_server(tmp_path: Path) -> Iterator[DnsServer]:
    server = DnsServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def settings(settings: Settings, dns_server: DnsServer) -> Settings:
    """The shared settings, resolving through the test's dnsmasq (serve records before verifying)."""
    return settings.replace(
        dns_resolvers=(dns_server.address,), dns_target=DNS_TARGET, platform_ips=(PLATFORM_IPV4, PLATFORM_IPV6)
    )
