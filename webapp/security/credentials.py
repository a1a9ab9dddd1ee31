"""API key identifiers, secrets, the encoded credential, and how secrets are stored and checked.

Secrets are 128 random bits, so a salted SHA-256 is enough to store them (a slow KDF protects guessable
passwords, not random keys); comparison is constant-time.
"""

import base64
import binascii
import hashlib
import hmac
import secrets

HASH_ALGORITHM = "ssha256"
SECRET_LENGTH = 22
ID_LENGTH = 20


class CredentialFormatError(ValueError):
    """The Authorization value is not a well-formed API key credential."""


def new_key_id() -> str:
    """20 characters of URL-safe base64 (15 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(15)).decode("ascii")


def new_secret() -> str:
    """22 characters of unpadded URL-safe base64 (16 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


def encode_credential(key_id: str, secret: str) -> str:
    """The value sent as `Authorization: ApiKey <value>`: standard base64 of "id:secret"."""
    return base64.b64encode(f"{key_id}:{secret}".encode()).decode("ascii")


def decode_credential(value: str) -> tuple[str, str]:
    """Split an encoded credential into (id, secret); raises CredentialFormatError like Elasticsearch would."""
    try:
        raw = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise CredentialFormatError("invalid ApiKey value") from error
    key_id, colon, secret = raw.partition(":")
    if not colon or len(key_id) < 1 or not secret:
        raise CredentialFormatError("invalid ApiKey value")
    return key_id, secret


def hash_secret(secret: str) -> str:
    """An algorithm-tagged salted SHA-256: ssha256$<salt>$<digest>."""
    salt = secrets.token_urlsafe(12)
    digest = hashlib.sha256(f"{salt}{secret}".encode()).hexdigest()
    return f"{HASH_ALGORITHM}${salt}${digest}"


# Checked against when there is no stored hash (no such key), so that an unknown key id costs what a wrong
# secret costs. Its digest is of a salt alone: no secret (which is never empty) matches it.
_DUMMY_HASH = f"{HASH_ALGORITHM}$keydesk-dummy${hashlib.sha256(b'keydesk-dummy').hexdigest()}"


def verify_secret(secret: str, stored: str | None) -> bool:
    """True when `secret` matches the stored hash; unknown algorithms never match. With no stored hash
    (None), the same work is done against a dummy hash and the answer is False."""
    if not stored:
        _matches(secret, _DUMMY_HASH)
        return False
    return _matches(secret, stored)


def _matches(secret, stored):
    algorithm, _, rest = stored.partition("$")
    salt, _, expected = rest.partition("$")
    if algorithm != HASH_ALGORITHM or not expected:
        return False
    actual = hashlib.sha256(f"{salt}{secret}".encode()).hexdigest()
    return hmac.compare_digest(actual, expected)
