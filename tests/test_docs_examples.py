"""The docs' examples are run against the real thing (issue 20, item 5), as configuration.md's table is.

Two kinds of fenced block in ``docs/*.md`` and ``README.md`` are executable:

- ```` ```http checked ```` (or ``checked internal`` for the internal listener):
  a request (method and path, then headers; a blank line and a body if it has
  one), a blank line, the response's
  status line and the headers it must carry, exactly (``(absent)``: it must not
  be there; ``…`` in a value stands for any text). The request runs on the
  real app over a small world: the stores of tests/storefront/shops.py (acme
  and nordic, with a linen shirt), nordic's active primary domain
  ``nordic.example.test``, and ``gone.example.test``, which acme added,
  verified and removed; and ``closed``, a suspended store. ``{acme_token}`` and
  ``{closed_token}`` stand for their API tokens, ``{acme_mug_variant}`` for the
  id of acme's mug's one variant.
- ```` ```console checked ````: ``$ zelly …`` commands (optionally after
  ``ZELLY_…=value`` assignments) run in order in one fresh data directory; each command's output (stdout then stderr) must match the
  lines after it, where ``…`` in a line stands for any text and a line that is
  only ``…`` for any number of lines.

A fenced ``http`` block that is not marked fails the test, and so does a status
line (``HTTP/1.1 404``) in any other fenced block: every HTTP example in the docs
is either checked or rewritten as prose. Prose that quotes a status or header
which one request cannot show (a replay needs two) has its own test below,
naming the doc line it checks.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from origin.domains import actions as domain_actions
from tests.storefront.shops import two_shops
from tests.test_cli import zelly_env
from tests.tls.conftest import DNS_TARGET, PLATFORM_IPV4, PLATFORM_IPV6, dns_server  # noqa: F401  (fixture)
from tests.tls.factories import pointed_at_platform, running_apps
from origin.tenancy.actions import do_issue_api_token, do_suspend_tenant
from tests.factories import make_tenant

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    document: str
    line: int
    kind: str
    info: str
    body: str

    def __str__(self) -> str:
        return f"{self.document}:{self.line}"


def examples(kind: str | None, documents: list[Path] = DOCUMENTS) -> list[Example]:
    """The fenced blocks of one kind (``None``: every fenced block, whatever its info string)."""
    found = []
    for path in documents:
        text = path.read_text()
        for match in FENCE.finditer(text):
            words = match["info"].split() or [""]
            if kind is None or words[0] == kind:
                line = text.count("\n", 0, match.start()) + 1
                found.append(Example(path.name, line, words[0], " ".join(words[1:]), match["body"]))
    return found


HTTP_EXAMPLES = examples("http")
CONSOLE_EXAMPLES = [example for example in examples("console") if example.info.startswith("checked")]


STATUS_LINE = re.compile(r"^HTTP/\d(?:\.\d)? \d{3}\b", re.MULTILINE)


def test_every_http_example_is_checked_and_there_are_some() -> None:
    unchecked = [str(example) for example in HTTP_EXAMPLES if not example.info.startswith("checked")]
    status_lines_elsewhere = [
        str(example) for example in examples(None) if example.kind != "http" and STATUS_LINE.search(example.body)
    ]

    assert unchecked == []
    assert status_lines_elsewhere == []
    assert len(HTTP_EXAMPLES) >= 30
    assert {example.document for example in HTTP_EXAMPLES} >= {
        "storefront.md", "custom-domains.md", "api.md", "runbook.md", "analytics.md", "email.md"
    }
    assert {_parse_http(example.body, {})[4] for example in HTTP_EXAMPLES} >= {
        200, 202, 308, 400, 401, 403, 404, 405, 409, 410, 413, 415, 421, 422, 503
    }


def test_the_unchecked_block_finder_sees_a_status_line_in_any_fence(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("Text.\n\n```\nHTTP/1.1 404 Not Found\n```\n\n```http\nGET / HTTP/1.1\n```\n")

    found = examples(None, [page])

    assert [(example.kind, bool(STATUS_LINE.search(example.body))) for example in found] == [("", True), ("http", False)]


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
    closed = await make_tenant(services, slug="closed", name="Closed Store")
    closed_token = (await do_issue_api_token(services, closed.id)).token
    await do_suspend_tenant(services, closed.id)
    return {
        "acme_token": (await do_issue_api_token(services, acme.tenant.id)).token,
        "closed_token": closed_token,
        "acme_mug_variant": str(acme.mug.variants[0].id),
    }


FROM_CADDY = {"client": ("127.0.0.1", 41000)}


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
            # From loopback, as Caddy connects: X-Zelly-SNI is believed only from there.
            response = await client.open(target, method=method, headers=headers, data=data, scope_base=FROM_CADDY)
            got = {name: _comparable(name, response.headers.get(name)) for name in expected}
            expected = {name: _comparable(name, value) for name, value in expected.items()}
            if response.status_code != status or not _headers_match(expected, got):
                mismatches.append((str(example), response.status_code, got))

    assert mismatches == []


def _headers_match(expected: dict[str, str | None], got: dict[str, str | None]) -> bool:
    """Exact values, where ``…`` in an expected value stands for any text (an id the example cannot know)."""
    return all(
        (want is None and have is None) or (want is not None and have is not None and _matches([want], [have]))
        for (want, have) in ((expected[name], got[name]) for name in expected)
    )


def _comparable(name: str, value: str | None) -> str | None:
    # Werkzeug lists the allowed methods from a set: their order changes with the hash seed.
    if name.lower() == "allow" and value is not None:
        return ", ".join(sorted(method.strip() for method in value.split(",")))
    return value


# One Python process per example runs its commands in turn through ops.cli.main, the
# entry point `zelly` is: importing the CLI costs seconds, paid once per example
# rather than once per command (keeps this file under a minute on a busy machine).
CONSOLE_DRIVER = """
import contextlib, io, json, logging, os, sys
from ops.cli import main
base = dict(os.environ)
results = []
for argv, assignments in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(base, **assignments)
    logging.getLogger().handlers.clear()  # basicConfig binds the stderr of the command that calls it
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:
            code = exit.code
    results.append({"output": out.getvalue() + err.getvalue(), "code": code})
