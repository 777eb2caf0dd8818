"""deploy/compose.yaml: valid Compose, configured only with documented settings, running real commands,
in the topology of issue 19 and `zelly stack` (Caddy -> edge -> two origins, one of them running the periodic
jobs, a worker per queue, schedulers, the consumer, each of those with its own internal listener)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest

from observability.endpoints import HealthEndpoints, InternalListener
from observability.metrics import Metrics
from ops.commands import stack
from origin.settings import Settings
from tests.deploy.compose_file import (
    ENTRYPOINT,
    REQUIRED_VALUES,
    ROOT,
    compose,
    entrypoint_words,
    environment,
    interpolate,
    interpolation_names,
    zelly_services,
)
from workers import queues

SCHEMA = Path(__file__).with_name("compose-spec.json")
CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"
SETTINGS_VARIABLES = {f"ZELLY_{spec.name.upper()}" for spec in dataclasses.fields(Settings)}
# The services compose.yaml takes from other images; everything else runs the Zelly image.
ENGINES = {"mysql": "mysql:8.", "redis": "redis:7.", "clickhouse": "clickhouse/clickhouse-server:24.3"}
ORIGINS = ("origin-a", "origin-b")
ORIGIN_ALIAS = "origin"  # what the edge's upstream and Caddy's ask URL name
# The processes with no HTTP app: their only listener is ZELLY_WORKER_INTERNAL_BIND.
BACKGROUND_COMMANDS = ("worker", "scheduler", "consumer")


def background_services() -> dict[str, dict]:
    return {name: service for name, service in zelly_services().items() if service["command"][0] in BACKGROUND_COMMANDS}


def documented_variables() -> set[str]:
    return set(re.findall(r"`((?:ZELLY|CADDY)_[A-Z0-9_]+)`", CONFIGURATION_DOC.read_text()))


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))

    errors = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(compose())]

    assert errors == []


def test_the_schema_check_catches_a_misspelt_key() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    broken = {"services": {"origin": {"image": "zelly:local", "healthcheck": {"tset": ["CMD", "true"]}}}}

    assert not validator.is_valid(broken)


def test_every_variable_a_zelly_service_sets_is_a_documented_setting_or_caddy_variable() -> None:
    documented = documented_variables()
    problems = []
    for name, service in zelly_services().items():
        for variable in service.get("environment") or {}:
            if variable.startswith("ZELLY_") and variable not in SETTINGS_VARIABLES:
                problems.append(f"{name}: {variable} is not read by origin/settings.py")
            elif not variable.startswith(("ZELLY_", "CADDY_")):
                problems.append(f"{name}: {variable} is neither a Zelly setting nor a Caddyfile variable")
            if variable not in documented:
                problems.append(f"{name}: {variable} is not in docs/configuration.md")

    assert problems == []


def test_interpolated_zelly_names_are_settings() -> None:
    # ${ZELLY_...} from the operator's environment is passed on under the same name, so it must be a setting.
    assert {name for name in interpolation_names() if name.startswith("ZELLY_")} - SETTINGS_VARIABLES == set()


@pytest.mark.parametrize("service_name", sorted(name for name in zelly_services() if name != "caddy"))
def test_each_zelly_service_environment_is_accepted_by_settings(service_name: str) -> None:
    values = environment(zelly_services()[service_name])

    settings = Settings.from_env(values, env_file=None)

    assert settings.redis_url == "redis://redis:6379/0"
    assert urlsplit(settings.database_url).hostname == "mysql"
    assert urlsplit(settings.analytics_url).hostname == "clickhouse"


def test_a_missing_secret_stops_compose_with_its_name() -> None:
    values = {name: value for name, value in REQUIRED_VALUES.items() if name != "ZELLY_SECRET_KEY"}

    with pytest.raises(KeyError, match="ZELLY_SECRET_KEY"):
        environment(zelly_services()["origin-a"], values)


def run_entrypoint(*arguments: str) -> subprocess.CompletedProcess:
    # The image's PATH puts the venv first; here the test's own venv has the same commands.
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(["sh", str(ENTRYPOINT), *arguments], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("service_name", sorted(zelly_services()))
def test_each_service_command_is_a_real_command(service_name: str) -> None:
    command = zelly_services()[service_name]["command"]

    completed = run_entrypoint(*command, "--help")

    assert completed.returncode == 0, completed.stderr
    assert "usage" in (completed.stdout + completed.stderr).lower()


def test_the_entrypoint_refuses_a_queue_without_a_worker_module() -> None:
    completed = run_entrypoint("worker", "no_such_queue")

    assert completed.returncode == 2
    assert "worker needs one of: shopify_webhook" in completed.stderr


def test_the_entrypoint_knows_every_taskiq_queue_and_every_scheduler() -> None:
    taskiq_queues = {queue.lower() for queue in queues.ALL_QUEUES if queue != queues.STORE_EVENTS}
    with_scheduler = {path.stem for path in (ROOT / "workers").glob("*.py") if re.search(r"^scheduler = ", path.read_text(), re.M)}

    assert set(entrypoint_words("WORKER_QUEUES")) == taskiq_queues
    assert set(entrypoint_words("SCHEDULED_QUEUES")) == with_scheduler


@pytest.mark.parametrize("attribute", ["broker", "scheduler"])
def test_every_worker_and_scheduler_module_has_its_object(attribute: str, tmp_path: Path) -> None:
    words = entrypoint_words("WORKER_QUEUES" if attribute == "broker" else "SCHEDULED_QUEUES")
    script = (
        "import importlib, sys\n"
        "from taskiq import AsyncBroker, TaskiqScheduler\n"
        f"kind = AsyncBroker if {attribute!r} == 'broker' else TaskiqScheduler\n"
        f"for name in {words!r}:\n"
        f"    assert isinstance(getattr(importlib.import_module('workers.' + name), {attribute!r}), kind), name\n"
    )
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "ZELLY_DATA_DIR": str(tmp_path / "var")}

    completed = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    assert completed.returncode == 0, completed.stderr


def test_the_topology_is_the_production_one() -> None:
    services = compose()["services"]
    commands = {name: tuple(service["command"]) for name, service in zelly_services().items()}
    taskiq_queues = entrypoint_words("WORKER_QUEUES")

    for name, image in ENGINES.items():
        assert services[name]["image"].startswith(image)
    assert sorted(command for command in commands.values() if command[0] == "worker") == sorted(("worker", queue) for queue in taskiq_queues)
    assert sorted(command for command in commands.values() if command[0] == "scheduler") == sorted(
        ("scheduler", queue) for queue in entrypoint_words("SCHEDULED_QUEUES")
    )
    assert [name for name, command in commands.items() if command == ("consumer",)] == ["consumer"]
    assert {name for name, command in commands.items() if command[0] in ("origin", "edge", "caddy", "migrate")} == {
        *ORIGINS, "edge", "caddy", "migrate",
    }


def test_two_origins_share_one_definition_and_exactly_one_runs_the_periodic_jobs() -> None:
    services = zelly_services()
    origins = {name: service for name, service in services.items() if service["command"][0] == "origin"}

    assert sorted(origins) == list(ORIGINS)
    assert [name for name, service in origins.items() if "--no-jobs" not in service["command"]] == ["origin-a"]
    assert origins["origin-b"]["command"] == ["origin", "--no-jobs"]
    # One definition (the x-origin anchor): everything but the command is the same.
    assert {key: value for key, value in origins["origin-a"].items() if key != "command"} == {
        key: value for key, value in origins["origin-b"].items() if key != "command"
    }
    assert compose()["x-origin"]["networks"] == {"zelly": {"aliases": [ORIGIN_ALIAS]}}


def test_both_origins_answer_under_the_alias_and_nothing_else_takes_it() -> None:
    services = compose()["services"]

    def aliases(service: dict) -> list[str]:
        networks = service.get("networks") or {}
        return networks["zelly"].get("aliases", []) if isinstance(networks, dict) else []

    assert sorted(name for name, service in services.items() if ORIGIN_ALIAS in aliases(service)) == list(ORIGINS)
    assert ORIGIN_ALIAS not in services  # a service of that name would answer the alias too


def test_every_worker_scheduler_and_the_consumer_has_its_own_internal_port_and_a_livez_healthcheck() -> None:
    background = background_services()
    binds = {name: environment(service).get("ZELLY_WORKER_INTERNAL_BIND", "") for name, service in background.items()}
    ports = [port_of(bind) for bind in binds.values() if bind]

    assert len(background) == 6 + 3 + 1
    assert sorted(name for name, bind in binds.items() if not bind.startswith("0.0.0.0:")) == []
    assert len(set(ports)) == len(background)
    for name, service in background.items():
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD" and "/livez" in test[-1] and "ZELLY_WORKER_INTERNAL_BIND" in test[-1], name


def test_the_internal_ports_are_numbered_as_zelly_stack_numbers_them() -> None:
    # ops/commands/stack.py names its children "worker <queue>", "scheduler <queue>", "store-events consumer".
    topology = stack.Topology(settings=Settings(), origins=(), pool_bind="", internal_pool_bind="")
    stack_ports = {name: port_of(bind) for name, bind in topology.worker_internal_binds.items()}
    compose_ports = {}
    for service in background_services().values():
        command = service["command"]
        name = "store-events consumer" if command == ["consumer"] else " ".join(command)
        compose_ports[name] = port_of(environment(service)["ZELLY_WORKER_INTERNAL_BIND"])

    assert compose_ports == stack_ports


async def test_the_livez_healthcheck_passes_against_the_listener_on_the_port_compose_sets() -> None:
    # The healthcheck's own command, run beside a real internal listener, as Docker runs it in the container.
    command = compose()["x-internal-livez"]["test"][1:]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    check_env = {"ZELLY_WORKER_INTERNAL_BIND": f"0.0.0.0:{port}"}

    def healthcheck() -> int:
        return subprocess.run([sys.executable, *command[1:]], env=check_env, capture_output=True, timeout=60).returncode

    before = await asyncio.to_thread(healthcheck)
    listener = InternalListener(HealthEndpoints(None, Metrics("worker")), f"127.0.0.1:{port}")
    await listener.start()
    try:
        serving = await asyncio.to_thread(healthcheck)
    finally:
        await listener.stop()

    assert command[0] == "python"
    assert (before, serving) == (1, 0)


def test_the_image_runs_one_worker_process_with_the_flags_of_zelly_stack_and_systemd() -> None:
    unit = (ROOT / "ops" / "deploy" / "systemd" / "zelly-worker@.service").read_text()

    assert entrypoint_words("WORKER_FLAGS") == list(stack.WORKER_FLAGS)
    assert " ".join(stack.WORKER_FLAGS) in unit


def port_of(url_or_bind: str) -> int:
    return int(url_or_bind.rsplit(":", 1)[1].split("/", 1)[0])


def test_caddy_asks_the_origin_internal_listener_and_proxies_to_the_edge_which_forwards_to_the_origins() -> None:
    services = zelly_services()
    caddy, edge = (environment(services[name]) for name in ("caddy", "edge"))

    ask, upstream, edge_upstream = urlsplit(caddy["CADDY_ASK_URL"]), urlsplit(caddy["CADDY_UPSTREAM"]), urlsplit(edge["ZELLY_EDGE_UPSTREAM"])

    assert (upstream.hostname, upstream.port) == ("edge", port_of(edge["ZELLY_EDGE_BIND"]))
    for name in ORIGINS:
        origin = environment(services[name])
        assert (ask.hostname, ask.port, ask.path) == (ORIGIN_ALIAS, port_of(origin["ZELLY_INTERNAL_BIND"]), "/tls/ask"), name
        assert (edge_upstream.hostname, edge_upstream.port) == (ORIGIN_ALIAS, port_of(origin["ZELLY_ORIGIN_BIND"])), name
        # Caddy's storage is a volume, shared with the origins (a removed domain's certificate files).
        assert "caddy-data:/var/lib/zelly/caddy" in services[name]["volumes"], name
    assert "caddy-data:/var/lib/zelly/caddy" in services["caddy"]["volumes"]
    assert caddy["CADDY_STORAGE"] == "/var/lib/zelly/caddy"
    assert {port_of(port) for port in services["caddy"]["ports"]} == {int(caddy["ZELLY_HTTP_PORT"]), int(caddy["ZELLY_HTTPS_PORT"])}


def test_dependencies_wait_on_health_and_the_migration() -> None:
    services = compose()["services"]
    long_running = {name for name, service in zelly_services().items() if service["command"] != ["migrate"]}

    for name in ("mysql", "redis", "clickhouse", *long_running):
        assert "test" in services[name]["healthcheck"], name
    for name in long_running - {"edge", "caddy"}:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    assert services["migrate"]["depends_on"] == {
        "mysql": {"condition": "service_healthy"}, "clickhouse": {"condition": "service_healthy"},
    }
    for name in ORIGINS:
        # The origins' check is liveness (public /healthz): the internal one is 503 while any store is down.
        assert "http://127.0.0.1:8000/healthz" in str(services[name]["healthcheck"]["test"]), name
        assert services["edge"]["depends_on"][name] == {"condition": "service_healthy"}, name
        assert services["caddy"]["depends_on"][name] == {"condition": "service_healthy"}, name
    assert services["caddy"]["depends_on"]["edge"] == {"condition": "service_healthy"}
    for name in ENGINES:
        volume = services[name]["volumes"][0].split(":")[0]
        assert volume in compose()["volumes"], name


def test_the_interpolation_helper_reads_defaults_and_requirements() -> None:
    assert interpolate("${A:-x}/${B}", {"B": "b"}) == "x/b"
    assert interpolate("$$HOME", {}) == "$HOME"
    with pytest.raises(KeyError, match="A"):
        interpolate("${A:?set A}", {})


def test_the_proxies_the_edge_and_origins_trust_are_the_compose_network() -> None:
    subnet = compose()["networks"]["zelly"]["ipam"]["config"][0]["subnet"]

    for name in ("edge", *ORIGINS):
        assert environment(zelly_services()[name])["ZELLY_TRUSTED_PROXIES"] == subnet, name
