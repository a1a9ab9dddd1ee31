"""Key identifiers, secrets, the encoded credential and secret hashing."""

import base64
import re

import pytest

from webapp.security import credentials
from webapp.security.credentials import CredentialFormatError


def test_id_and_secret_shapes():
    ids = {credentials.new_key_id() for _ in range(200)}
    secrets = {credentials.new_secret() for _ in range(200)}
    assert len(ids) == 200 and len(secrets) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{20}", i) for i in ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", s) for s in secrets)


def test_encoded_credential_round_trips():
    encoded = credentials.encode_credential("VuaCfGcBCdbkQm-e5aOx", "ui2lp2axTNmsyakw9tvNnw")
    assert base64.b64decode(encoded) == b"VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"
    assert credentials.decode_credential(encoded) == ("VuaCfGcBCdbkQm-e5aOx", "ui2lp2axTNmsyakw9tvNnw")


def test_secret_may_contain_a_colon_split_at_the_first():
    encoded = base64.b64encode(b"abc:de:f").decode()
    assert credentials.decode_credential(encoded) == ("abc", "de:f")


@pytest.mark.parametrize("value", ["", "%%%", base64.b64encode(b":secret").decode(),
                                   base64.b64encode(b"nocolon").decode(), base64.b64encode(b"id:").decode(),
                                   base64.b64encode(b"\xff\xfe:x").decode()])
def test_malformed_credentials_are_rejected(value):
    with pytest.raises(CredentialFormatError, match="invalid ApiKey value"):
        credentials.decode_credential(value)


def test_hash_is_salted_and_tagged():
    one, two = credentials.hash_secret("s3cret"), credentials.hash_secret("s3cret")
    assert one != two
    assert one.startswith("ssha256$") and "s3cret" not in one
    assert credentials.verify_secret("s3cret", one) and credentials.verify_secret("s3cret", two)
    assert not credentials.verify_secret("s3cret!", one)


@pytest.mark.parametrize("stored", ["", "bcrypt$x$y", "ssha256$salt", "plain"])
def test_unknown_or_broken_hashes_never_match(stored):
    assert credentials.verify_secret("anything", stored) is False
