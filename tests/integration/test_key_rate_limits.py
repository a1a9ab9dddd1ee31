"""Per-key rate limits: the value's rules, who may set it, the audit row, the schema upgrade, and enforcement at
verification over HTTP (429 es_rejected_execution_exception with Retry-After). Runs on SQLite and PostgreSQL
(KEYDESK_TEST_DATABASE_URL); counters in the default database:// throttle storage."""

import json

import pytest

from tests.conftest import USER_PASSWORD, basic_header
from webapp.errors import DomainError, NotFound, Unauthorized
from webapp.model import ApiKey, AuditEvent, Setting, User
from webapp.model.db import database, is_sqlite
from webapp.services.access.system import system_subject
from webapp.services.admin import roles
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys import keydesk_view, request_limit, rotation
from webapp.services.schema import upgrade

ALICE = basic_header("alice", USER_PASSWORD)


@pytest.fixture
def people(db, make_user, subject_of):
    roles.put_role(system_subject(), "deployer", {"cluster": ["manage_own_api_key", "monitor"]})
    return {
        "alice": subject_of(make_user("alice", ["deployer"])),
        "bob": subject_of(make_user("bob", ["api_key_user"])),
        "admin": subject_of(make_user("admin", ["api_key_admin"])),
        "reader": subject_of(make_user("reader", ["security_viewer"])),
    }


@pytest.fixture
def call(client):
    def do(method, path, auth, body=None, raw=None, **headers):
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        return client.open(path, method=method, headers={**auth, **headers}, data=data)

    return do


def key_header(created):
    encoded = created["encoded"] if isinstance(created, dict) else created.encoded
    return {"Authorization": f"ApiKey {encoded}"}


# ---- the value ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "seconds"), [
    ({"requests": 1, "per": "1s"}, 1), ({"requests": 100, "per": "1m"}, 60),
    ({"requests": 1_000_000, "per": "1d"}, 86_400), ({"requests": 5, "per": "90s"}, 90),
    ({"requests": 5, "per": "24h"}, 86_400)])
def test_good_values(value, seconds):
    limit = request_limit.parse_rate_limit(value)
    assert limit.seconds == seconds and limit.to_json() == value


@pytest.mark.parametrize(("value", "message"), [
    ({"requests": 0, "per": "1m"}, "[rate_limit.requests] must be from [1] to [1000000], found [0]"),
    ({"requests": 1_000_001, "per": "1m"}, "found [1000001]"),
    ({"requests": "10", "per": "1m"}, "[rate_limit.requests] must be a whole number, found [10]"),
    ({"requests": 1.5, "per": "1m"}, "must be a whole number"),
    ({"requests": True, "per": "1m"}, "must be a whole number"),
    ({"requests": 10, "per": "0s"}, "[rate_limit.per] must be from [1s] to [1d], found [0s]"),
    ({"requests": 10, "per": "2d"}, "found [2d]"),
    ({"requests": 10, "per": "25h"}, "found [25h]"),
    ({"requests": 10, "per": "500ms"}, "failed to parse [rate_limit.per] with value [500ms] as a time value"),
    ({"requests": 10, "per": "soon"}, "as a time value"),
    ({"requests": 10, "per": 60}, "with value [60] as a time value"),
    ({"requests": 10}, "[rate_limit.per] is required"),
    ({"per": "1m"}, "[rate_limit.requests] is required"),
    ({"requests": 10, "per": "1m", "burst": 3}, "[rate_limit] unknown field [burst]"),
    ("100/m", "[rate_limit] must be an object"),
])
def test_bad_values_are_refused_with_the_field_named(value, message):
    with pytest.raises(DomainError) as refused:
        request_limit.parse_rate_limit(value)
    assert message in refused.value.reason and refused.value.status == 400
    assert refused.value.field.startswith("rate_limit")


# ---- the service ----------------------------------------------------------------------------------------

