"""deploy/terraform: every file parses, module calls match the modules, and checkov finds nothing.

Terraform cannot download providers here, so `terraform validate` cannot run: python-hcl2 reads the
files and the wiring is checked against them; checkov (its own venv, `make deploy-tools`: it pins
packaging<24, which pytest 9 refuses) checks the resources.
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path

import hcl2
import pytest

from tests.deploy.compose_file import ROOT

TERRAFORM = ROOT / "deploy" / "terraform"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
OPERATIONS_DOC = ROOT / "docs" / "operations.md"
# Meta-arguments a module block may carry besides its variables.
MODULE_META = {"source", "version", "count", "for_each", "providers", "depends_on"}


@cache
def parsed(path: Path) -> dict:
    with path.open() as handle:
        return plain(hcl2.load(handle))


def plain(value: object) -> object:
    """python-hcl2 8 keeps HCL's quotes on block labels and string values and marks blocks with ``__is_block__``;
    without them the tree reads as Terraform shows it (``provider "aws"`` -> ``{"aws": {...}}``)."""
    if isinstance(value, dict):
        return {plain(key): plain(item) for key, item in value.items() if key != "__is_block__"}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def scalar(value: object) -> object:
    """python-hcl2 gives an attribute's value as a one-element list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def module_source(directory: Path, call: dict) -> Path:
    return (directory / str(scalar(call["source"]))).resolve()


def directories() -> list[Path]:
    return sorted({path.parent for path in TERRAFORM.rglob("*.tf")})


def blocks(directory: Path, kind: str) -> list[dict]:
    return [block for path in sorted(directory.glob("*.tf")) for block in parsed(path).get(kind, [])]


def declared_variables(directory: Path) -> dict[str, dict]:
    return {name: body for block in blocks(directory, "variable") for name, body in block.items()}


def declared_outputs(directory: Path) -> set[str]:
    return {name for block in blocks(directory, "output") for name in block}


def module_calls(directory: Path) -> dict[str, dict]:
    return {name: body for block in blocks(directory, "module") for name, body in block.items()}


def test_every_file_parses_and_every_module_has_variables_and_outputs() -> None:
    files = sorted(TERRAFORM.rglob("*.tf"))
    for path in files:
        parsed(path)
    modules = sorted(path.name for path in (TERRAFORM / "modules").iterdir())

    assert len(files) >= 30
    assert modules == ["aurora", "bastion", "ci", "clickhouse", "ecs", "platform", "redis", "secrets", "vpc"]
    for name in modules:
        assert declared_outputs(TERRAFORM / "modules" / name), name
        assert all("description" in body for body in declared_variables(TERRAFORM / "modules" / name).values()), name
    assert sorted(path.name for path in (TERRAFORM / "environments").iterdir()) == ["production", "staging"]


def test_the_environments_are_in_their_regions() -> None:
    regions = {name: scalar(blocks(TERRAFORM / "environments" / name, "provider")[0]["aws"]["region"]) for name in ("staging", "production")}

    assert regions == {"staging": "ap-southeast-1", "production": "ap-south-1"}


@pytest.mark.parametrize("directory", directories(), ids=lambda path: str(path.relative_to(TERRAFORM)))
def test_every_module_call_passes_declared_variables_and_every_required_one(directory: Path) -> None:
    for name, call in module_calls(directory).items():
        target = module_source(directory, call)
        variables = declared_variables(target)
        passed = {key for key in call if not key.startswith("__")} - MODULE_META
        required = {variable for variable, body in variables.items() if "default" not in body}

        assert passed - set(variables) == set(), f"{name}: not declared by {target.name}"
        assert required - passed == set(), f"{name}: required by {target.name} and not passed"


REFERENCE = re.compile(r"module\.([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)")


@pytest.mark.parametrize("directory", directories(), ids=lambda path: str(path.relative_to(TERRAFORM)))
def test_every_referenced_module_output_exists(directory: Path) -> None:
    calls = module_calls(directory)
    text = "\n".join(path.read_text() for path in directory.glob("*.tf"))
    missing = []
    for module, output in REFERENCE.findall(text):
        assert module in calls, f"module.{module} is not called in {directory.name}"
        if output not in declared_outputs(module_source(directory, calls[module])):
            missing.append(f"module.{module}.{output}")

    assert missing == []


