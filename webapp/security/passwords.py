"""Password hashing with bcrypt, and Elasticsearch's password rule."""

import base64
import functools
import hashlib

import bcrypt

MIN_PASSWORD_LENGTH = 6
# bcrypt reads at most 72 bytes; longer passwords are pre-hashed so no byte is silently ignored.
_BCRYPT_LIMIT = 72
DEFAULT_ROUNDS = 12
_rounds = DEFAULT_ROUNDS


class PasswordError(ValueError):
    """The password breaks a rule."""


def set_rounds(rounds):
    """Set the bcrypt cost for new hashes (tests lower it; existing hashes keep their own)."""
    global _rounds
    _rounds = int(rounds)


def check_password_rules(password):
    """Raise PasswordError with Elasticsearch's message when the password can't be used."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordError("passwords must be at least [6] characters long")
    if any("\ud800" <= char <= "\udfff" for char in password):  # only a JSON escape can produce one
        raise PasswordError("passwords may not contain unpaired surrogates (invalid Unicode)")


def _prepare(password):
    data = password.encode("utf-8")
    if len(data) > _BCRYPT_LIMIT:
        data = base64.b64encode(hashlib.sha256(data).digest())
    return data


def hash_password(password):
    """A bcrypt hash of the password (as text)."""
    return bcrypt.hashpw(_prepare(password), bcrypt.gensalt(_rounds)).decode("ascii")


def verify_password(password, stored):
    """True when the password matches; False for a missing or malformed hash."""
    if not isinstance(password, str):
        return False
    if not stored:
        # Spend the same time as a real check, so unknown users can't be told apart by timing.
        bcrypt.checkpw(b"keydesk", _dummy_hash())
        return False
    try:
        return bcrypt.checkpw(_prepare(password), stored.encode("ascii"))
    except ValueError:
        return False


@functools.cache
def _dummy_hash():
    return bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(_rounds))