def test_set_and_remove_follow_the_update_rule_and_are_audited(people):
    alice, bob = people["alice"], people["bob"]
    key = api_keys.create_api_key(alice, name="svc")
    version = ApiKey.get_by_id(key.id).version
    changed, view = keydesk_view.set_rate_limit(alice, key.id, {"requests": 10, "per": "1m"})
    assert changed and view["rate_limit"] == {"requests": 10, "per": "1m"}
    stored = ApiKey.get_by_id(key.id)
    assert stored.rate_limit == {"requests": 10, "per": "1m"} and stored.version == version + 1
    assert stored.metadata == {}  # its own column, not metadata
    assert keydesk_view.set_rate_limit(alice, key.id, {"requests": 10, "per": "1m"})[0] is False  # a no-op
    event = AuditEvent.get((AuditEvent.action == "api_key.rate_limit") & (AuditEvent.target_id == key.id))
    assert event.after["rate_limit"] == {"requests": 10, "per": "1m"} and event.before["rate_limit"] is None
    with pytest.raises(NotFound):  # another user's key, even for someone who manages every key
        keydesk_view.set_rate_limit(people["admin"], key.id, None)
    with pytest.raises(NotFound):
        keydesk_view.set_rate_limit(bob, key.id, None)
    with pytest.raises(Unauthorized):
        keydesk_view.set_rate_limit(people["reader"], key.id, None)
    assert keydesk_view.set_rate_limit(alice, key.id, None) == (True, {**view, "rate_limit": None})
    assert ApiKey.get_by_id(key.id).rate_limit is None
    assert AuditEvent.select().where(AuditEvent.action == "api_key.rate_limit").count() == 2


def test_create_update_and_rotation_carry_the_limit(people):
    alice = people["alice"]
    key = api_keys.create_api_key(alice, name="svc", rate_limit={"requests": 3, "per": "1s"})
    assert ApiKey.get_by_id(key.id).rate_limit == {"requests": 3, "per": "1s"}
    create_event = AuditEvent.get((AuditEvent.action == "api_key.create") & (AuditEvent.target_id == key.id))
    assert "rate_limit" in str(create_event.after)
    assert api_keys.update_api_key(alice, key.id, rate_limit={"requests": 4, "per": "1h"})
    assert ApiKey.get_by_id(key.id).rate_limit == {"requests": 4, "per": "1h"}
    successor = rotation.rotate_api_key(alice, key.id).created
    assert ApiKey.get_by_id(successor.id).rate_limit == {"requests": 4, "per": "1h"}
    with pytest.raises(DomainError, match="rate_limit.requests"):
        api_keys.create_api_key(alice, name="bad", rate_limit={"requests": -1, "per": "1s"})
    assert not ApiKey.select().where(ApiKey.name == "bad").exists()


def test_an_api_key_or_an_invalidated_key_cannot_be_changed(people):
    alice = people["alice"]
    key = api_keys.create_api_key(alice, name="svc")
    from webapp.services.access.authentication import authenticate_api_key

    via_key = authenticate_api_key(key.encoded)
    with pytest.raises(DomainError, match="only the owner user can update an API key"):
        keydesk_view.set_rate_limit(via_key, key.id, {"requests": 1, "per": "1s"})
    api_keys.invalidate_api_keys(alice, ids=[key.id], owner=True)
    with pytest.raises(DomainError, match="cannot update invalidated API key"):
        keydesk_view.set_rate_limit(alice, key.id, {"requests": 1, "per": "1s"})


def test_upgrading_a_version_6_database_adds_the_column(people):
    alice = people["alice"]
    kept = api_keys.create_api_key(alice, name="kept")
    database.execute_sql('ALTER TABLE "api_key" DROP COLUMN "rate_limit"')
    Setting.update(value=6).where(Setting.name == "schema.version").execute()
    assert upgrade.MIGRATIONS[7] is upgrade.key_rate_limits
    assert upgrade.upgrade_schema() == (6, upgrade.SCHEMA_VERSION)
    assert "rate_limit" in {c.name for c in database.get_columns("api_key")}
    assert ApiKey.get_by_id(kept.id).rate_limit is None
    assert keydesk_view.set_rate_limit(alice, kept.id, {"requests": 2, "per": "1m"})[0]
    upgrade.key_rate_limits(database)  # running it again changes nothing
    assert not is_sqlite() or database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"


# ---- over HTTP ------------------------------------------------------------------------------------------

def refused_as_es(response, key_id, limit_text):
    body = response.get_json()
    assert response.status_code == 429, body
    assert int(response.headers["Retry-After"]) >= 1
    assert body["status"] == 429 and body["error"]["type"] == "es_rejected_execution_exception"
    assert body["error"]["root_cause"][0]["type"] == "es_rejected_execution_exception"
    assert f"API key [{key_id}]" in body["error"]["reason"] and limit_text in body["error"]["reason"], body
    assert response.headers["X-Elastic-Product"] == "Elasticsearch"


