"""zelly secret: rotate ZELLY_SECRET_KEY, re-seal stored credentials, show which keys are in use.

The steps and the overlap to keep are in docs/runbook.md ("Rotating the secret key").
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

from origin.keyring import key_id
from origin.services import effective_secret_key, open_services, previous_secret_path
from origin.settings import Settings
from origin.shopify.connections import count_sealed_by_key, do_reseal_connection, select_sealed_tenant_ids


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("secret", help="rotate the secret key, re-seal stored credentials, key ids in use")
    commands = parser.add_subparsers(dest="secret_command", required=True)
    rotate = commands.add_parser(
        "rotate", help="make a new secret key; the current one stays accepted as the previous one during the overlap"
    )
    rotate.set_defaults(handler=run_rotate)
    reseal = commands.add_parser("reseal", help="re-seal every stored Shopify credential under the current key")
    reseal.set_defaults(handler=run_reseal)
    status = commands.add_parser("status", help="the key ids in use and how many sealed values use each")
    status.set_defaults(handler=run_status)


def new_secret() -> str:
    return secrets.token_urlsafe(48)  # what effective_secret_key generates on first run


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)


async def run_rotate(args: argparse.Namespace, settings: Settings) -> int:
    secret = new_secret()
    if settings.secret_key:
        # Set by the operator: only they can change it. The old value is theirs already; never echo it.
        print(f"new secret key (key id {key_id(secret)}); set both, then restart every process:")
        print(f"  ZELLY_SECRET_KEY={secret}")
        print("  ZELLY_SECRET_KEY_PREVIOUS=<the current value of ZELLY_SECRET_KEY>")
        print("drop ZELLY_SECRET_KEY_PREVIOUS after the overlap and `zelly secret reseal` (docs/runbook.md)")
        return 0
    current_path = Path(settings.data_dir) / "secret.key"
    previous_path = previous_secret_path(settings)
    if previous_path.exists():
        # Overwriting it would drop a secret that cookies, links or credentials may still need.
        print(f"{previous_path} exists: a rotation is still in its overlap; run `zelly secret reseal`, wait out the overlap")
        print(f"and delete {previous_path} before rotating again (docs/runbook.md)")
        return 1
    old_id = key_id(effective_secret_key(settings).reveal())  # creates secret.key on a first run
    current_path.replace(previous_path)
    _write_private(current_path, secret)
    print(f"rotated the secret key in {current_path}: key id {key_id(secret)} signs now, {old_id} is still accepted")
    print(f"restart every process; after `zelly secret reseal` and the overlap, delete {previous_path}")
    return 0


async def run_reseal(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        tenant_ids = await select_sealed_tenant_ids(services)
        resealed = 0
        for tenant_id in tenant_ids:
            resealed += await do_reseal_connection(services, tenant_id)
        current_id = services.keyring.current_id
    print(f"re-sealed {resealed} of {len(tenant_ids)} Shopify connections under key id {current_id}")
    return 0


async def run_status(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        counts = await count_sealed_by_key(services)
        keyring = services.keyring
    previous = ", ".join(keyring.accepted_ids[1:]) or "none"
    print(f"current key id: {keyring.current_id}")
    print(f"previous key id: {previous}")
    for kid in keyring.accepted_ids:
        print(f"  {kid}: {counts.pop(kid, 0)} sealed values")
    for kid, count in sorted(counts.items()):
        label = "sealed before key ids (v1), opened with any accepted key" if kid == "v1" else "NOT accepted: cannot be opened"
        print(f"  {kid}: {count} sealed values, {label}")
    return 0
