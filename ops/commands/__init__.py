"""Sub-commands of ``zelly``: one module per group, each with ``register(subparsers)``."""

from __future__ import annotations

import argparse

from ops.commands import analytics, deadletters, dev, edge, mail, migrate, queues, secret, seed, shopify, stack, tenant, tls

# Each feature adds its module here.
COMMAND_MODULES = (migrate, tenant, seed, dev, edge, tls, shopify, deadletters, queues, analytics, secret, mail, stack)


def register(subparsers: argparse._SubParsersAction) -> None:
    for module in COMMAND_MODULES:
        module.register(subparsers)
