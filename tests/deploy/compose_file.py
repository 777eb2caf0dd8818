"""deploy/compose.yaml as the tests read it: parsed, its ${...} interpolated, its Zelly services picked out."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_PATH = ROOT / "deploy" / "compose.yaml"
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"

# Values for the variables compose.yaml requires (${VAR:?...}): strong enough for Settings' checks.
REQUIRED_VALUES = {
    "MYSQL_ROOT_PASSWORD": "Rk9vP2mQ7xL4tW8zN3cB6yD1",
    "MYSQL_PASSWORD": "Vq7pL2xN9kR4tW8zJ5hG3fD6",
    "CLICKHOUSE_PASSWORD": "Cz3kM8wQ1vN6pL4xT9rB2yH7",
    "ZELLY_SECRET_KEY": "k3Jq9vX2pL7mN4rT8wY1zB6cD0fG5hS2aE9uI7oP",
    "ZELLY_INTERNAL_TOKEN": "Pq8Wn3Lz7Xc2Vb6Nm1Kj5Hg9Fd4Sa0Qe",
}

INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


@cache
def compose() -> dict:
    return yaml.safe_load(COMPOSE_PATH.read_text())


def interpolation_names() -> set[str]:
    return {match["name"] for match in INTERPOLATION.finditer(COMPOSE_PATH.read_text())}


def interpolate(value: str, values: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}, enough for this file."""

    def replace(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if values.get(name):
            return values[name]
        if op in (":?", "?"):
            raise KeyError(f"compose.yaml requires {name}: {arg}")
        return arg or ""

    return INTERPOLATION.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def is_zelly_image(service: dict) -> bool:
    return "build" in service and service["build"].get("dockerfile") == "Dockerfile"


def zelly_services() -> dict[str, dict]:
    return {name: service for name, service in compose()["services"].items() if is_zelly_image(service)}


def environment(service: dict, values: dict[str, str] = REQUIRED_VALUES) -> dict[str, str]:
    raw = service.get("environment") or {}
    return {name: interpolate(str(value), values) for name, value in raw.items()}


def entrypoint_words(variable: str) -> list[str]:
    """A VAR="a b c" assignment of deploy/entrypoint.sh, split."""
    match = re.search(rf'^{variable}="([^"]*)"$', ENTRYPOINT.read_text(), re.MULTILINE)
    assert match, f"{variable} is not assigned in {ENTRYPOINT}"
    return match[1].split()
