"""Connection secrets (Admin API token, webhook secret) sealed at rest.

AES-256-GCM under the keyring's Shopify-credentials key (origin/keyring.py:
HKDF-SHA256 from ZELLY_SECRET_KEY with a label of its own, so nothing else
signed with the secret key can be confused with it). The tenant id is the
associated data: a sealed value copied onto another tenant's row does not open.

Formats:

- ``v2.<key id>.<base64url(nonce || ciphertext)>``: what is sealed now, under
  the current secret; opens while that key id is accepted (current or previous).
- ``v1.<base64url(nonce || ciphertext)>``: sealed before the keyring, naming no
  key. Its key is the keyring's key of the same purpose (the label equals the
  old HKDF info), so every accepted key is tried, current first.
  ``zelly secret reseal`` rewrites both old forms as v2 under the current key.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from origin.errors import ErrorKind
from origin.keyring import KeyPurpose, Keyring
from origin.shopify.errors import ShopifyError, ShopifyErrorCode

VERSION = "v2"
LEGACY_VERSION = "v1"
PURPOSE = KeyPurpose.SHOPIFY_CREDENTIALS


def sealed_key_id(token: str) -> str | None:
    """The key id a sealed value names (v2), or None for a v1 value (or anything else)."""
    version, _, rest = token.partition(".")
    kid, separator, _ = rest.partition(".")
    return kid if version == VERSION and separator else None


class SecretBox:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._current_id, key = keyring.signing_key(PURPOSE)
        self._current = AESGCM(key)
        self._by_id = {kid: AESGCM(key) for kid, key in keyring.accepted_keys(PURPOSE)}

    def seal(self, plaintext: str, tenant_id: int) -> str:
        nonce = os.urandom(12)
        sealed = self._current.encrypt(nonce, plaintext.encode(), str(tenant_id).encode())
        return f"{VERSION}.{self._current_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def is_current(self, token: str) -> bool:
        """Whether a sealed value is already under the current key (``zelly secret reseal`` skips it)."""
        return sealed_key_id(token) == self._current_id

    def open(self, token: str, tenant_id: int) -> str:
        version, _, rest = token.partition(".")
        associated = str(tenant_id).encode()
        try:
            if version == VERSION:
                kid, _, body = rest.partition(".")
                aead = self._by_id.get(kid)
                if aead is None:
                    raise ValueError(kid)
                candidates = [aead]
            elif version == LEGACY_VERSION:
                body, candidates = rest, list(self._by_id.values())
            else:
                raise ValueError(version)
            raw = base64.urlsafe_b64decode(body)
            for aead in candidates:
                try:
                    return aead.decrypt(raw[:12], raw[12:], associated).decode()
                except InvalidTag:
                    continue
            raise InvalidTag()
        except (ValueError, InvalidTag):
            raise ShopifyError(
                ShopifyErrorCode.UNDECRYPTABLE,
                "the stored Shopify credentials cannot be decrypted (was ZELLY_SECRET_KEY changed?); connect the shop again",
                kind=ErrorKind.CONFLICT,
            ) from None
