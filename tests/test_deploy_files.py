"""The deployment examples stay in step with the code."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from ops.commands.stack import SCHEDULER_MODULES, WORKER_MODULES, Topology
from origin.settings import ConfigurationError, Settings

DEPLOY = Path(__file__).resolve().parents[1] / "ops" / "deploy"


def test_the_example_environment_is_refused_until_its_placeholders_are_replaced() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({}, env_file=DEPLOY / "zelly.env.example")

    assert raised.value.variable == "ZELLY_DATABASE_URL" and "is a placeholder" in raised.value.problem


def test_the_example_environment_is_valid_configuration_with_real_secrets() -> None:
    filled = {
        "ZELLY_DATABASE_URL": "mysql+aiomysql://zelly:Vq7pL2xN9kR4tW8z@db.internal:3306/",
        "ZELLY_SECRET_KEY": "k3Jq9vX2pL7mN4rT8wY1zB6cD0fG5hS2aE9uI7oP",
        "ZELLY_INTERNAL_TOKEN": "Pq8Wn3Lz7Xc2Vb6Nm1Kj5Hg9Fd4Sa0Qe",
        "ZELLY_SMTP_PASSWORD": "smtp-Rt5Yu8Io2Pa6",
    }
    settings = Settings.from_env(filled, env_file=DEPLOY / "zelly.env.example")

    assert settings.platform_domain == "shops.example.com"
    assert settings.platform_ips == ("203.0.113.10", "2001:db8::10")
    assert settings.trusted_proxies == ("127.0.0.1", "::1")  # per-address rate limits see the shopper, not Caddy
    assert not settings.uses_embedded_database
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == ("smtp.example.com", 587, "always")
    assert "CHANGE-ME" not in repr(settings)


# -- systemd units: one internal listener port per unit ----------------------------------------------------------------

SYSTEMD = DEPLOY / "systemd"


def unit_directives(paths: list[Path]) -> dict[str, list[str]]:
    """Every ``Key=value`` of the unit files in order (later files are drop-ins, which add to or override the unit)."""
    directives: dict[str, list[str]] = {}
    for path in paths:
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", ";", "[")):
                key, _, value = line.partition("=")
                directives.setdefault(key.strip(), []).append(value.strip())
    return directives


def unit_environment(directives: dict[str, list[str]]) -> dict[str, str]:
    environment: dict[str, str] = {}
    for value in directives.get("Environment", []):
        environment.update(assignment.split("=", 1) for assignment in shlex.split(value))
    return environment


def internal_listener_units(systemd: Path) -> dict[str, str]:
    """Unit (instance) name -> its ZELLY_WORKER_INTERNAL_BIND, for every unit that runs a worker, scheduler or consumer.

    A worker instance is the template plus its drop-ins (``zelly-worker@<queue>.service.d/*.conf``), one per
    queue the stack runs; a unit that leaves the variable unset gets "" (the default port, shared by all such).
    """
    template = systemd / "zelly-worker@.service"
    units = {f"zelly-worker@{queue}.service": [template, *sorted((systemd / f"zelly-worker@{queue}.service.d").glob("*.conf"))]
             for queue in WORKER_MODULES}
    for path in sorted(systemd.glob("*.service")):
        if path != template and any(word in path.read_text() for word in ("taskiq ", "analytics consume")):
            units[path.name] = [path, *sorted((systemd / f"{path.name}.d").glob("*.conf"))]
    return {name: unit_environment(unit_directives(paths)).get("ZELLY_WORKER_INTERNAL_BIND", "")
            for name, paths in units.items()}


def shared_ports(binds: dict[str, str]) -> dict[str, list[str]]:
    by_port: dict[str, list[str]] = {}
    for name, bind in binds.items():
        by_port.setdefault(bind.rpartition(":")[2] if bind else "default", []).append(name)
    return {port: sorted(names) for port, names in by_port.items() if len(names) > 1}


def test_every_worker_scheduler_and_consumer_unit_has_its_own_internal_port() -> None:
    binds = internal_listener_units(SYSTEMD)
    defaults = Settings()

    assert sorted(binds) == sorted(
        [f"zelly-worker@{queue}.service" for queue in WORKER_MODULES]
        + ["zelly-analytics-consumer.service", "zelly-checkout-scheduler.service", "zelly-email-scheduler.service",
           "zelly-scheduler.service"])
    assert len(binds) == len(WORKER_MODULES) + len(SCHEDULER_MODULES) + 1  # as many units as `zelly stack` runs
    assert shared_ports(binds) == {}
    assert all(bind.startswith("127.0.0.1:") for bind in binds.values()), binds
    # Nor one of the listeners zelly.env gives the origin and the edge.
    example = {key: value for key, value in (line.split("=", 1) for line in (DEPLOY / "zelly.env.example").read_text().splitlines()
                                             if "=" in line and not line.startswith("#"))}
    taken = {example.get(name, default) for name, default in (
        ("ZELLY_ORIGIN_BIND", defaults.origin_bind), ("ZELLY_INTERNAL_BIND", defaults.internal_bind),
        ("ZELLY_EDGE_BIND", defaults.edge_bind), ("ZELLY_EDGE_INTERNAL_BIND", defaults.edge_internal_bind))}
    assert not taken & set(binds.values())


def stack_child_name(systemd: Path, unit: str) -> str:
    """The name `zelly stack` gives the unit's process: "worker <queue>", "scheduler <queue>", "store-events consumer"."""
    if unit.startswith("zelly-worker@"):
        return f"worker {unit.removeprefix('zelly-worker@').removesuffix('.service')}"
    command = " ".join(unit_directives([systemd / unit])["ExecStart"])
    if "analytics consume" in command:
        return "store-events consumer"
    scheduler = re.search(r"taskiq scheduler workers\.(\w+):scheduler", command)
    assert scheduler, f"{unit}: {command}"
    return f"scheduler {scheduler.group(1)}"


def test_the_units_number_their_ports_as_zelly_stack_numbers_them() -> None:
    # The stack's block is clear of every setting's default port (tests/stack/test_stack_ports.py), so theirs is too.
    topology = Topology(settings=Settings(), origins=(), pool_bind="", internal_pool_bind="")

    numbered = {stack_child_name(SYSTEMD, unit): bind for unit, bind in internal_listener_units(SYSTEMD).items()}

    assert numbered == topology.worker_internal_binds


def test_zelly_env_does_not_set_the_per_unit_port() -> None:
    # systemd: "settings from these files override settings made with Environment=", so a
    # ZELLY_WORKER_INTERNAL_BIND in the shared zelly.env would give every unit the same port again.
    lines = (DEPLOY / "zelly.env.example").read_text().splitlines()

    assert not [line for line in lines if line.lstrip("# ").startswith("ZELLY_WORKER_INTERNAL_BIND=")]


def test_two_units_on_one_port_are_found(tmp_path: Path) -> None:
    # Given the shipped units, with the webhook worker's drop-in copied onto the email worker's port
    copy = tmp_path / "systemd"
    shutil.copytree(SYSTEMD, copy)
    email = internal_listener_units(SYSTEMD)["zelly-worker@email_outbox.service"]
    (copy / "zelly-worker@shopify_webhook.service.d" / "internal-bind.conf").write_text(
        f"[Service]\nEnvironment=ZELLY_WORKER_INTERNAL_BIND={email}\n")
    # and a scheduler whose line was dropped (it falls back to the default, as does nothing else)
    scheduler = copy / "zelly-email-scheduler.service"
    scheduler.write_text("".join(line for line in scheduler.read_text().splitlines(keepends=True)
                                 if "ZELLY_WORKER_INTERNAL_BIND" not in line))

    shared = shared_ports(internal_listener_units(copy))

    assert shared == {email.rpartition(":")[2]: ["zelly-worker@email_outbox.service", "zelly-worker@shopify_webhook.service"]}
    assert internal_listener_units(copy)["zelly-email-scheduler.service"] == ""
