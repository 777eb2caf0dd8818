"""The ``zelly`` command.

Each sub-command is a small async function taking the parsed arguments and the
Settings; ``main`` builds Settings once, turns configuration mistakes into one
line on stderr (exit 2) and domain errors into their message (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Awaitable, Callable

from origin.errors import ZellyError
from observability.process import configure_process
from ops.child_processes import ChildFailed
from ops.ports import ListenError
from origin.settings import ConfigurationError, Settings
from tls.caddy_process import CaddyError

Handler = Callable[[argparse.Namespace, Settings], Awaitable[int | None]]


def build_parser() -> argparse.ArgumentParser:
    from ops import commands

    parser = argparse.ArgumentParser(
        prog="zelly",
        description="Zelly: multi-tenant storefronts. Configuration comes from ZELLY_* variables (see docs/configuration.md).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        stop_tracing = configure_process(service=args.command, log_level=settings.log_level, secrets=settings.secret_values(),
                                         otlp_endpoint=settings.otlp_endpoint)
        handler: Handler = args.handler
        try:
            return asyncio.run(handler(args, settings)) or 0
        finally:
            stop_tracing()
    except ConfigurationError as error:
        print(f"zelly: configuration error: {error}", file=sys.stderr)
        return 2
    except ZellyError as error:
        print(f"zelly: {error.message}", file=sys.stderr)
        return 1
    except (CaddyError, ListenError, ChildFailed) as error:  # a port taken, a process unable to start: the operator's to fix
        print(f"zelly: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
