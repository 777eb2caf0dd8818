"""Zelly runs on Python 3.13: the suite's interpreter, and how `make` finds one (ops/find-python.sh)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIND = ROOT / "ops" / "find-python.sh"


def test_the_suite_runs_on_python_3_13_or_newer() -> None:
    assert sys.version_info >= (3, 13)


def test_find_python_names_what_to_install_when_there_is_no_3_13(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"  # the tools the script uses, and no python at all
    empty_bin.mkdir()
    for tool in ("ls", "sort"):
        (empty_bin / tool).symlink_to(shutil.which(tool))

    result = subprocess.run(
        ["/bin/bash", str(FIND)], env={"PATH": str(empty_bin), "PYENV_ROOT": str(tmp_path / "pyenv"), "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=30,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: Zelly needs Python 3.13 or newer: none on PATH or in pyenv (install python3.13, or 'pyenv install 3.13')"
    ]


def test_find_python_finds_a_pyenv_3_13_when_path_has_none(tmp_path: Path) -> None:
    interpreter = Path(sys.executable).resolve()
    version_dir = tmp_path / "pyenv" / "versions" / "3.13.9" / "bin"
    version_dir.mkdir(parents=True)
    (version_dir / "python3").symlink_to(interpreter)
    old = tmp_path / "bin"
    old.mkdir()
    (old / "python3").write_text("#!/bin/sh\nexit 1\n")  # an interpreter that is not 3.13
    (old / "python3").chmod(0o755)
    for tool in ("ls", "sort"):
        (old / tool).symlink_to(shutil.which(tool))

    result = subprocess.run(
        ["/bin/bash", str(FIND)], env={"PATH": str(old), "PYENV_ROOT": str(tmp_path / "pyenv"), "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=30,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(version_dir / "python3")
