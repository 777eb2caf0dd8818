"""What the TLS tests need to run real servers on loopback: free ports, and binaries that must be installed."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def require_binary(name: str, package: str) -> str:
    """The path of ``name`` (PATH, then /usr/sbin); a skip, or a failure under ZELLY_REQUIRE_SERVICES=1."""
    found = shutil.which(name) or next((str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.exists()), None)
    if found is None:
        reason = f"{name} is not installed (apt-get install -y {package})"
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason} and ZELLY_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(reason)
    return found