def test_the_limit_is_enforced_on_every_api_call_and_changes_take_effect_at_once(call, people):
    limited = call("POST", "/_security/api_key", ALICE, {"name": "limited"}).get_json()
    free = call("POST", "/_security/api_key", ALICE, {"name": "free"}).get_json()
    put = call("PUT", f"/_keydesk/api_key/{limited['id']}/_rate_limit", ALICE,
               {"rate_limit": {"requests": 3, "per": "1m"}})
    assert put.status_code == 200 and put.get_json()["updated"] is True
    assert put.get_json()["api_key"]["rate_limit"] == {"requests": 3, "per": "1m"}
    paths = ["/_security/_authenticate", "/_security/api_key?owner=true", "/_security/_authenticate"]
    for path in paths:
        assert call("GET", path, key_header(limited)).status_code == 200
    refused_as_es(call("GET", "/_security/_authenticate", key_header(limited)), limited["id"],
                  "at most [3] requests per [1m]")
    refused_as_es(call("GET", "/", key_header(limited), Accept="application/json"), limited["id"], "[3]")
    for _ in range(10):  # a key without a limit is unaffected
        assert call("GET", "/_security/_authenticate", key_header(free)).status_code == 200
    # A new limit counts afresh at once; removing it lifts it at once.
    assert call("PUT", f"/_keydesk/api_key/{limited['id']}/_rate_limit", ALICE,
                {"rate_limit": {"requests": 1, "per": "1h"}}).status_code == 200
    assert call("GET", "/_security/_authenticate", key_header(limited)).status_code == 200
    refused_as_es(call("GET", "/_security/_authenticate", key_header(limited)), limited["id"],
                  "at most [1] requests per [1h]")
    removed = call("PUT", f"/_keydesk/api_key/{limited['id']}/_rate_limit", ALICE, {"rate_limit": None})
    assert removed.status_code == 200 and removed.get_json()["api_key"]["rate_limit"] is None
    for _ in range(5):
        assert call("GET", "/_security/_authenticate", key_header(limited)).status_code == 200
    assert call("PUT", f"/_keydesk/api_key/{limited['id']}/_rate_limit", ALICE,
                {"rate_limit": {"requests": 1, "per": "1h"}}).status_code == 200
    deleted = call("DELETE", f"/_keydesk/api_key/{limited['id']}/_rate_limit", ALICE)
    assert deleted.status_code == 200 and deleted.get_json()["api_key"]["rate_limit"] is None
    assert call("GET", "/_security/_authenticate", key_header(limited)).status_code == 200


def test_a_wrong_secret_is_still_a_401_and_is_not_counted(call, people):
    limited = call("POST", "/_security/api_key", ALICE, {"name": "limited"}).get_json()
    call("PUT", f"/_keydesk/api_key/{limited['id']}/_rate_limit", ALICE, {"rate_limit": {"requests": 1, "per": "1m"}})
    import base64

    wrong = base64.b64encode(f"{limited['id']}:{'x' * 22}".encode()).decode()
    assert call("GET", "/_security/_authenticate", {"Authorization": f"ApiKey {wrong}"}).status_code == 401
    assert call("GET", "/_security/_authenticate", key_header(limited)).status_code == 200


def test_keydesk_view_shows_the_limit_and_elasticsearch_answers_never_do(call, people):
    key = call("POST", "/_security/api_key", ALICE, {"name": "svc"}).get_json()
    call("PUT", f"/_keydesk/api_key/{key['id']}/_rate_limit", ALICE, {"rate_limit": {"requests": 50, "per": "1h"}})
    view = call("GET", f"/_keydesk/api_key/{key['id']}", ALICE)
    assert view.status_code == 200
    assert view.get_json()["rate_limit"] == {"requests": 50, "per": "1h"} and view.get_json()["name"] == "svc"
    reader = call("GET", f"/_keydesk/api_key/{key['id']}", basic_header("reader", USER_PASSWORD))
    assert reader.status_code == 200 and reader.get_json()["rate_limit"] == {"requests": 50, "per": "1h"}
    assert call("GET", f"/_keydesk/api_key/{key['id']}", basic_header("bob", USER_PASSWORD)).status_code == 404
    for method, path, body in (("GET", f"/_security/api_key?id={key['id']}&owner=true", None),
                               ("GET", "/_security/api_key?owner=true", None),
                               ("POST", "/_security/_query/api_key", {"query": {"match_all": {}}}),
                               ("GET", "/_security/_authenticate", None)):
        auth = key_header(key) if path.endswith("_authenticate") else ALICE
        text = call(method, path, auth, body).get_data(as_text=True)
        assert "rate_limit" not in text and key["id"] in text
    refused = call("POST", "/_security/api_key", ALICE, {"name": "x", "rate_limit": {"requests": 1, "per": "1s"}})
    assert refused.status_code == 400 and "unknown field [rate_limit]" in refused.get_json()["error"]["reason"]


