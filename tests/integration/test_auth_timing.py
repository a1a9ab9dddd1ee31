"""Failed authentications cost the same whether the claimed key id or username exists or not.

A difference in the time of the two answers tells an attacker which key ids and usernames exist (ASVS 5.0
V6.3.x: no user enumeration). The two kinds of attempt are interleaved, so load on the machine slows both
alike, and their medians are compared.
"""

import statistics
import time

import pytest

from tests.conftest import basic_header
from webapp.security.credentials import encode_credential, new_key_id, new_secret
from webapp.services.api_keys import commands as api_keys

TRIES = 300
WARM_UP = 30
MAX_RATIO = 1.25  # the slower path may take at most 25% longer than the faster one ...
MAX_GAP_MS = 0.3  # ... and at most this much longer in absolute terms
ATTEMPTS = 3  # a measurement disturbed by a burst of load elsewhere is taken again


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": False}  # hundreds of deliberate 401s from one address


def _medians(client, first, second):
    """Median milliseconds of a 401 for each of two headers, tried alternately."""
    times = ([], [])
    for round_ in range(WARM_UP + TRIES):
        for headers in (first, second) if round_ % 2 else (second, first):
            start = time.perf_counter_ns()
            response = client.get("/_security/_authenticate", headers=headers)
            elapsed = time.perf_counter_ns() - start
            assert response.status_code == 401
            if round_ >= WARM_UP:
                times[0 if headers is first else 1].append(elapsed / 1e6)
    return tuple(statistics.median(series) for series in times)


def _assert_alike(client, first, second):
    seen = []
    for _ in range(ATTEMPTS):
        a, b = _medians(client, first, second)
        seen.append((round(a, 3), round(b, 3)))
        if max(a, b) / min(a, b) <= MAX_RATIO and abs(a - b) < MAX_GAP_MS:
            print("medians (ms):", seen)
            return
    raise AssertionError(f"the two failures take measurably different times (medians in ms): {seen}")


def test_an_unknown_key_id_costs_what_a_wrong_secret_costs(client, db, make_user, subject_of):
    owner = subject_of(make_user("svc", ["superuser"]))
    created = api_keys.create_api_key(owner, name="timed")
    unknown = {"Authorization": "ApiKey " + encode_credential(new_key_id(), new_secret())}
    wrong_secret = {"Authorization": "ApiKey " + encode_credential(created.id, new_secret())}
    _assert_alike(client, unknown, wrong_secret)


def test_an_unknown_user_costs_what_a_wrong_password_costs(client, make_user):
    make_user("alice", ["superuser"])
    _assert_alike(client, basic_header("nobody-by-this-name", "wrong-password"),
                  basic_header("alice", "wrong-password"))