def test_the_wiring_check_catches_an_undeclared_variable(tmp_path: Path) -> None:
    (tmp_path / "child").mkdir()
    (tmp_path / "child" / "variables.tf").write_text('variable "name" {\n  type = string\n}\n')
    (tmp_path / "main.tf").write_text('module "child" {\n  source = "./child"\n  nmae = "x"\n}\n')
    call = module_calls(tmp_path)["child"]

    passed = {key for key in call if not key.startswith("__")} - MODULE_META

    assert passed - set(declared_variables(module_source(tmp_path, call))) == {"nmae"}


def test_the_ecs_module_runs_every_compose_process() -> None:
    from tests.deploy.compose_file import entrypoint_words

    ecs = (TERRAFORM / "modules" / "ecs" / "main.tf").read_text()

    assert re.findall(r'worker_queues\s*=\s*\[([^\]]*)\]', ecs)[0].replace('"', "").replace(",", " ").split() == entrypoint_words("WORKER_QUEUES")
    assert re.findall(r'scheduled_queues\s*=\s*\[([^\]]*)\]', ecs)[0].replace('"', "").replace(",", " ").split() == entrypoint_words("SCHEDULED_QUEUES")
    for command in ('["origin"]', '["edge"]', '["caddy"]', '["consumer"]', '["migrate"]'):
        assert command in ecs, command


