"""Roles, users and license endpoints over raw HTTP, for each kind of caller."""


import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, basic_header

ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)


@pytest.fixture
def app_config():
    # Many deliberate failures from one address: the limits are raised (the throttle: test_throttling.py).
    return {"KEYDESK_AUTH_FAILURES_PER_ADDRESS": "100000 per minute",
            "KEYDESK_AUTH_FAILURES_PER_CREDENTIAL": "100000 per minute"}


@pytest.fixture
def admin(make_user):
    make_user("secadmin", ["security_admin"])
    return basic_header("secadmin", USER_PASSWORD)


@pytest.fixture
def viewer(make_user):
    make_user("watcher", ["security_viewer"])
    return basic_header("watcher", USER_PASSWORD)


def test_role_lifecycle(call, admin, viewer):
    role = {"cluster": ["monitor"], "indices": [{"names": ["logs-*"], "privileges": ["read"]}],
            "description": "Reads logs"}
    assert call("PUT", "/_security/role/logs_reader", admin, role) == (200, {"role": {"created": True}})
    assert call("POST", "/_security/role/logs_reader", admin, role) == (200, {"role": {"created": False}})
    status, body = call("GET", "/_security/role/logs_reader", viewer)
    assert status == 200 and body == {"logs_reader": {
        "cluster": ["monitor"], "indices": [{"names": ["logs-*"], "privileges": ["read"],
                                             "allow_restricted_indices": False}],
        "applications": [], "run_as": [], "metadata": {}, "transient_metadata": {"enabled": True},
        "description": "Reads logs"}}
    status, body = call("GET", "/_security/role/logs_reader,superuser,nope", viewer)
    assert sorted(body) == ["logs_reader", "superuser"] and body["superuser"]["metadata"]["_reserved"] is True
    assert call("GET", "/_security/role/nope", viewer) == (404, {})
    status, every = call("GET", "/_security/role", viewer)
    assert {"superuser", "api_key_user", "logs_reader"} <= set(every)
    assert call("DELETE", "/_security/role/logs_reader", admin) == (200, {"found": True})
    assert call("DELETE", "/_security/role/logs_reader", admin) == (404, {"found": False})


def test_role_refusals(call, admin, viewer):
    status, body = call("PUT", "/_security/role/r", viewer, {"cluster": ["monitor"]})
    assert status == 403 and body["error"]["reason"] == (
        "action [cluster:admin/xpack/security/role/put] is unauthorized for user [watcher] with effective roles "
        "[security_viewer], this action is granted by the cluster privileges [manage_security,all]")
    status, body = call("PUT", "/_security/role/superuser", admin, {"cluster": ["all"]})
    assert status == 400 and body["error"]["reason"] == "Role [superuser] is reserved and may not be used."
    status, body = call("DELETE", "/_security/role/superuser", admin)
    assert status == 400 and body["error"]["reason"] == "role [superuser] is reserved and cannot be deleted"
    status, body = call("PUT", "/_security/role/r", admin, {"cluster": ["fly"]})
    assert status == 400 and body["error"]["type"] == "action_request_validation_exception"
    assert "unknown cluster privilege [fly]" in body["error"]["reason"]
    status, body = call("PUT", "/_security/role/r", admin, {"clusters": ["monitor"]})
    assert status == 400 and body["error"]["reason"] == "failed to parse role [r]. unexpected field [clusters]"
    status, body = call("GET", "/_security/role", basic_header("elastic", "wrong"))
    assert status == 401


