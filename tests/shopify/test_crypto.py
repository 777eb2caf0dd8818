"""origin.shopify.crypto: v2 values name their key; v1 values sealed before the keyring still open."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from origin.keyring import Keyring, key_id
from origin.shopify.crypto import SecretBox, sealed_key_id
from origin.shopify.errors import ShopifyError


def sealed_before_the_keyring(secret: str, plaintext: str, tenant_id: int) -> str:
    """What the pre-keyring SecretBox wrote: its own HKDF derivation, written out here on purpose."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"zelly shopify connection secrets v1").derive(secret.encode())
    nonce = os.urandom(12)
    return "v1." + base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), str(tenant_id).encode())).decode()


def test_sealed_values_name_the_current_key_and_bind_the_tenant() -> None:
    box = SecretBox(Keyring.from_secrets("secret-one"))

    sealed = box.seal("shpat_token", 7)

    assert sealed.startswith(f"v2.{key_id('secret-one')}.") and sealed_key_id(sealed) == key_id("secret-one")
    assert box.open(sealed, 7) == "shpat_token" and box.is_current(sealed)
    with pytest.raises(ShopifyError):
        box.open(sealed, 8)
    with pytest.raises(ShopifyError):
        SecretBox(Keyring.from_secrets("secret-two")).open(sealed, 7)


def test_v1_values_open_under_the_current_or_the_previous_secret_until_it_is_dropped() -> None:
    legacy_current = sealed_before_the_keyring("secret-one", "shpat_current", 7)
    legacy_previous = sealed_before_the_keyring("secret-zero", "shpat_previous", 7)
    overlap = SecretBox(Keyring.from_secrets("secret-one", ["secret-zero"]))
    after = SecretBox(Keyring.from_secrets("secret-one"))

    assert overlap.open(legacy_current, 7) == "shpat_current"
    assert overlap.open(legacy_previous, 7) == "shpat_previous"
    assert sealed_key_id(legacy_previous) is None and not overlap.is_current(legacy_previous)
    assert after.open(legacy_current, 7) == "shpat_current"
    with pytest.raises(ShopifyError):
        after.open(legacy_previous, 7)
    with pytest.raises(ShopifyError):
        overlap.open(legacy_current, 8)


def test_a_previous_key_id_opens_only_while_accepted_and_garbage_is_refused() -> None:
    old = SecretBox(Keyring.from_secrets("secret-zero")).seal("shpat_old", 7)

    assert SecretBox(Keyring.from_secrets("secret-one", ["secret-zero"])).open(old, 7) == "shpat_old"
    for value in (old, "v2.deadbeef.AAAA", "v3.x", "garbage", ""):
        with pytest.raises(ShopifyError):
            SecretBox(Keyring.from_secrets("secret-one")).open(value, 7)
