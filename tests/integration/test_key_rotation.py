"""Key rotation: the service's rules, the clock's grace window, racing rotations, the schema upgrade, and
POST /_keydesk/api_key/{id}/_rotate over HTTP (the pages are in test_key_rotation_pages.py)."""

import json
import threading

import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, basic_header
from webapp.clock import DAY_MS, now_ms
from webapp.errors import AuthenticationFailed, Conflict, DomainError, NotFound, Unauthorized
from webapp.model import ApiKey, AuditEvent, Setting, User
from webapp.model.db import database, is_sqlite
from webapp.services.access.authentication import authenticate_api_key
from webapp.services.access.system import system_subject
from webapp.services.admin import license, roles
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys import rotation
from webapp.services.schema import upgrade

HOUR_MS = 3_600_000
ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)


@pytest.fixture
def people(db, make_user, subject_of):
    roles.put_role(system_subject(), "deployer", {"cluster": ["manage_own_api_key", "monitor"]})
    return {
        "elastic": subject_of(User.get((User.username == "elastic") & (User.realm == "reserved"))),
        "alice": subject_of(make_user("alice", ["deployer"])),
        "bob": subject_of(make_user("bob", ["api_key_user"])),
        "admin": subject_of(make_user("admin", ["api_key_admin"])),
        "reader": subject_of(make_user("reader", ["security_viewer"])),
    }


def move_clock(monkeypatch, ms):
    """Move "now" for the whole app (webapp.clock is the one place that reads the time)."""
    import webapp.clock

    monkeypatch.setattr(webapp.clock, "_shift_ms", webapp.clock._shift_ms + ms)


def works(created):
    """Does the credential `created` (CreatedKey) authenticate right now?"""
    try:
        authenticate_api_key(created.encoded)
        return True
    except AuthenticationFailed:
        return False


# ---- what the successor is ------------------------------------------------------------------------------

def test_the_successor_copies_the_key_and_both_link_to_each_other(people):
    alice = people["alice"]
    old = api_keys.create_api_key(alice, name="deploy", expiration="10d", metadata={"team": "ops"},
                                  role_descriptors={"ro": {"cluster": ["monitor"]}})
    ApiKey.update(limited_by=[{"stale": {"cluster": []}}]).where(ApiKey.id == old.id).execute()
    before = now_ms()
    rotated = rotation.rotate_api_key(alice, old.id, grace_period="3h")
    new, previous = ApiKey.get_by_id(rotated.created.id), ApiKey.get_by_id(old.id)
    assert (new.name, new.type, new.metadata, new.owner) == ("deploy", "rest", {"team": "ops"}, "alice@native")
    assert new.role_descriptors == previous.role_descriptors and "ro" in new.role_descriptors
    assert list(new.limited_by[0]) == ["deployer"]  # the owner's roles snapshotted again, as an update does
    # The expiry length carries over: 10 days after its creation, so 10 days after now.
    assert new.expiration - new.creation == previous.creation + 10 * DAY_MS - previous.creation
    assert new.creation >= before
    assert (new.rotated_from, new.replaced_by, previous.replaced_by) == (old.id, None, new.id)
    assert previous.expiration == new.creation + 3 * HOUR_MS == rotated.previous_stops
    assert rotated.created.api_key != old.api_key and works(rotated.created) and works(old)


def test_never_expiring_stays_never_and_a_sooner_expiry_is_kept(people):
    alice = people["alice"]
    forever = api_keys.create_api_key(alice, name="forever")
    rotated = rotation.rotate_api_key(alice, forever.id)  # the default window: 24 hours
    assert ApiKey.get_by_id(rotated.created.id).expiration is None
    assert ApiKey.get_by_id(forever.id).expiration == ApiKey.get_by_id(rotated.created.id).creation + DAY_MS
    soon = api_keys.create_api_key(alice, name="soon", expiration="1h")
    ends = ApiKey.get_by_id(soon.id).expiration
    rotated = rotation.rotate_api_key(alice, soon.id, grace_period="7d")
    assert ApiKey.get_by_id(soon.id).expiration == ends == rotated.previous_stops


