"""origin.keyring: one key per purpose from one secret, key ids, the previous secret accepted."""

from __future__ import annotations

import pytest

from origin.keyring import KeyPurpose, Keyring, key_id


def test_each_purpose_gets_its_own_key_and_none_is_the_secret() -> None:
    keyring = Keyring.from_secrets("s" * 48)

    keys = {keyring.signing_key(purpose)[1] for purpose in KeyPurpose}

    assert len(keys) == len(KeyPurpose)
    assert all(len(key) == 32 and b"s" * 32 != key for key in keys)


def test_keys_are_a_function_of_the_secret_alone() -> None:
    first, again, other = Keyring.from_secrets("one-secret"), Keyring.from_secrets("one-secret"), Keyring.from_secrets("two-secret")

    assert first.signing_key(KeyPurpose.CART_COOKIE) == again.signing_key(KeyPurpose.CART_COOKIE)
    assert first.signing_key(KeyPurpose.CART_COOKIE)[1] != other.signing_key(KeyPurpose.CART_COOKIE)[1]
    assert first.current_id == key_id("one-secret") != other.current_id


def test_the_previous_secret_verifies_but_never_signs() -> None:
    before = Keyring.from_secrets("old-secret")
    after = Keyring.from_secrets("new-secret", previous=["old-secret"])
    old_id, old_key = before.signing_key(KeyPurpose.DASHBOARD_LINK)

    assert after.signing_key(KeyPurpose.DASHBOARD_LINK)[0] == key_id("new-secret")
    assert after.key_for(KeyPurpose.DASHBOARD_LINK, old_id) == old_key
    assert after.accepted_ids == (key_id("new-secret"), old_id)
    assert [kid for kid, _ in after.accepted_keys(KeyPurpose.DASHBOARD_LINK)] == [key_id("new-secret"), old_id]


def test_a_dropped_secret_is_no_longer_accepted() -> None:
    old_id = key_id("old-secret")

    after_overlap = Keyring.from_secrets("new-secret")

    assert after_overlap.key_for(KeyPurpose.CART_COOKIE, old_id) is None
    assert after_overlap.key_for(KeyPurpose.CART_COOKIE, "not-a-kid") is None


def test_previous_equal_to_current_or_empty_is_ignored() -> None:
    keyring = Keyring.from_secrets("same", previous=["same", ""])

    assert keyring.accepted_ids == (key_id("same"),)


def test_no_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        Keyring.from_secrets("")


def test_the_repr_shows_no_key_material() -> None:
    keyring = Keyring.from_secrets("hunter2-hunter2")

    assert "hunter2" not in repr(keyring) and "_keys" not in repr(keyring)