print(json.dumps(results))
"""


@pytest.mark.parametrize("example", CONSOLE_EXAMPLES, ids=str)
def test_console_examples_print_what_the_docs_show(example: Example, tmp_path: Path) -> None:
    steps = _console_steps(example.body)
    commands = []
    for command, _ in steps:
        words = shlex.split(command)
        assignments = dict(word.split("=", 1) for word in words if re.fullmatch(r"ZELLY_\w+=.*", word))
        commands.append((words[len(assignments) + 1 :], assignments))
    driver = subprocess.run(
        [sys.executable, "-c", CONSOLE_DRIVER],
        input=json.dumps(commands),
        cwd=tmp_path,
        env=zelly_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert driver.returncode == 0, driver.stderr
    for (command, expected), result in zip(steps, json.loads(driver.stdout.splitlines()[-1]), strict=True):
        output = result["output"].splitlines()

        assert _matches(expected, output), (str(example), command, output)


def _console_steps(body: str) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    assert steps and all(re.match(r"(?:ZELLY_\w+=\S* )*zelly ", command) for command, _ in steps)
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


def _doc_line(document: str, quoted: str) -> str:
    """``document:line`` of the one line quoting ``quoted``: the test breaks when the doc stops saying it."""
    lines = [number for number, line in enumerate((ROOT / "docs" / document).read_text().splitlines(), 1) if quoted in line]
    assert len(lines) == 1, (document, quoted, lines)
    return f"{document}:{lines[0]}"


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_prose_statuses_and_headers_that_take_two_requests(services, dns_server) -> None:  # noqa: F811
    values = await _world(services, dns_server)
    bearer = {"Authorization": f"Bearer {values['acme_token']}", "Idempotency-Key": "docs-replay-1"}
    async with running_apps(services) as (public, _):
        # api.md, Idempotency-Key: the same key and body replays the first answer, another body is a 409.
        replayed_line = _doc_line("api.md", "`Idempotent-Replayed: true`")
        first = await public.post("/api/v1/domains", headers={**bearer, "Host": "localhost"}, json={"hostname": "shop.example.com"})
        again = await public.post("/api/v1/domains", headers={**bearer, "Host": "localhost"}, json={"hostname": "shop.example.com"})
        other = await public.post("/api/v1/domains", headers={**bearer, "Host": "localhost"}, json={"hostname": "other.example.com"})

        assert (first.status_code, first.headers.get("Idempotent-Replayed")) == (201, None), replayed_line
        assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, "true"), replayed_line
        assert await again.get_json() == await first.get_json(), replayed_line
        assert (other.status_code, (await other.get_json())["error"]["code"]) == (409, "idempotency_key_reused"), _doc_line(
            "api.md", "is 409. Keys belong to one store."
        )

        # storefront.md, caching: a strong ETag, and 304 on If-None-Match.
        etag_line = _doc_line("storefront.md", "a strong `ETag` (304 on")
        page = await public.get("/products/linen-shirt", headers={"Host": "acme.localhost"})
        etag = page.headers["ETag"]
        revalidated = await public.get("/products/linen-shirt", headers={"Host": "acme.localhost", "If-None-Match": etag})

        assert etag.startswith('"') and not etag.startswith("W/"), etag_line
        assert (revalidated.status_code, await revalidated.get_data()) == (304, b""), etag_line

        # email.md, email templates: a PUT that does not compile is a 422 naming the part and the line.
        quoted_line = _doc_line("email.md", '`{"path": "html", "code": "invalid_email_template",')
        quoted = json.loads(re.search(r'`(\{"path".*?\})`', _doc_paragraph("email.md", quoted_line)).group(1))
        refused = await public.put(
            "/api/v1/email-templates/order_confirmation",
            headers={"Host": "localhost", "Authorization": bearer["Authorization"]},
            json={"subject": "Your order", "text": "Thanks", "html": "<p>\n</p>\n{{ } }}"},
        )

        assert (refused.status_code, (await refused.get_json())["error"]["fields"]) == (422, [quoted]), quoted_line


def _doc_paragraph(document: str, line: str) -> str:
    """The paragraph holding ``document:line``, joined into one line (a quote may wrap)."""
    lines = (ROOT / "docs" / document).read_text().splitlines()
    number = int(line.rsplit(":", 1)[1]) - 1
    start, end = number, number
    while start > 0 and lines[start - 1].strip():
        start -= 1
    while end + 1 < len(lines) and lines[end + 1].strip():
        end += 1
    return " ".join(lines[start : end + 1])


def test_the_readme_lists_every_zelly_command() -> None:
    from ops.cli import build_parser

    commands = next(action for action in build_parser()._subparsers._group_actions).choices
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## The `zelly` command") : readme.index("## Workers")]
    listed = set(re.findall(r"^\| `zelly (\w+)", table, re.MULTILINE))

    assert listed == set(commands)
