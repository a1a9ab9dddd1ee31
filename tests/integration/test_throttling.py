"""Failed sign-ins and failed API authentications are throttled; good credentials are not slowed, and failures
from other addresses never lock a correct credential out (issue 13, item 2)."""

import base64
import uuid

import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, basic_header
from webapp.model import ThrottleCounter
from webapp.services.api_keys import commands as api_keys
from webapp.web import throttle

AUTHENTICATE = "/_security/_authenticate"  # also nginx's auth_request target (docs/nginx/keydesk.conf)


@pytest.fixture(params=["database://", "redis://127.0.0.1:6379/15"])
def app_config(request):
    # One trusted proxy hop: each test request says which client it comes from in X-Forwarded-For. Every test
    # runs on the default store (Keydesk's database) and on Redis.
    return {"KEYDESK_PROXY_HOPS": 1, "KEYDESK_RATELIMIT_STORAGE_URL": request.param}


@pytest.fixture(autouse=True)
def _fresh_counters(app):
    storage = throttle.of(app).storage
    if hasattr(storage, "key_prefix"):  # Redis: keys of this run only, whoever else uses the same database
        storage.key_prefix = f"LIMITS-test-{uuid.uuid4().hex}"
    throttle.of(app).reset()
    yield
    throttle.of(app).reset()


def _from(address, headers=None):
    return {"X-Forwarded-For": address, **(headers or {})}


def _login(auth, password, address="192.0.2.1", username="elastic"):
    token = auth.csrf_token()
    return auth.client.post("/login", headers=_from(address),
                            data={"username": username, "password": password, "csrf_token": token})


def _api_key_header(key_id, secret):
    return {"Authorization": "ApiKey " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()}


@pytest.fixture
def holder_key(db, make_user, subject_of):
    """A key whose id (not its secret) the attacker knows: (its id, the holder's Authorization header)."""
    created = api_keys.create_api_key(subject_of(make_user("svc", ["superuser"])), name="holder")
    return created.id, {"Authorization": f"ApiKey {created.encoded}"}


def test_repeated_wrong_passwords_are_throttled_with_retry_after(client, auth):
    for _ in range(10):
        assert _login(auth, "wrong-password").status_code == 401
    refused = _login(auth, "wrong-password")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many failed sign-in attempts" in refused.get_data(as_text=True)
    # While throttled, even the right password waits at that address: guessing can't continue around the limit.
    assert _login(auth, ELASTIC_PASSWORD).status_code == 429


