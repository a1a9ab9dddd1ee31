"""Password hashing with bcrypt, and Elasticsearch's password rule."""

import base64
import functools
import hashlib
import os

import bcrypt

MIN_PASSWORD_LENGTH = 6
# bcrypt reads at most 72 bytes; longer passwords are pre-hashed so no byte is silently ignored.
_BCRYPT_LIMIT = 72
DEFAULT_ROUNDS = 12
# The cost of new hashes is a process setting (hashes are made deep inside services, which know no app):
# set_rounds() when called, else KEYDESK_PASSWORD_HASH_ROUNDS from the environment (tests lower it), else 12.
_rounds = None


class PasswordError(ValueError):
    """The password breaks a rule."""


def set_rounds(rounds: int | None) -> None:
    """Set the bcrypt cost for new hashes in this process; None goes back to the environment's or the default.
    Existing hashes keep their own cost."""
    global _rounds
    _rounds = None if rounds is None else int(rounds)


def hash_rounds() -> int:
    """The bcrypt cost new hashes get."""
    if _rounds is not None:
        return _rounds
    return int(os.environ.get("KEYDESK_PASSWORD_HASH_ROUNDS") or DEFAULT_ROUNDS)


def check_password_rules(password: object) -> None:
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


def hash_password(password: str) -> str:
    """A bcrypt hash of the password (as text)."""
    return bcrypt.hashpw(_prepare(password), bcrypt.gensalt(hash_rounds())).decode("ascii")


def verify_password(password: object, stored: str | None) -> bool:
    """True when the password matches; False for a missing or malformed hash."""
    if not isinstance(password, str):
        return False
    if not stored:
        # Spend the same time as a real check, so unknown users can't be told apart by timing.
        bcrypt.checkpw(b"keydesk", _dummy_hash(hash_rounds()))
        return False
    try:
        return bcrypt.checkpw(_prepare(password), stored.encode("ascii"))
    except ValueError:
        return False


@functools.cache
def _dummy_hash(rounds):
    """A hash at the cost new hashes get (made once per cost), checked when there is no stored hash."""
    return bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds))
