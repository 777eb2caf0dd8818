"""The ports `zelly stack` picks itself stay clear of every setting's default (issue 19 follow-up).

With the background listeners at 8020-8029, the checkout_sweeps worker listened on 8025, ZELLY_SMTP_PORT's
default, and the email outbox would have sent its mail to that HTTP listener; the pool on 8004 was
ZELLY_WORKER_INTERNAL_BIND's default. The defaults are read from Settings, so a new setting is checked too.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

import pytest

from ops.cli import build_parser
from ops.commands.stack import stack_listeners, stack_topology
from ops.ports import refuse_a_client_of_our_listener
from origin.settings import ConfigurationError, Settings, parse_bind


def default_ports() -> dict[int, list[str]]:
    """Port -> the variables whose default names it: ``*_port`` numbers, ``*_bind`` addresses, URLs with a port."""
    ports: dict[int, list[str]] = {}
    for spec in dataclasses.fields(Settings):
        value, variable = spec.default, f"ZELLY_{spec.name.upper()}"
        port = None
        if isinstance(value, int) and not isinstance(value, bool) and spec.name.endswith("_port"):
            port = value
        elif isinstance(value, str) and spec.name.endswith("_bind"):
            port = parse_bind(value, variable)[1]
        elif isinstance(value, str) and "://" in value:
            port = urlsplit(value).port
        if port is not None:
            ports.setdefault(port, []).append(variable)
    return ports


def stack_own_ports(*flags: str) -> dict[str, int]:
    """What `zelly stack <flags>` listens on beyond the settings' own listeners: "flag host:port" -> port."""
    args = build_parser().parse_args(["stack", *flags])
    listeners = stack_listeners(args, stack_topology(args, Settings()))
    return {f"{variable} {bind}": parse_bind(bind, variable)[1] for variable, bind, _ in listeners if variable.startswith("--")}


def clashes(own: dict[str, int]) -> dict[str, list[str]]:
    defaults = default_ports()
    return {listener: defaults[port] for listener, port in own.items() if port in defaults}


def test_the_defaults_are_read_from_settings() -> None:
    ports = default_ports()

    assert ports[8025] == ["ZELLY_SMTP_PORT"]
    assert ports[8004] == ["ZELLY_WORKER_INTERNAL_BIND"]
    assert ports[2019] == ["ZELLY_CADDY_ADMIN_URL"]
    assert sorted(ports[8000]) == ["ZELLY_EDGE_UPSTREAM", "ZELLY_ORIGIN_BIND"]
    assert {8001, 8002, 8003, 8080, 8443} <= set(ports)


def test_no_port_the_stack_picks_is_a_settings_default() -> None:
    own = stack_own_ports()
    args = build_parser().parse_args(["stack"])
    every_listener = [bind for _, bind, _ in stack_listeners(args, stack_topology(args, Settings()))]

    assert len(own) == 4 + 10  # origin b's two, the two pools; six workers, three schedulers, the consumer
    assert clashes(own) == {}
    assert len({parse_bind(bind)[1] for bind in every_listener}) == len(every_listener)


def test_the_old_numbering_is_caught() -> None:
    # Given the ports these had before: the workers from 8020, the public pool on 8004
    own = stack_own_ports("--first-worker-internal-port", "8020", "--pool-bind", "127.0.0.1:8004")

    found = clashes(own)

    assert found == {"--first-worker-internal-port 127.0.0.1:8025": ["ZELLY_SMTP_PORT"],
                     "--pool-bind 127.0.0.1:8004": ["ZELLY_WORKER_INTERNAL_BIND"]}


LISTENERS = [("--first-worker-internal-port", "127.0.0.1:8035", "8030"), ("--pool-bind", "10.0.0.5:8012", "10.0.0.5:8012")]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_a_loopback_server_on_one_of_our_ports_is_refused(host: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        refuse_a_client_of_our_listener("ZELLY_SMTP_PORT", host, 8035, LISTENERS)

    assert raised.value.variable == "ZELLY_SMTP_PORT"
    assert raised.value.problem == (
        f"{host}:8035 is one of this command's own listeners (--first-worker-internal-port=8030 listens on 127.0.0.1:8035), "
        "not a server to dial; set ZELLY_SMTP_PORT to that server's port or --first-worker-internal-port to another")


def test_a_server_elsewhere_or_on_another_port_is_not_ours() -> None:
    refuse_a_client_of_our_listener("ZELLY_SMTP_PORT", "smtp.example.com", 8035, LISTENERS)
    refuse_a_client_of_our_listener("ZELLY_SMTP_PORT", "127.0.0.1", 8036, LISTENERS)
    refuse_a_client_of_our_listener("ZELLY_SMTP_PORT", "127.0.0.1", 8012, LISTENERS)  # the pool listens on 10.0.0.5 only