def test_successful_sign_ins_are_not_counted(client, auth):
    for _ in range(25):
        assert _login(auth, ELASTIC_PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": auth.csrf_token("/account/")})


def test_one_address_guessing_many_usernames_is_throttled(client, auth):
    statuses = [_login(auth, "wrong-password", username=f"user{n}").status_code for n in range(31)]
    assert statuses[:30] == [401] * 30 and statuses[30] == 429


def test_failed_api_keys_are_throttled_per_key_id_and_address(client):
    forged = _api_key_header("AAAAAAAAAAAAAAAAAAAA", "wrongwrongwrongwrongwr")
    for _ in range(10):
        assert client.get(AUTHENTICATE, headers=_from("192.0.2.1", forged)).status_code == 401
    refused = client.get(AUTHENTICATE, headers=_from("192.0.2.1", forged))
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["status"] == 429 and "too many failed authentication attempts" in body["error"]["reason"]
    assert int(refused.headers["Retry-After"]) >= 1
    # Another credential from the same address is still served.
    assert client.get(AUTHENTICATE, headers=_from("192.0.2.1", basic_header("elastic", ELASTIC_PASSWORD))
                      ).status_code == 200


def test_good_api_traffic_is_never_throttled(client):
    for _ in range(60):
        assert client.get(AUTHENTICATE, headers=basic_header("elastic", ELASTIC_PASSWORD)).status_code == 200


def test_good_api_key_traffic_writes_no_counter(client, holder_key):
    _, holder = holder_key
    for _ in range(40):
        assert client.get(AUTHENTICATE, headers=_from("192.0.2.1", holder)).status_code == 200
    assert ThrottleCounter.select().count() == 0
    if type(throttle.of(client.application).storage).__name__ == "RedisStorage":
        storage = throttle.of(client.application).storage
        assert not storage.get_connection().keys(f"{storage.key_prefix}:*")


# ---- a known key id or username can't be locked out -------------------------------------------------------

def test_a_flood_from_many_addresses_does_not_lock_out_the_key_holder(client, holder_key):
    key_id, holder = holder_key
    wrong = _api_key_header(key_id, "not-the-secret-at-all!")
    for n in range(1, 21):  # 20 addresses x 12 wrong secrets: 240 failures against one key id
        statuses = [client.get(AUTHENTICATE, headers=_from(f"198.51.100.{n}", wrong)).status_code
                    for _ in range(12)]
        assert statuses == [401] * 10 + [429] * 2  # each flooding address is slowed
    # The holder, elsewhere, passes nginx's auth_request check and reaches the API.
    checked = client.get(AUTHENTICATE, headers=_from("203.0.113.7", holder))
    assert checked.status_code == 200 and checked.headers["X-Keydesk-Api-Key-Id"] == key_id
    assert client.get("/_security/api_key", headers=_from("203.0.113.7", holder)).status_code == 200


def test_a_correct_secret_passes_where_its_key_id_failed_until_the_address_floods(client, holder_key):
    key_id, holder = holder_key
    wrong = _api_key_header(key_id, "not-the-secret-at-all!")
    statuses = [client.get(AUTHENTICATE, headers=_from("198.51.100.1", wrong)).status_code for _ in range(12)]
    assert statuses == [401] * 10 + [429] * 2
    # A 128-bit secret isn't guessed: the right one is let through whatever its (id, address) count.
    assert client.get(AUTHENTICATE, headers=_from("198.51.100.1", holder)).status_code == 200
    # Flooding is what is refused: once the address has failed 30 times, all it sends waits.
    for _ in range(18):
        assert client.get(AUTHENTICATE, headers=_from("198.51.100.1", wrong)).status_code == 429
    refused = client.get(AUTHENTICATE, headers=_from("198.51.100.1", holder))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert client.get(AUTHENTICATE, headers=_from("198.51.100.2", holder)).status_code == 200


def test_wrong_passwords_from_many_addresses_do_not_stop_a_sign_in_from_a_new_one(client, auth):
    for n in range(1, 8):
        statuses = [_login(auth, "wrong-password", f"198.51.100.{n}").status_code for _ in range(11)]
        assert statuses == [401] * 10 + [429]
    assert _login(auth, ELASTIC_PASSWORD, "198.51.100.1").status_code == 429  # that address guessed too often
    signed_in = _login(auth, ELASTIC_PASSWORD, "203.0.113.7")
    assert signed_in.status_code == 302
    assert client.get("/account/", headers=_from("203.0.113.7")).status_code == 200


def test_wrong_basic_passwords_from_many_addresses_do_not_stop_the_user_elsewhere(client, make_user):
    make_user("alice", ["superuser"])
    wrong = basic_header("alice", "wrong-password")
    for n in range(1, 8):
        statuses = [client.get(AUTHENTICATE, headers=_from(f"198.51.100.{n}", wrong)).status_code
                    for _ in range(11)]
        assert statuses == [401] * 10 + [429]
    right = basic_header("alice", USER_PASSWORD)
    assert client.get(AUTHENTICATE, headers=_from("198.51.100.1", right)).status_code == 429
    assert client.get(AUTHENTICATE, headers=_from("203.0.113.7", right)).status_code == 200


# ---- where the counters live -------------------------------------------------------------------------

def test_counters_live_in_the_database_by_default(client, app_config):
    client.get(AUTHENTICATE, headers=_from("192.0.2.9", basic_header("nobody", "wrong")))
    if app_config["KEYDESK_RATELIMIT_STORAGE_URL"] != "database://":
        assert ThrottleCounter.select().count() == 0  # Redis holds them
        return
    assert type(throttle.of(client.application).storage).__name__ == "DatabaseStorage"
    rows = list(ThrottleCounter.select())
    assert len(rows) == 2 and all("192.0.2.9" in row.key and row.hits == 1 for row in rows)


def test_counters_can_live_in_redis(client, app_config):
    storage = throttle.of(client.application).storage
    expected = "RedisStorage" if app_config["KEYDESK_RATELIMIT_STORAGE_URL"].startswith("redis") else "DatabaseStorage"
    assert type(storage).__name__ == expected and storage.check()


def test_upgrading_a_version_3_database_adds_the_counter_table(db, app_config):
    from webapp.model import Setting
    from webapp.services.schema import upgrade

    if app_config["KEYDESK_RATELIMIT_STORAGE_URL"] != "database://":
        return  # one schema check is enough
    db.drop_tables([ThrottleCounter])
    Setting.update(value=3).where(Setting.name == "schema.version").execute()
    assert upgrade.MIGRATIONS[4] is upgrade.throttle_counters
    assert upgrade.upgrade_schema() == (3, upgrade.SCHEMA_VERSION)
    assert ThrottleCounter.table_exists() and ThrottleCounter.select().count() == 0
