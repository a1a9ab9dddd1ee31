"""Failed sign-ins and failed API authentications are throttled; good credentials are not slowed."""

import base64

import pytest

from tests.conftest import ELASTIC_PASSWORD, basic_header
from webapp.web import throttle


@pytest.fixture(autouse=True)
def _fresh_counters(app):
    throttle.of(app).reset()
    yield
    throttle.of(app).reset()


def _login(auth, password):
    return auth.login("elastic", password)


def test_repeated_wrong_passwords_are_throttled_with_retry_after(client, auth):
    for _ in range(10):
        assert _login(auth, "wrong-password").status_code == 401
    refused = _login(auth, "wrong-password")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many failed sign-in attempts" in refused.get_data(as_text=True)
    # While throttled, even the right password waits: guessing can't continue around the limit.
    assert _login(auth, ELASTIC_PASSWORD).status_code == 429


def test_successful_sign_ins_are_not_counted(client, auth):
    for _ in range(25):
        assert _login(auth, ELASTIC_PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": auth.csrf_token("/account/")})


def test_one_address_guessing_many_usernames_is_throttled(client, auth):
    statuses = [auth.login(f"user{n}", "wrong-password").status_code for n in range(31)]
    assert statuses[:30] == [401] * 30 and statuses[30] == 429


def test_failed_api_keys_are_throttled_per_key_id(client):
    forged = base64.b64encode(b"AAAAAAAAAAAAAAAAAAAA:wrongwrongwrongwrongwr").decode()
    for _ in range(10):
        assert client.get("/_security/_authenticate", headers={"Authorization": f"ApiKey {forged}"}).status_code == 401
    refused = client.get("/_security/_authenticate", headers={"Authorization": f"ApiKey {forged}"})
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["status"] == 429 and "too many failed authentication attempts" in body["error"]["reason"]
    assert int(refused.headers["Retry-After"]) >= 1
    # Another credential from the same address is still served.
    assert client.get("/_security/_authenticate",
                      headers=basic_header("elastic", ELASTIC_PASSWORD)).status_code == 200


def test_good_api_traffic_is_never_throttled(client):
    for _ in range(60):
        assert client.get("/_security/_authenticate",
                          headers=basic_header("elastic", ELASTIC_PASSWORD)).status_code == 200


def test_counters_can_live_in_redis(tmp_path):
    from webapp import create_app

    app = create_app({"SECRET_KEY": "k", "TESTING": True,
                      "KEYDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'r.sqlite3'}",
                      "KEYDESK_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/15"})
    storage = throttle.of(app).storage
    assert type(storage).__name__ == "RedisStorage" and storage.check()