def test_the_old_key_works_in_the_window_and_is_refused_after_it(people, monkeypatch):
    alice = people["alice"]
    old = api_keys.create_api_key(alice, name="svc")
    rotated = rotation.rotate_api_key(alice, old.id, grace_period="30m")
    move_clock(monkeypatch, 29 * 60_000)
    assert works(old) and works(rotated.created)
    move_clock(monkeypatch, 60_001)
    with pytest.raises(AuthenticationFailed) as refused:
        authenticate_api_key(old.encoded)
    assert refused.value.extra["additional_unsuccessful_credentials"] == "API key: api key is expired"
    assert works(rotated.created)


def test_a_zero_grace_period_stops_the_old_key_at_once(people):
    alice = people["alice"]
    old = api_keys.create_api_key(alice, name="leaked")
    rotated = rotation.rotate_api_key(alice, old.id, grace_period="0")
    assert not works(old) and works(rotated.created)


def test_cross_cluster_keys_rotate_with_their_access(people):
    license.set_license(system_subject(), "trial")
    elastic = people["elastic"]
    access = {"search": [{"names": ["logs-*"]}]}
    old = api_keys.create_cross_cluster_api_key(elastic, name="cc", access=access)
    rotated = rotation.rotate_api_key(elastic, old.id)
    new = ApiKey.get_by_id(rotated.created.id)
    assert new.type == "cross_cluster" and new.limited_by is None
    previous = ApiKey.get_by_id(old.id)
    assert new.access == previous.access and new.role_descriptors == previous.role_descriptors
    license.set_license(system_subject(), "basic")
    with pytest.raises(DomainError) as refused:
        rotation.rotate_api_key(elastic, new.id)
    assert refused.value.status == 403 and "non-compliant" in refused.value.reason


def test_every_rotation_is_audited_once_without_the_secret(people):
    alice = people["alice"]
    old = api_keys.create_api_key(alice, name="audited")
    rotated = rotation.rotate_api_key(alice, old.id, grace_period="1h")
    events = list(AuditEvent.select().where(AuditEvent.action == "api_key.rotate"))
    assert len(events) == 1 and events[0].target_id == old.id and events[0].actor_username == "alice"
    assert events[0].after["replaced_by"] == rotated.created.id and events[0].after["grace_period_ms"] == HOUR_MS
    assert events[0].after["successor"]["id"] == rotated.created.id
    row = json.dumps([events[0].before, events[0].after])
    assert rotated.created.api_key not in row and rotated.created.encoded not in row and "secret" not in row


# ---- who may rotate, and which keys ---------------------------------------------------------------------

def test_refusals_follow_the_update_rule(people, app):
    alice = people["alice"]
    key = api_keys.create_api_key(alice, name="mine")
    with pytest.raises(NotFound):
        rotation.rotate_api_key(people["bob"], key.id)  # another user's key: not found, as for an update
    with pytest.raises(NotFound):
        rotation.rotate_api_key(people["admin"], key.id)  # manage_api_key doesn't make it theirs
    with pytest.raises(Unauthorized):
        rotation.rotate_api_key(people["reader"], key.id)
    as_key = authenticate_api_key(api_keys.create_api_key(
        alice, name="acting", role_descriptors={"own": {"cluster": ["manage_own_api_key"]}}).encoded)
    with pytest.raises(DomainError) as refused:
        rotation.rotate_api_key(as_key, key.id)
    assert "only the owner user can update an API key" in refused.value.reason
    assert ApiKey.select().where(ApiKey.rotated_from.is_null(False)).count() == 0


def test_invalidated_expired_and_rotated_keys_are_refused(people):
    alice = people["alice"]
    gone, old, done = (api_keys.create_api_key(alice, name=n) for n in ("gone", "old", "done"))
    api_keys.invalidate_api_keys(alice, ids=[gone.id], owner=True)
    ApiKey.update(expiration=now_ms() - 1).where(ApiKey.id == old.id).execute()
    successor = rotation.rotate_api_key(alice, done.id).created.id
    for key_id, reason in ((gone.id, f"cannot rotate invalidated API key [{gone.id}]"),
                           (old.id, f"cannot rotate expired API key [{old.id}]"),
                           (done.id, f"cannot rotate API key [{done.id}]: it was already rotated, its successor "
                                     f"is [{successor}]")):
        with pytest.raises(DomainError) as refused:
            rotation.rotate_api_key(alice, key_id)
        assert (refused.value.status, refused.value.type, refused.value.reason) == (
            400, "illegal_argument_exception", reason)
    assert ApiKey.select().count() == 4  # the three keys and the one successor