@pytest.fixture(scope="session")
def checkov_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    # One run for the session, scoped to deploy/terraform and the Terraform framework (a full run is slow).
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make deploy-tools` (make test does)"
    completed = subprocess.run(
        [str(CHECKOV), "--directory", str(TERRAFORM), "--framework", "terraform", "--output", "json", "--compact",
         "--skip-download"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path_factory.mktemp("checkov"),
    )
    assert completed.returncode in (0, 1), completed.stderr
    report = json.loads(completed.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_finds_nothing(checkov_report: dict) -> None:
    failed = [f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}" for check in checkov_report["results"]["failed_checks"]]

    assert checkov_report["summary"]["passed"] > 200
    assert failed == []


def test_every_checkov_exemption_has_a_reason_and_is_listed_in_the_docs(checkov_report: dict) -> None:
    skips = re.findall(r"checkov:skip=(CKV2?_AWS_\d+):?(.*)", "\n".join(path.read_text() for path in TERRAFORM.rglob("*.tf")))
    listed = set(re.findall(r"`(CKV2?_AWS_\d+)`", OPERATIONS_DOC.read_text()))

    assert skips
    assert all(len(reason.strip()) > 20 for _, reason in skips)
    assert {check_id for check_id, _ in skips} - listed == set()
    assert {check["check_id"] for check in checkov_report["results"]["skipped_checks"]} <= {check_id for check_id, _ in skips}


def test_every_variable_the_terraform_gives_a_process_is_a_documented_setting() -> None:
    import dataclasses

    from origin.settings import Settings

    text = "\n".join(path.read_text() for path in TERRAFORM.rglob("*.tf"))
    named = set(re.findall(r"\b((?:ZELLY|CADDY)_[A-Z0-9_]+)\b", text))
    settings = {f"ZELLY_{spec.name.upper()}" for spec in dataclasses.fields(Settings)}
    documented = set(re.findall(r"`((?:ZELLY|CADDY)_[A-Z0-9_]+)`", (ROOT / "docs" / "configuration.md").read_text()))

    assert {"ZELLY_DATABASE_URL", "ZELLY_REDIS_URL", "ZELLY_ANALYTICS_URL", "CADDY_ASK_URL"} <= named
    assert {name for name in named if name.startswith("ZELLY_")} - settings == set()
    assert named - documented == set()


# -- the ECS module's processes: one origin runs the periodic jobs; every background process is health-checked

ECS = TERRAFORM / "modules" / "ecs"
# A service's task_definition: aws_ecs_task_definition.<name>, ["<key>"] or [each.key] after a for_each one.
TASK_DEFINITION_REFERENCE = re.compile(r'\$\{aws_ecs_task_definition\.(\w+)(?:\[(?:"([\w-]+)"|each\.key)\])?\.arn\}')


def ecs_locals() -> dict:
    return {name: value for block in blocks(ECS, "locals") for name, value in block.items()}


def ecs_resources(kind: str) -> dict[str, dict]:
    return {name: body for block in blocks(ECS, "resource") for name, body in block.get(kind, {}).items()}


def test_exactly_one_ecs_task_runs_the_origin_without_no_jobs() -> None:
    # As compose's origin-a and zelly stack's origin a: two origins running the jobs would check every domain twice.
    origins = ecs_locals()["origins"]
    definitions = ecs_resources("aws_ecs_task_definition")
    services = ecs_resources("aws_ecs_service")
    runs = {name: TASK_DEFINITION_REFERENCE.fullmatch(str(scalar(body["task_definition"]))).groups() for name, body in services.items()}

    with_jobs = [key for key, origin in origins.items() if "--no-jobs" not in origin["command"]]
    jobs_services = [name for name, (definition, key) in runs.items() if definition == "origin" and key in with_jobs]

    assert scalar(definitions["origin"]["for_each"]) == "${local.origins}"
    assert origins == {"origin": {"command": ["origin", "--no-jobs"]}, "origin-jobs": {"command": ["origin"]}}
    assert with_jobs == ["origin-jobs"] and jobs_services == ["origin_jobs"]
    jobs = services["origin_jobs"]
    assert (scalar(jobs["name"]), scalar(jobs["desired_count"])) == ("origin-jobs", 1)
    # Replaced stop-first, as the schedulers are, so a deploy never runs two; and it serves no traffic.
    assert (scalar(jobs["deployment_minimum_healthy_percent"]), scalar(jobs["deployment_maximum_percent"])) == (0, 100)
    assert "service_connect_configuration" not in jobs
    assert runs["origin"] == ("origin", "origin") and "service_connect_configuration" in services["origin"]
    # No other task definition runs the origin at all.
    others = {name: str(scalar(body["container_definitions"])) for name, body in definitions.items() if name != "origin"}
    assert [name for name, text in others.items() if re.search(r'command = \["origin"', text)] == []
    # The deploy updates it too: task definition families are <cluster>-<service> (.github/workflows/deploy.yml).
    assert scalar(definitions["origin"]["family"]) == "${var.name}-${each.key}"
    assert "aws_ecs_service.origin_jobs.name" in (ECS / "outputs.tf").read_text()


def test_every_ecs_worker_scheduler_and_the_consumer_has_its_internal_port_and_the_compose_livez_check() -> None:
    from tests.deploy.compose_file import compose, entrypoint_words, environment
    from tests.deploy.test_compose import background_services

    local = ecs_locals()
    background = ecs_resources("aws_ecs_task_definition")["background"]
    container = str(scalar(background["container_definitions"]))
    services = ({f"worker-{queue.replace('_', '-')}" for queue in entrypoint_words("WORKER_QUEUES")}
                | {f"scheduler-{queue.replace('_', '-')}" for queue in entrypoint_words("SCHEDULED_QUEUES")} | {"consumer"})
    compose_ports = {name: int(environment(service)["ZELLY_WORKER_INTERNAL_BIND"].rsplit(":", 1)[1])
                     for name, service in background_services().items()}
    compose_check = compose()["x-internal-livez"]

    assert scalar(background["for_each"]) == "${local.background}"
    assert set(local["internal_ports"]) == services
    # Compose's numbering, which is zelly stack's (tests/deploy/test_compose.py), so clear of every setting's default.
    assert local["internal_ports"] == compose_ports
    assert '{name = "ZELLY_WORKER_INTERNAL_BIND", value = "0.0.0.0:${local.internal_ports[each.key]}"}' in container
    assert "healthCheck = local.internal_livez" in container
    # The command compose runs (tested there against a real listener), on ECS's integer seconds.
    livez = local["internal_livez"]
    assert livez["command"] == compose_check["test"]
    assert {key: f"{livez[key]}s" for key in ("interval", "timeout")} == {"interval": compose_check["interval"], "timeout": compose_check["timeout"]}
    assert (livez["retries"], f"{livez['startPeriod']}s") == (compose_check["retries"], compose_check["start_period"])
    # migrate exits once its work is done: no listener, no health check.
    migrate = str(scalar(ecs_resources("aws_ecs_task_definition")["migrate"]["container_definitions"]))
    assert "healthCheck" not in migrate and 'command = ["migrate"]' in migrate