def test_user_lifecycle(call, admin, viewer):
    user = {"password": "first-password", "roles": ["api_key_user"], "full_name": "Dana Doe",
            "email": "dana@example.com", "metadata": {"team": "ops"}}
    assert call("PUT", "/_security/user/dana", admin, user) == (200, {"created": True})
    assert call("POST", "/_security/user/dana", admin, {"full_name": "Dana D."}) == (200, {"created": False})
    status, body = call("GET", "/_security/user/dana", viewer)
    assert body == {"dana": {"username": "dana", "roles": ["api_key_user"], "full_name": "Dana D.",
                             "email": "dana@example.com", "metadata": {"team": "ops"}, "enabled": True}}
    dana = basic_header("dana", "first-password")
    assert call("GET", "/_security/_authenticate", dana)[1]["roles"] == ["api_key_user"]
    assert call("POST", "/_security/user/dana/_password", dana, {"password": "second-password"}) == (200, {})
    assert call("GET", "/_security/_authenticate", dana)[0] == 401
    dana = basic_header("dana", "second-password")
    assert call("POST", "/_security/user/_password", dana, {"password": "third-password"}) == (200, {})
    dana = basic_header("dana", "third-password")
    assert call("PUT", "/_security/user/dana/_disable", admin) == (200, {})
    assert call("GET", "/_security/_authenticate", dana)[0] == 401
    assert call("PUT", "/_security/user/dana/_enable", admin) == (200, {})
    assert call("GET", "/_security/_authenticate", dana)[0] == 200
    assert call("GET", "/_security/user/nobody-here", viewer) == (404, {})
    assert call("DELETE", "/_security/user/dana", admin) == (200, {"found": True})
    assert call("DELETE", "/_security/user/dana", admin) == (404, {"found": False})


def test_user_refusals(call, admin, viewer, make_user):
    status, body = call("PUT", "/_security/user/x", viewer, {"password": "long-enough", "roles": []})
    assert status == 403 and "user/put] is unauthorized for user [watcher]" in body["error"]["reason"]
    status, body = call("PUT", "/_security/user/x", admin, {"password": "long-enough", "role": []})
    assert status == 400 and body["error"] == {
        "root_cause": [{"type": "parse_exception",
                        "reason": "failed to parse add user request. unexpected field [role]"}],
        "type": "parse_exception", "reason": "failed to parse add user request. unexpected field [role]"}
    status, body = call("PUT", "/_security/user/x", admin, {"password": 12345678, "roles": []})
    assert body["error"]["reason"] == "expected field [password] to be of type string, but found [VALUE_NUMBER] instead"
    status, body = call("PUT", "/_security/user/x", admin, {"password": "long-enough"})
    assert status == 400 and body["error"]["reason"] == "Validation Failed: 1: roles are missing;"
    status, body = call("PUT", "/_security/user/x", admin, {"password": "long-enough", "roles": [], "username": "y"})
    assert status == 400 and body["error"]["reason"] == "[username] in source does not match the username provided [x]"
    status, body = call("PUT", "/_security/user/x", admin, {"password_hash": "$2a$10$abc", "roles": []})
    assert status == 400 and "[password_hash] is not supported" in body["error"]["reason"]
    status, body = call("DELETE", "/_security/user/elastic", admin)
    assert status == 400 and body["error"]["reason"] == "user [elastic] is reserved and cannot be deleted"
    status, body = call("POST", "/_security/user/watcher/_password", viewer, {"pass": "x"})
    assert status == 400 and body["error"]["reason"] == (
        "failed to parse change password request. unexpected field [pass]")


def test_an_api_key_cannot_change_its_owners_password(call, make_user):
    make_user("keeper", ["api_key_user"])
    keeper = basic_header("keeper", USER_PASSWORD)
    status, key = call("POST", "/_security/api_key", keeper, {"name": "k"})
    status, body = call("POST", "/_security/user/keeper/_password", {"Authorization": f"ApiKey {key['encoded']}"},
                        {"password": "taken-over"})
    assert status == 403 and "user/change_password] is unauthorized for API key id" in body["error"]["reason"]
    assert call("GET", "/_security/_authenticate", keeper)[0] == 200


