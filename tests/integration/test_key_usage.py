"""Usage history of API keys: counted at verification without a write per request, written by the last-used
flush as additive upserts, read by GET /_keydesk/api_key/{id}/_usage with the Get API's visibility, pruned after
the retention period. Runs on SQLite and PostgreSQL (KEYDESK_TEST_DATABASE_URL); the clock is moved, never slept."""

import json

import pytest

from tests.conftest import USER_PASSWORD, basic_header
from webapp.clock import DAY_MS, now_ms
from webapp.config import ConfigurationError
from webapp.model import ApiKey, ApiKeyUsageAddress, ApiKeyUsageDay, ApiKeyUsageHour, Setting
from webapp.model.db import database, is_sqlite
from webapp.services.access.authentication import LastUsedBuffer, last_used
from webapp.services.api_keys import usage_counts
from webapp.services.schema import upgrade

ALICE = basic_header("alice", USER_PASSWORD)
BOB = basic_header("bob", USER_PASSWORD)
READER = basic_header("reader", USER_PASSWORD)
HOUR_MS = usage_counts.HOUR_MS


@pytest.fixture
def app_config():
    return {"KEYDESK_LAST_USED_FLUSH_SECONDS": 3600}  # nothing is written until a test flushes


@pytest.fixture
def people(make_user):
    make_user("alice", ["api_key_user"])
    make_user("bob", ["api_key_user"])
    make_user("reader", ["security_viewer"])


@pytest.fixture
def call(client):
    def do(method, path, auth, body=None, address="192.0.2.1"):
        return client.open(path, method=method, headers=auth, environ_base={"REMOTE_ADDR": address},
                           data=None if body is None else json.dumps(body),
                           content_type="application/json" if body is not None else None)

    return do


def create_key(call, auth, name="k"):
    response = call("POST", "/_security/api_key", auth, {"name": name})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def as_key(created):
    return {"Authorization": f"ApiKey {created['encoded']}"}


def flush():
    with database.connection_context():
        last_used.flush()