@pytest.mark.parametrize(("body", "raw", "status", "reason"), [
    ({"rate_limit": {"requests": 0, "per": "1m"}}, None, 400, "[rate_limit.requests] must be from [1] to [1000000]"),
    ({"rate_limit": {"requests": 5, "per": "7d"}}, None, 400, "[rate_limit.per] must be from [1s] to [1d]"),
    ({"rate_limit": {"requests": 5, "per": "x"}}, None, 400, "as a time value"),
    ({"rate_limit": {"requests": 5}}, None, 400, "[rate_limit.per] is required"),
    ({"rate_limit": {"requests": 5, "per": "1m", "x": 1}}, None, 400, "[rate_limit] unknown field [x]"),
    ({"rate_limit": "100/m"}, None, 400, "rate_limit doesn't support values of type: VALUE_STRING"),
    ({"limit": {"requests": 5, "per": "1m"}}, None, 400, "unknown field [limit]"),
    ({}, None, 400, "Required [rate_limit]"),
    (None, None, 400, "request body is required"),
    (None, '{"rate_limit": ', 400, "[1:"),
    (None, '{"rate_limit": {"requests": 1e999, "per": "1m"}}', 400, ""),
    ({"rate_limit": {"requests": 10 ** 30, "per": "1m"}}, None, 400, "[rate_limit.requests] must be from"),
    ({"rate_limit": {"requests": 5, "per": "1\u0000m"}}, None, 400, "as a time value"),
])
def test_bad_requests_get_a_400_never_a_500(call, people, body, raw, status, reason):
    key = call("POST", "/_security/api_key", ALICE, {"name": "svc"}).get_json()
    response = call("PUT", f"/_keydesk/api_key/{key['id']}/_rate_limit", ALICE, body, raw=raw)
    answer = response.get_json()
    assert response.status_code == status, answer
    assert reason in answer["error"]["reason"], answer
    assert ApiKey.get_by_id(key["id"]).rate_limit is None


def test_who_may_set_it_over_http(call, people):
    key = call("POST", "/_security/api_key", ALICE, {"name": "svc"}).get_json()
    path = f"/_keydesk/api_key/{key['id']}/_rate_limit"
    limit = {"rate_limit": {"requests": 5, "per": "1m"}}
    assert call("PUT", path, basic_header("admin", USER_PASSWORD), limit).status_code == 404
    assert call("PUT", path, basic_header("reader", USER_PASSWORD), limit).status_code == 403
    assert call("PUT", path, key_header(key), limit).status_code == 400
    assert call("PUT", path, {}, limit).status_code == 401
    assert call("PUT", "/_keydesk/api_key/AAAAAAAAAAAAAAAAAAAA/_rate_limit", ALICE, limit).status_code == 404
    assert call("GET", "/_keydesk/api_key/AAAAAAAAAAAAAAAAAAAA", ALICE).status_code == 404
    assert call("POST", path, ALICE, limit).status_code == 405
    assert call("PUT", f"{path}?force=true", ALICE, limit).status_code == 400
    assert User.select().count() >= 4


def test_a_share_above_200_requests_still_allows_exactly_the_limit_in_one_process(call, people):
    from webapp.web.key_limits import share_of

    assert [share_of(n) for n in (1, 200, 201, 450, 100_000, 1_000_000)] == [1, 1, 2, 4, 1000, 1000]
    key = call("POST", "/_security/api_key", ALICE, {"name": "big"}).get_json()
    call("PUT", f"/_keydesk/api_key/{key['id']}/_rate_limit", ALICE, {"rate_limit": {"requests": 450, "per": "1h"}})
    statuses = [call("GET", "/_security/_authenticate", key_header(key)).status_code for _ in range(455)]
    assert statuses == [200] * 450 + [429] * 5
