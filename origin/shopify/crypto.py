"""Connection secrets (Admin API token, webhook secret) sealed at rest.

AES-256-GCM with a key derived from ZELLY_SECRET_KEY by HKDF-SHA256 (a key of
its own, so nothing else signed with the secret key can be confused with it).
The tenant id is the associated data: a sealed value copied onto another
tenant's row does not open. Format: ``v1.<base64url(nonce || ciphertext)>``.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from origin.errors import ErrorKind
from origin.shopify.errors import ShopifyError, ShopifyErrorCode

VERSION = "v1"
_INFO = b"zelly shopify connection secrets v1"


def derive_key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        self._aead = AESGCM(derive_key(secret_key))

    def seal(self, plaintext: str, tenant_id: int) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), str(tenant_id).encode())
        return f"{VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, token: str, tenant_id: int) -> str:
        version, _, body = token.partition(".")
        try:
            if version != VERSION:
                raise ValueError(version)
            raw = base64.urlsafe_b64decode(body)
            return self._aead.decrypt(raw[:12], raw[12:], str(tenant_id).encode()).decode()
        except (ValueError, InvalidTag):
            raise ShopifyError(
                ShopifyErrorCode.UNDECRYPTABLE,
                "the stored Shopify credentials cannot be decrypted (was ZELLY_SECRET_KEY changed?); connect the shop again",
                kind=ErrorKind.CONFLICT,
            ) from None
