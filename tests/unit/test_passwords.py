"""Password hashing and Elasticsearch's password rule."""

import pytest

from webapp.security import passwords


@pytest.fixture(autouse=True)
def _fast_bcrypt():
    passwords.set_rounds(4)
    yield
    passwords.set_rounds(None)  # back to the run's cost (KEYDESK_PASSWORD_HASH_ROUNDS, tests/conftest.py)


def test_hash_and_verify():
    stored = passwords.hash_password("correct horse")
    assert stored.startswith("$2b$04$") and "correct horse" not in stored
    assert passwords.verify_password("correct horse", stored)
    assert not passwords.verify_password("correct horsE", stored)


def test_long_passwords_use_every_byte():
    base = "x" * 80
    stored = passwords.hash_password(base + "a")
    assert passwords.verify_password(base + "a", stored)
    assert not passwords.verify_password(base + "b", stored)


@pytest.mark.parametrize("stored", [None, "", "not-a-hash"])
def test_missing_or_broken_hash_never_verifies(stored):
    assert passwords.verify_password("anything", stored) is False


def test_non_string_password_never_verifies():
    assert passwords.verify_password(None, passwords.hash_password("secret1")) is False


@pytest.mark.parametrize("password", ["", "12345", None, 123456])
def test_short_or_non_text_passwords_break_the_rule(password):
    with pytest.raises(passwords.PasswordError, match=r"passwords must be at least \[6\] characters long"):
        passwords.check_password_rules(password)


def test_six_characters_is_enough():
    passwords.check_password_rules("123456")