def usage(call, key_id, auth=ALICE):
    response = call("GET", f"/_keydesk/api_key/{key_id}/_usage", auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def stored_rows():
    with database.connection_context():
        return sum(model.select().count() for model in (ApiKeyUsageHour, ApiKeyUsageDay, ApiKeyUsageAddress))


def test_verifications_are_counted_without_a_write_then_show_after_the_flush(call, people):
    key = create_key(call, ALICE)
    for i in range(7):
        address = "10.1.0.1" if i < 4 else "10.1.0.2"
        assert call("GET", "/_security/_authenticate", as_key(key), address=address).status_code == 200
    assert stored_rows() == 0  # counted in memory only
    before = usage(call, key["id"])
    assert before["never_used"] is True and before["days"][-1]["requests"] == 0
    flush()
    body = usage(call, key["id"])
    today = body["days"][-1]
    assert len(body["days"]) == 30 and len(body["hours"]) == 48
    assert today == {"date": _date(now_ms()), "requests": 7}
    assert sum(day["requests"] for day in body["days"]) == 7
    assert body["hours"][-1]["requests"] == 7 and body["hours"][-1]["hour"].endswith(":00:00Z")
    assert [(a["address"], a["requests"]) for a in body["addresses"]] == [("10.1.0.2", 3), ("10.1.0.1", 4)]
    assert body["distinct_addresses"] == 2
    assert body["last_used"] is not None and body["last_used_address"] == "10.1.0.2"
    assert body["never_used"] is False and body["unused"] is False and body["unused_days"] == 0
    assert body["retention_days"] == 90


def test_requests_through_any_endpoint_count_and_failures_do_not(call, people):
    key = create_key(call, ALICE)
    assert call("GET", "/_security/api_key?owner=true", as_key(key)).status_code == 200
    assert call("GET", "/_security/_authenticate?privilege=monitor", as_key(key)).status_code == 403  # verified
    wrong = {"Authorization": "ApiKey " + _encode(key["id"], "not-the-secret-at-all")}
    assert call("GET", "/_security/_authenticate", wrong).status_code == 401
    flush()
    assert usage(call, key["id"])["days"][-1]["requests"] == 2


def test_two_buffers_flushing_into_the_same_rows_add_up(call, people):
    """As two instances (or workers) do: each writes its own tally, and the stored counts are the sums."""
    key = create_key(call, ALICE)
    first, second = LastUsedBuffer(interval=3600), LastUsedBuffer(interval=3600)
    now = now_ms()
    for i in range(5):
        first.note(key["id"], now + i, "10.2.0.1")
    for i in range(3):
        second.note(key["id"], now + 100 + i, "10.2.0.1")
    second.note(key["id"], now + 200, "10.2.0.9")
    with database.connection_context():
        assert first.flush() == 1 and second.flush() == 1
        first.note(key["id"], now + 300, "10.2.0.1")
        first.flush()
    body = usage(call, key["id"])
    assert body["days"][-1]["requests"] == 10
    addresses = {a["address"]: a for a in body["addresses"]}
    assert addresses["10.2.0.1"]["requests"] == 9 and addresses["10.2.0.1"]["last_seen"] == now + 300
    assert addresses["10.2.0.9"]["requests"] == 1
    with database.connection_context():
        assert ApiKey.get_by_id(key["id"]).last_used == now + 300


def test_a_later_flush_never_moves_an_address_back_in_time(call, people):
    key = create_key(call, ALICE)
    now = now_ms()
    late, early = usage_counts.UsageTally(), usage_counts.UsageTally()
    late.add(key["id"], now, "10.3.0.1")
    early.add(key["id"], now - 60_000, "10.3.0.1")
    with database.connection_context():
        usage_counts.write(late)
        usage_counts.write(early)
    assert usage(call, key["id"])["addresses"] == [{"address": "10.3.0.1", "requests": 2, "last_seen": now}]


def test_hours_and_days_fall_into_their_utc_buckets(call, people, monkeypatch):
    key = create_key(call, ALICE)
    midnight = now_ms() // DAY_MS * DAY_MS
    # One request just before midnight yesterday, two just after: two days, and two hours 1 apart.
    monkeypatch.setattr("webapp.clock._shift_ms", midnight - 1_000 - now_ms())
    assert call("GET", "/_security/_authenticate", as_key(key)).status_code == 200
    monkeypatch.setattr("webapp.clock._shift_ms", 0)
    monkeypatch.setattr("webapp.clock._shift_ms", midnight + 5_000 - now_ms())
    for _ in range(2):
        assert call("GET", "/_security/_authenticate", as_key(key)).status_code == 200
    flush()
    body = usage(call, key["id"])
    assert [d["requests"] for d in body["days"][-2:]] == [1, 2]
    hours = {h["hour"]: h["requests"] for h in body["hours"] if h["requests"]}
    assert hours == {_hour(midnight - HOUR_MS): 1, _hour(midnight): 2}


def test_old_counts_are_pruned_after_the_retention_period(call, people, monkeypatch):
    monkeypatch.setattr("webapp.clock._shift_ms", -120 * DAY_MS)
    key = create_key(call, ALICE)
    monkeypatch.setattr("webapp.clock._shift_ms", -100 * DAY_MS)
    for _ in range(3):
        assert call("GET", "/_security/_authenticate", as_key(key), address="10.4.0.1").status_code == 200
    monkeypatch.setattr("webapp.clock._shift_ms", -10 * DAY_MS)
    assert call("GET", "/_security/_authenticate", as_key(key), address="10.4.0.2").status_code == 200
    flush()
    monkeypatch.setattr("webapp.clock._shift_ms", 0)
    assert stored_rows() == 6  # two hours, two days, two addresses
    with database.connection_context():
        deleted = usage_counts.prune(90 * DAY_MS)
    assert deleted == 4  # both hours (older than 48 h), the day and the address of 100 days ago
    with database.connection_context():
        assert [row.address for row in ApiKeyUsageAddress.select()] == ["10.4.0.2"]
        assert ApiKeyUsageDay.select().count() == 1 and ApiKeyUsageHour.select().count() == 0
    body = usage(call, key["id"])
    assert sum(d["requests"] for d in body["days"]) == 1 and body["distinct_addresses"] == 1


@pytest.mark.parametrize("app_config", [{"KEYDESK_LAST_USED_FLUSH_SECONDS": 0, "KEYDESK_USAGE_RETENTION": "7d"}])
def test_the_flush_prunes_at_most_hourly_with_the_configured_retention(call, people, monkeypatch):
    monkeypatch.setattr(usage_counts, "_prunes", usage_counts._PruneSchedule())
    key = create_key(call, ALICE)
    monkeypatch.setattr("webapp.clock._shift_ms", -8 * DAY_MS)
    assert call("GET", "/_security/_authenticate", as_key(key), address="10.5.0.1").status_code == 200  # prunes
    monkeypatch.setattr("webapp.clock._shift_ms", 0)
    assert call("GET", "/_security/_authenticate", as_key(key), address="10.5.0.2").status_code == 200  # prunes
    body = usage(call, key["id"])
    assert body["retention_days"] == 7 and len(body["days"]) == 7
    assert [a["address"] for a in body["addresses"]] == ["10.5.0.2"]  # 8 days old: gone with 7d retention
    monkeypatch.setattr("webapp.clock._shift_ms", -8 * DAY_MS + 1)
    assert call("GET", "/_security/_authenticate", as_key(key), address="10.5.0.3").status_code == 200
    monkeypatch.setattr("webapp.clock._shift_ms", 2)
    assert call("GET", "/_security/_authenticate", as_key(key), address="10.5.0.4").status_code == 200
    with database.connection_context():  # within the hour: not pruned again
        assert ApiKeyUsageAddress.select().where(ApiKeyUsageAddress.address == "10.5.0.3").count() == 1


@pytest.mark.parametrize("value, message", [
    ("soon", "KEYDESK_USAGE_RETENTION must be a time value such as 90d, got 'soon'"),
    ("12h", "KEYDESK_USAGE_RETENTION must be at least 1d, got '12h'"),
    ("99999999d", "durations beyond 36500d"),
])
def test_a_bad_retention_setting_is_named(tmp_path, value, message):
    from webapp import create_app

    with pytest.raises(ConfigurationError, match=message):
        create_app({"SECRET_KEY": "k", "KEYDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                    "KEYDESK_USAGE_RETENTION": value})


def test_who_sees_a_keys_usage(call, people):
    alices = create_key(call, ALICE, "alices")
    bobs = create_key(call, BOB, "bobs")
    assert usage(call, alices["id"])["id"] == alices["id"]
    assert usage(call, alices["id"], READER)["id"] == alices["id"]  # read_security sees every key
    for auth, key_id in ((BOB, alices["id"]), (ALICE, bobs["id"]), (as_key(bobs), alices["id"]),
                         (ALICE, "no-such-key"), (ALICE, "x" * 300)):
        response = call("GET", f"/_keydesk/api_key/{key_id}/_usage", auth)
        body = response.get_json()
        assert response.status_code == 404, body
        assert body["error"]["type"] == "resource_not_found_exception" and body["status"] == 404
        assert body["error"]["root_cause"][0]["type"] == "resource_not_found_exception"
        # the same answer as Keydesk's view of the key
        assert call("GET", f"/_keydesk/api_key/{key_id}", auth).status_code == 404
    assert usage(call, bobs["id"], as_key(bobs))["id"] == bobs["id"]  # a key sees itself
    anonymous = call("GET", f"/_keydesk/api_key/{alices['id']}/_usage", {})
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["type"] == "security_exception"


def test_the_endpoint_takes_no_parameters_and_only_get(call, people):
    key = create_key(call, ALICE)
    odd = call("GET", f"/_keydesk/api_key/{key['id']}/_usage?days=7", ALICE)
    assert odd.status_code == 400 and odd.get_json()["error"]["type"] == "illegal_argument_exception"
    assert "days" in odd.get_json()["error"]["reason"]
    posted = call("POST", f"/_keydesk/api_key/{key['id']}/_usage", ALICE, {})
    assert posted.status_code == 405 and posted.get_json()["status"] == 405
    pretty = call("GET", f"/_keydesk/api_key/{key['id']}/_usage?filter_path=id,never_used", ALICE)
    assert pretty.get_json() == {"id": key["id"], "never_used": True}


def test_unused_state_counts_from_creation_or_last_use(call, people, monkeypatch):
    monkeypatch.setattr("webapp.clock._shift_ms", -95 * DAY_MS)
    old = create_key(call, ALICE, "old")
    monkeypatch.setattr("webapp.clock._shift_ms", 0)
    body = usage(call, old["id"])
    assert (body["never_used"], body["unused"], body["unused_days"]) == (True, True, 95)
    with database.connection_context():
        ApiKey.update(last_used=now_ms() - 91 * DAY_MS).where(ApiKey.id == old["id"]).execute()
    body = usage(call, old["id"])
    assert (body["never_used"], body["unused"], body["unused_days"]) == (False, True, 91)
    fresh = create_key(call, ALICE, "fresh")
    assert usage(call, fresh["id"])["unused"] is False


def test_upgrade_from_version_7_creates_the_usage_tables_and_the_idle_index(call, people):
    key = create_key(call, ALICE)
    with database.connection_context():
        database.drop_tables([ApiKeyUsageHour, ApiKeyUsageDay, ApiKeyUsageAddress])
        database.execute_sql('DROP INDEX IF EXISTS "api_key_list_idle"')
        Setting.update(value=7).where(Setting.name == "schema.version").execute()
        assert upgrade.upgrade_schema() == (7, upgrade.SCHEMA_VERSION)
        assert all(model.table_exists() for model in (ApiKeyUsageHour, ApiKeyUsageDay, ApiKeyUsageAddress))
        assert "api_key_list_idle" in {index.name for index in database.get_indexes("api_key")}
        upgrade.lifecycle_tables(database)  # running it again changes nothing
        assert not is_sqlite() or database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert call("GET", "/_security/_authenticate", as_key(key)).status_code == 200
    flush()
    assert usage(call, key["id"])["days"][-1]["requests"] == 1


def test_a_fresh_database_has_the_idle_index(db):
    assert "api_key_list_idle" in {index.name for index in database.get_indexes("api_key")}


def _date(ms):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _hour(ms):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:00:00Z")


def _encode(key_id, secret):
    import base64

    return base64.b64encode(f"{key_id}:{secret}".encode()).decode()
