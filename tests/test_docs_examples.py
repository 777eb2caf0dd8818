"""The docs' examples are run against the real thing (issue 20, item 5), as configuration.md's table is.

Two kinds of fenced block in ``docs/*.md`` and ``README.md`` are executable:

- ```` ```http checked ```` (or ``checked internal`` for the internal listener):
  a request (method and path, then headers; a blank line and a body if it has
  one), a blank line, the response's
  status line and the headers it must carry, exactly (``(absent)``: it must not
  be there). The request runs on the
  real app over a small world: the stores of tests/storefront/shops.py (acme
  and nordic, with a linen shirt), nordic's active primary domain
  ``nordic.example.test``, and ``gone.example.test``, which acme added,
  verified and removed. ``{acme_token}`` stands for acme's API token.
- ```` ```console checked ````: ``$ zelly …`` commands run in order in one fresh
  data directory; each command's output (stdout then stderr) must match the
  lines after it, where ``…`` in a line stands for any text and a line that is
  only ``…`` for any number of lines.

A fenced ``http`` block that is not marked fails the test: every HTTP example
in the docs is either checked or rewritten as prose.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from origin.domains import actions as domain_actions
from tests.storefront.shops import two_shops
from tests.test_cli import zelly
from tests.tls.conftest import DNS_TARGET, PLATFORM_IPV4, PLATFORM_IPV6, dns_server  # noqa: F401  (fixture)
from tests.tls.factories import pointed_at_platform, running_apps
from origin.tenancy.actions import do_issue_api_token

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    document: str
    line: int
    info: str
    body: str

    def __str__(self) -> str:
        return f"{self.document}:{self.line}"


def examples(kind: str) -> list[Example]:
    found = []
    for path in DOCUMENTS:
        text = path.read_text()
        for match in FENCE.finditer(text):
            words = match["info"].split()
            if words[:1] == [kind]:
                found.append(Example(path.name, text.count("\n", 0, match.start()) + 1, " ".join(words[1:]), match["body"]))
    return found


HTTP_EXAMPLES = examples("http")
CONSOLE_EXAMPLES = [example for example in examples("console") if example.info.startswith("checked")]


def test_every_http_example_is_checked_and_there_are_some() -> None:
    unchecked = [str(example) for example in HTTP_EXAMPLES if not example.info.startswith("checked")]

    assert unchecked == []
    assert len(HTTP_EXAMPLES) >= 10
    assert {example.document for example in HTTP_EXAMPLES} >= {"storefront.md", "custom-domains.md", "api.md"}


@pytest.fixture
def settings(settings, dns_server):  # noqa: F811
    return settings.replace(
        dns_resolvers=(dns_server.address,), dns_target=DNS_TARGET, platform_ips=(PLATFORM_IPV4, PLATFORM_IPV6)
    )


async def _world(services, dns_server) -> dict[str, str]:  # noqa: F811
    acme, nordic = await two_shops(services)
    primary = await domain_actions.do_add_domain(services, nordic.tenant.id, "nordic.example.test")
    gone = await domain_actions.do_add_domain(services, acme.tenant.id, "gone.example.test")
    dns_server.serve(pointed_at_platform({primary.hostname: primary.verification_token, gone.hostname: gone.verification_token}))
    await domain_actions.do_verify_domain(services, nordic.tenant.id, primary.id)
    await domain_actions.do_verify_domain(services, acme.tenant.id, gone.id)
    await domain_actions.do_remove_domain(services, acme.tenant.id, gone.id)
    return {"acme_token": (await do_issue_api_token(services, acme.tenant.id)).token}


def _parse_http(body: str, values: dict[str, str]) -> tuple[str, str, dict[str, str], bytes, int, dict[str, str | None]]:
    for name, value in values.items():
        body = body.replace("{" + name + "}", value)
    request, *middle, response = body.strip().split("\n\n")
    request_line, *request_headers = request.splitlines()
    method, target = request_line.split()[:2]
    status_line, *response_headers = response.splitlines()
    headers = dict(line.split(": ", 1) for line in request_headers)
    expected = {name: (None if value == "(absent)" else value) for name, value in (line.split(": ", 1) for line in response_headers)}
    return method, target, headers, "\n\n".join(middle).encode(), int(status_line.split()[1]), expected


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_http_examples_answer_as_documented(services, dns_server) -> None:  # noqa: F811
    values = await _world(services, dns_server)
    mismatches = []
    async with running_apps(services) as (public, internal):
        for example in HTTP_EXAMPLES:
            method, target, headers, data, status, expected = _parse_http(example.body, values)
            client = internal if "internal" in example.info.split() else public
            response = await client.open(target, method=method, headers=headers, data=data)
            got = {name: _comparable(name, response.headers.get(name)) for name in expected}
            expected = {name: _comparable(name, value) for name, value in expected.items()}
            if response.status_code != status or got != expected:
                mismatches.append((str(example), response.status_code, got))

    assert mismatches == []


def _comparable(name: str, value: str | None) -> str | None:
    # Werkzeug lists the allowed methods from a set: their order changes with the hash seed.
    if name.lower() == "allow" and value is not None:
        return ", ".join(sorted(method.strip() for method in value.split(",")))
    return value


@pytest.mark.parametrize("example", CONSOLE_EXAMPLES, ids=str)
def test_console_examples_print_what_the_docs_show(example: Example, tmp_path: Path) -> None:
    for command, expected in _console_steps(example.body):
        result = zelly(tmp_path, *shlex.split(command)[1:])
        output = (result.stdout + result.stderr).splitlines()

        assert _matches(expected, output), (str(example), command, output)


def _console_steps(body: str) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    assert steps and all(command.startswith("zelly ") for command, _ in steps)
    return steps


def _matches(expected: list[str], output: list[str]) -> bool:
    pattern = "".join(
        r"(?:[^\n]*\n)*" if line == "…" else ".+".join(map(re.escape, line.split("…"))) + r"\n" for line in expected
    )
    return re.fullmatch(pattern, "".join(line + "\n" for line in output)) is not None


def test_the_console_matcher_is_strict() -> None:
    assert _matches(["a: …", "…", "z"], ["a: 1", "b", "c", "z"])
    assert not _matches(["a: …"], ["a: "])
    assert not _matches(["a"], ["a", "b"])
