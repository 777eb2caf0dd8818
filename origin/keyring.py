"""Every key Zelly uses, derived from the one ``ZELLY_SECRET_KEY``, and how a rotation keeps old ones valid.

Each purpose (cart cookies, dashboard links, sealed Shopify credentials…) gets
its own 32-byte key by HKDF-SHA256 from the secret, with the purpose's label as
HKDF ``info``: a value signed for one purpose is worthless for another, and no
purpose ever sees the secret itself.

Rotation: the new secret becomes ``ZELLY_SECRET_KEY`` and the old one
``ZELLY_SECRET_KEY_PREVIOUS``. Everything is signed or sealed with the current
secret and carries its *key id* (8 hex characters derived from the secret, not
the secret); anything carrying the previous secret's id still verifies or
opens, until the operator drops the previous secret after the overlap
(docs/runbook.md, "Rotating the secret key"). ``zelly secret reseal`` re-seals
stored credentials under the current key so the overlap only has to outlast
cookies and links.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class KeyPurpose(enum.Enum):
    """The HKDF label of each purpose. A label never changes: changing it invalidates what it signed."""

    CART_COOKIE = b"zelly/storefront/cart-cookie/v2"
    DASHBOARD_LINK = b"zelly/seller/analytics-dashboard-link/v2"
    # The label Shopify credentials were sealed under before the keyring: kept, so they still open.
    SHOPIFY_CREDENTIALS = b"zelly shopify connection secrets v1"
    DEMO_API_TOKEN = b"zelly/ops/demo-api-token/v1"
    ORDER_STATUS_LINK = b"zelly/storefront/order-status-link/v1"
    DOMAIN_CLAIM = b"zelly/domains/claim-token/v1"


_KEY_ID_LABEL = b"zelly/key-id/v1"


def _hkdf(secret: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret)


def key_id(secret: str) -> str:
    """A short public name for a secret: 8 hex characters of a one-way derivation."""
    return _hkdf(secret.encode(), _KEY_ID_LABEL)[:4].hex()


@dataclass(frozen=True)
class Keyring:
    """Keys per purpose for the current secret and the previous ones still accepted.

    Built once per process (``Keyring.from_secrets``); every key is derived at
    construction, so signing and verifying cost a dict lookup.
    """

    current_id: str
    accepted_ids: tuple[str, ...]  # current first
    _keys: dict[tuple[KeyPurpose, str], bytes] = field(repr=False, compare=False)

    @classmethod
    def from_secrets(cls, current: str, previous: Iterable[str] = ()) -> "Keyring":
        if not current:
            raise ValueError("the keyring needs a secret")
        secrets = [current, *(secret for secret in previous if secret and secret != current)]
        keys: dict[tuple[KeyPurpose, str], bytes] = {}
        ids: list[str] = []
        for secret in secrets:
            kid = key_id(secret)
            if kid in ids:
                continue
            ids.append(kid)
            for purpose in KeyPurpose:
                keys[(purpose, kid)] = _hkdf(secret.encode(), purpose.value)
        return cls(current_id=ids[0], accepted_ids=tuple(ids), _keys=keys)

    def signing_key(self, purpose: KeyPurpose) -> tuple[str, bytes]:
        """(key id, key) to sign or seal with now: always the current secret's."""
        return self.current_id, self._keys[(purpose, self.current_id)]

    def key_for(self, purpose: KeyPurpose, kid: str) -> bytes | None:
        """The key a value names by its id, or None when that secret is no longer (or never was) accepted."""
        return self._keys.get((purpose, kid))

    def accepted_keys(self, purpose: KeyPurpose) -> list[tuple[str, bytes]]:
        """Every accepted (key id, key), current first: for values that name no key id."""
        return [(kid, self._keys[(purpose, kid)]) for kid in self.accepted_ids]
