"""docs/operations.md's service catalog names every process compose.yaml runs, and only documented variables."""

from __future__ import annotations

import re

from tests.deploy.compose_file import ROOT, zelly_services

OPERATIONS_DOC = ROOT / "docs" / "operations.md"
CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"


def catalog() -> str:
    text = OPERATIONS_DOC.read_text()
    start = text.index("## Service catalog")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def catalog_rows() -> dict[str, str]:
    """First column's process name -> the row's command column."""
    rows = {}
    for line in catalog().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.match(r"\*\*([a-z-]+)", cells[0]) if len(cells) > 2 else None
        if match:
            rows[match[1].removesuffix("-")] = cells[1].strip("`")
    return rows


def test_every_process_kind_of_compose_has_a_row() -> None:
    kinds = {service["command"][0] for service in zelly_services().values()}
    rows = catalog_rows()

    assert {command.split()[0] for command in rows.values()} == kinds
    assert set(rows) == {"caddy", "edge", "origin", "worker", "scheduler", "consumer", "migrate"}


def test_every_variable_the_catalog_names_is_documented() -> None:
    named = set(re.findall(r"`((?:ZELLY|CADDY)_[A-Z0-9_]+)`", catalog()))
    documented = set(re.findall(r"`((?:ZELLY|CADDY)_[A-Z0-9_]+)`", CONFIGURATION_DOC.read_text()))

    assert len(named) > 40
    assert named - documented == set()
