"""The ``zelly`` command.

Each sub-command is a small async function taking the parsed arguments and the
Settings; ``main`` builds Settings once, turns configuration mistakes into one
line on stderr (exit 2) and domain errors into their message (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Awaitable, Callable

from origin.errors import ZellyError
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
        logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        # One INFO line per outbound request (the Admin API call of `shopify connect`) is noise to an operator.
        logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
        handler: Handler = args.handler
        return asyncio.run(handler(args, settings)) or 0
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