@pytest.mark.parametrize("value, type_, reason", [
    ("soon", "parse_exception", "failed to parse setting [grace_period] with value [soon] as a time value: unit is "
                                "missing or unrecognized"),
    ("31d", "illegal_argument_exception", "[grace_period] may be at most [30d], found [31d]"),
    ("99999999999999999999999d", "illegal_argument_exception", "[grace_period] may be at most [30d], found "
                                                               "[99999999999999999999999d]"),
    ("-1h", "parse_exception", "failed to parse setting [grace_period] with value [-1h] as a time value: unit is "
                               "missing or unrecognized"),
])
def test_grace_periods_are_time_values_of_at_most_30_days(people, value, type_, reason):
    alice = people["alice"]
    key = api_keys.create_api_key(alice, name="k")
    with pytest.raises(DomainError) as refused:
        rotation.rotate_api_key(alice, key.id, grace_period=value)
    assert (refused.value.status, refused.value.type, refused.value.reason) == (400, type_, reason)
    assert refused.value.field == "grace_period" and ApiKey.get_by_id(key.id).replaced_by is None
    assert rotation.grace_period_ms("30d") == 30 * DAY_MS and rotation.grace_period_ms("0") == 0


# ---- two rotations at once ------------------------------------------------------------------------------

def test_two_rotations_at_once_one_wins(people):
    alice = people["alice"]
    key = api_keys.create_api_key(alice, name="raced")
    barrier, outcomes = threading.Barrier(2), []

    def rotate():
        with database.connection_context():
            barrier.wait()
            try:
                outcomes.append(rotation.rotate_api_key(alice, key.id).created.id)
            except DomainError as error:
                outcomes.append(error)

    threads = [threading.Thread(target=rotate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    won = [o for o in outcomes if isinstance(o, str)]
    lost = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(won) == 1 and len(lost) == 1 and "already rotated" in lost[0].reason
    assert [k.id for k in ApiKey.select().where(ApiKey.rotated_from == key.id)] == won
    assert ApiKey.get_by_id(key.id).replaced_by == won[0]
    assert AuditEvent.select().where(AuditEvent.action == "api_key.rotate").count() == 1


def test_a_stale_read_loses_the_claim_and_inserts_nothing(people, monkeypatch):
    """Without the row lock (a read taken before another rotation committed), the conditional UPDATE alone
    keeps the key to one successor: the second transaction rolls back its insert."""
    alice = people["alice"]
    key = api_keys.create_api_key(alice, name="stale")
    stale = ApiKey.get_by_id(key.id)
    first = rotation.rotate_api_key(alice, key.id).created.id
    monkeypatch.setattr(rotation, "load_for_update", lambda *args, **kwargs: stale)
    with pytest.raises(DomainError) as refused:
        rotation.rotate_api_key(alice, key.id)
    assert f"its successor is [{first}]" in refused.value.reason
    assert ApiKey.select().where(ApiKey.rotated_from == key.id).count() == 1
    # A read older than an update (the version moved on) loses too, with a conflict.
    other = api_keys.create_api_key(alice, name="updated")
    stale = ApiKey.get_by_id(other.id)
    api_keys.update_api_key(alice, other.id, metadata={"v": 2})
    with pytest.raises(Conflict):
        rotation.rotate_api_key(alice, other.id)
    assert ApiKey.select().where(ApiKey.rotated_from == other.id).count() == 0


# ---- schema version 6 -----------------------------------------------------------------------------------

def test_upgrading_a_version_5_database_adds_the_rotation_columns(people):
    alice = people["alice"]
    kept = api_keys.create_api_key(alice, name="kept")
    for column in upgrade.ROTATION_COLUMNS:
        database.execute_sql(f'DROP INDEX IF EXISTS "api_key_{column}"')
        database.execute_sql(f'ALTER TABLE "api_key" DROP COLUMN "{column}"')
    Setting.update(value=5).where(Setting.name == "schema.version").execute()
    assert upgrade.MIGRATIONS[6] is upgrade.key_rotation
    assert upgrade.upgrade_schema() == (5, upgrade.SCHEMA_VERSION)
    # (On SQLite an index named before its column exists would index a string constant: a corrupt index.)
    assert not is_sqlite() or database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {c.name for c in database.get_columns("api_key")} >= {"rotated_from", "replaced_by"}
    indexes = {i.name for i in database.get_indexes("api_key")}
    assert {"api_key_rotated_from", "api_key_replaced_by"} <= indexes
    assert rotation.rotate_api_key(alice, kept.id).previous_id == kept.id  # the key kept, and rotates
    upgrade.key_rotation(database)  # running it again changes nothing
    assert not is_sqlite() or database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"


# ---- the HTTP endpoint ----------------------------------------------------------------------------------

@pytest.fixture
def call(client):
    def do(method, path, auth, body=None, **headers):
        data = None if body is None else json.dumps(body)
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        response = client.open(path, method=method, headers={**auth, **headers}, data=data)
        return response

    return do


def test_the_endpoint_answers_the_successor_once_and_links_both(call, people):
    alice = basic_header("alice", USER_PASSWORD)
    old = call("POST", "/_security/api_key", alice, {"name": "svc", "expiration": "2d"}).get_json()
    response = call("POST", f"/_keydesk/api_key/{old['id']}/_rotate", alice, {"grace_period": "30m"})
    body = response.get_json()
    assert response.status_code == 200 and list(body) == [
        "id", "name", "expiration", "api_key", "encoded", "rotated_from", "previous_key"]
    assert body["rotated_from"] == old["id"] and body["previous_key"]["replaced_by"] == body["id"]
    assert body["previous_key"]["id"] == old["id"] and body["name"] == "svc"
    stored = ApiKey.get_by_id(old["id"])
    assert body["previous_key"]["expiration"] == stored.expiration == ApiKey.get_by_id(body["id"]).creation + 1_800_000
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Elastic-Product"] == "Elasticsearch"
    whoami = call("GET", "/_security/_authenticate", {"Authorization": f"ApiKey {body['encoded']}"})
    assert whoami.status_code == 200 and whoami.get_json()["api_key"]["id"] == body["id"]
    # Elasticsearch's answers keep Elasticsearch's shape: no rotation fields anywhere.
    for path in (f"/_security/api_key?id={old['id']}&owner=true", "/_security/api_key?owner=true"):
        text = call("GET", path, alice).get_data(as_text=True)
        assert "rotated_from" not in text and "replaced_by" not in text and old["id"] in text
    text = call("POST", "/_security/_query/api_key", alice, {"query": {"match_all": {}}}).get_data(as_text=True)
    assert "rotated_from" not in text and "replaced_by" not in text and body["id"] in text


def test_the_endpoint_speaks_the_apis_media_types_and_errors(call, client, people):
    alice = basic_header("alice", USER_PASSWORD)
    key = call("POST", "/_security/api_key", alice, {"name": "k"}).get_json()["id"]
    vendor = "application/vnd.elasticsearch+json; compatible-with=8"
    response = call("POST", f"/_keydesk/api_key/{key}/_rotate?filter_path=id,rotated_from", alice, {},
                    **{"Content-Type": vendor, "Accept": vendor})
    assert response.status_code == 200 and list(response.get_json()) == ["id", "rotated_from"]
    assert response.headers["Content-Type"] == "application/vnd.elasticsearch+json;compatible-with=8"
    cases = [
        (call("POST", f"/_keydesk/api_key/{key}/_rotate", alice), 400, "illegal_argument_exception",
         f"cannot rotate API key [{key}]: it was already rotated"),
        (call("POST", "/_keydesk/api_key/AAAAAAAAAAAAAAAAAAAA/_rotate", alice), 404, "resource_not_found_exception",
         "no API key owned by requesting user found for ID [AAAAAAAAAAAAAAAAAAAA]"),
        (call("POST", f"/_keydesk/api_key/{key}/_rotate", alice, {"grace_period": 5}), 400,
         "x_content_parse_exception", "[rotate_api_key_request] grace_period doesn't support values of type: "
                                      "VALUE_NUMBER"),
        (call("POST", f"/_keydesk/api_key/{key}/_rotate", alice, {"grace": "1h"}), 400, "x_content_parse_exception",
         "[rotate_api_key_request] unknown field [grace]"),
        (call("POST", f"/_keydesk/api_key/{key}/_rotate", alice, {"grace_period": "40d"}), 400,
         "illegal_argument_exception", "[grace_period] may be at most [30d], found [40d]"),
        (call("POST", f"/_keydesk/api_key/{key}/_rotate?force=true", alice), 400, "illegal_argument_exception",
         "contains unrecognized parameter: [force]"),
        (call("POST", f"/_keydesk/api_key/{key}/_rotate", basic_header("reader", USER_PASSWORD)), 403,
         "security_exception", "action [cluster:admin/xpack/security/api_key/update] is unauthorized for user "
                               "[reader]"),
        (call("POST", f"/_keydesk/api_key/{key}/_rotate", {}), 401, "security_exception", "missing authentication"),
        (call("GET", f"/_keydesk/api_key/{key}/_rotate", alice), 405, "illegal_argument_exception",
         "Incorrect HTTP method"),
        (call("POST", "/_keydesk/api_key", alice), 400, "illegal_argument_exception", "no handler found for uri"),
    ]
    for response, status, error_type, reason in cases:
        body = response.get_json()
        assert response.status_code == status, body
        assert body["error"]["type"] == error_type and reason in body["error"]["reason"], body
        assert body["status"] == status and body["error"]["root_cause"][0]["type"] == error_type
    refused = client.post(f"/_keydesk/api_key/{key}/_rotate", headers={**alice, "Content-Type": "application/json"},
                          data="{not json")
    assert refused.status_code == 400 and refused.get_json()["error"]["type"] == "x_content_parse_exception"
    wrong_type = call("POST", f"/_keydesk/api_key/{key}/_rotate", alice, {"grace_period": "1h"},
                      **{"Content-Type": "text/plain"})
    assert wrong_type.status_code == 406 and wrong_type.get_json()["error"]["type"] == "media_type_header_exception"


def test_an_api_key_may_not_rotate_even_its_own_owners_keys(call, people):
    alice = basic_header("alice", USER_PASSWORD)
    target = call("POST", "/_security/api_key", alice, {"name": "target"}).get_json()["id"]
    acting = call("POST", "/_security/api_key", alice, {
        "name": "acting", "role_descriptors": {"own": {"cluster": ["manage_own_api_key"]}}}).get_json()
    response = call("POST", f"/_keydesk/api_key/{target}/_rotate", {"Authorization": f"ApiKey {acting['encoded']}"})
    assert response.status_code == 400
    assert "only the owner user can update an API key" in response.get_json()["error"]["reason"]
    other = call("POST", f"/_keydesk/api_key/{target}/_rotate", ELASTIC)
    assert other.status_code == 404  # a superuser rotates only its own keys, as it updates only its own


def test_the_old_key_over_http_until_the_window_ends(call, people, monkeypatch):
    alice = basic_header("alice", USER_PASSWORD)
    old = call("POST", "/_security/api_key", alice, {"name": "svc"}).get_json()
    new = call("POST", f"/_keydesk/api_key/{old['id']}/_rotate", alice, {"grace_period": "2h"}).get_json()
    old_auth, new_auth = ({"Authorization": f"ApiKey {k['encoded']}"} for k in (old, new))
    move_clock(monkeypatch, 2 * HOUR_MS - 60_000)
    assert call("GET", "/_security/_authenticate", old_auth).status_code == 200
    move_clock(monkeypatch, 60_000)
    refused = call("GET", "/_security/_authenticate", old_auth)
    assert refused.status_code == 401 and refused.get_json()["error"]["additional_unsuccessful_credentials"] == (
        "API key: api key is expired")
    assert call("GET", "/_security/_authenticate", new_auth).status_code == 200
    again = call("POST", f"/_keydesk/api_key/{old['id']}/_rotate", alice)
    assert again.status_code == 400 and again.get_json()["error"]["reason"] == (
        f"cannot rotate expired API key [{old['id']}]")
