"""The import contracts in pyproject.toml ([tool.importlinter]) hold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_origin_is_checked_as_layers_top_to_bottom() -> None:
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]

    layered = [contract for contract in contracts if contract["type"] == "layers"]
    assert [contract["containers"] for contract in layered] == [["origin"]]
    names = [layer.replace(":", "|").split("|") for layer in layered[0]["layers"]]
    flat = [name.strip() for layer in names for name in layer]
    # web above the integrations above the core domains above tenancy above the kernel
    assert flat.index("web") < flat.index("shopify") < flat.index("catalog") < flat.index("tenancy") < flat.index("db")
    packages = {path.parent.name for path in (ROOT / "origin").glob("*/__init__.py")} | {
        path.stem for path in (ROOT / "origin").glob("*.py") if path.stem != "__init__"
    }
    assert sorted(set(flat)) == sorted(packages), "every module of origin sits in a layer"