def test_license_reading_and_the_trial(call, admin, viewer, make_user):
    make_user("monitor", ["monitoring_user"])
    monitor = basic_header("monitor", USER_PASSWORD)
    status, body = call("GET", "/_license", monitor)
    assert status == 200 and body["license"]["type"] == "basic" and body["license"]["status"] == "active"
    assert "expiry_date_in_millis" not in body["license"]
    status, body = call("GET", "/_license", viewer)
    assert status == 403 and body["error"]["reason"] == (
        "action [cluster:monitor/xpack/license/get] is unauthorized for user [watcher] with effective roles "
        "[security_viewer], this action is granted by the cluster privileges [monitor,manage,all]")
    status, body = call("POST", "/_license/start_trial?acknowledge=true", viewer)
    assert status == 403 and "license/start_trial] is unauthorized for user [watcher]" in body["error"]["reason"]
    status, body = call("POST", "/_license/start_trial", admin)
    assert status == 200 and body["acknowledged"] is False and body["trial_was_started"] is False
    assert body["error_message"] == "Operation failed: Needs acknowledgement."
    assert call("POST", "/_license/start_trial?acknowledge=true", admin) == (
        200, {"acknowledged": True, "trial_was_started": True, "type": "trial"})
    status, body = call("GET", "/_license", monitor)
    assert body["license"]["type"] == "trial" and body["license"]["expiry_date_in_millis"] > 0
    assert call("POST", "/_license/start_trial?acknowledge=true", admin) == (403, {
        "acknowledged": True, "trial_was_started": False,
        "error_message": "Operation failed: Trial was already activated."})
    status, body = call("POST", "/_license/start_trial?acknowledge=true&type=gold", admin)
    assert status == 400 and body["error"]["reason"] == (
        "Cannot start trial of type [gold]. Valid trial types are [trial].")


def test_cached_credentials_see_role_changes_at_once(call, admin, make_user):
    make_user("mover", ["api_key_user"])
    mover = basic_header("mover", USER_PASSWORD)
    check = {"cluster": ["monitor"]}
    assert call("POST", "/_security/user/_has_privileges", mover, check)[1]["has_all_requested"] is False
    # New roles for the user, then a changed definition of one of them: both count on the very next request.
    assert call("PUT", "/_security/role/watchers", admin, {"cluster": []})[0] == 200
    assert call("PUT", "/_security/user/mover", admin, {"roles": ["api_key_user", "watchers"]})[0] == 200
    assert call("GET", "/_security/_authenticate", mover)[1]["roles"] == ["api_key_user", "watchers"]
    assert call("POST", "/_security/user/_has_privileges", mover, check)[1]["has_all_requested"] is False
    assert call("PUT", "/_security/role/watchers", admin, {"cluster": ["monitor"]})[0] == 200
    assert call("POST", "/_security/user/_has_privileges", mover, check)[1]["has_all_requested"] is True
    assert call("DELETE", "/_security/role/watchers", admin)[0] == 200
    assert call("POST", "/_security/user/_has_privileges", mover, check)[1]["has_all_requested"] is False


def test_a_key_keeps_its_snapshot_until_it_is_updated(call, admin, make_user):
    make_user("snap", ["api_key_user", "monitoring_user"])
    snap = basic_header("snap", USER_PASSWORD)
    status, key = call("POST", "/_security/api_key", snap, {"name": "k"})
    by_key = {"Authorization": f"ApiKey {key['encoded']}"}
    check = {"cluster": ["monitor"]}
    assert call("POST", "/_security/user/_has_privileges", by_key, check)[1]["has_all_requested"] is True
    assert call("PUT", "/_security/user/snap", admin, {"roles": ["api_key_user"]})[0] == 200
    # The owner lost `monitor`; the key still has the snapshot taken at creation, as in Elasticsearch ...
    assert call("POST", "/_security/user/_has_privileges", by_key, check)[1]["has_all_requested"] is True
    assert call("PUT", f"/_security/api_key/{key['id']}", snap, {})[1] == {"updated": True}
    # ... until an update refreshes it, which counts on the next request.
    assert call("POST", "/_security/user/_has_privileges", by_key, check)[1]["has_all_requested"] is False
    assert call("PUT", "/_security/user/snap", admin, {"full_name": "Snap Shot"})[0] == 200
    assert call("GET", "/_security/_authenticate", by_key)[1]["full_name"] == "Snap Shot"
