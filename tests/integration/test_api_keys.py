"""API key endpoints over raw HTTP: each privilege level's allowed and refused calls, with ES's messages."""


import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, basic_header
from webapp.model import ApiKey
from webapp.services.admin import settings

ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)
DENIED = "this action is granted by the cluster privileges"


@pytest.fixture
def app_config():
    # Many deliberate failures from one address: the limits are raised (the throttle: test_throttling.py).
    return {"KEYDESK_AUTH_FAILURES_PER_ADDRESS": "100000 per minute",
            "KEYDESK_AUTH_FAILURES_PER_CREDENTIAL": "100000 per minute"}


@pytest.fixture
def people(make_user):
    """Basic headers for one user per privilege level."""
    levels = {"own": ["api_key_user"], "admin": ["api_key_admin"], "security": ["security_admin"],
              "viewer": ["security_viewer"], "nobody": []}
    for name, roles in levels.items():
        make_user(name, roles)
    return {name: basic_header(name, USER_PASSWORD) for name in levels} | {"elastic": ELASTIC}


def apikey(created):
    return {"Authorization": f"ApiKey {created['encoded']}"}


def create(call, who, name, **fields):
    status, body = call("POST", "/_security/api_key", who, {"name": name, **fields})
    assert status == 200, body
    return body


def test_create_answers_the_secret_once_in_es_shape(call, people):
    status, body = call("POST", "/_security/api_key", people["own"], {"name": "mine", "expiration": "1d",
                                                                       "metadata": {"app": "x"}})
    assert status == 200 and list(body) == ["id", "name", "expiration", "api_key", "encoded"]
    assert len(body["id"]) == 20 and len(body["api_key"]) == 22
    status, found = call("GET", f"/_security/api_key?id={body['id']}&owner=true", people["own"])
    assert "api_key" not in found["api_keys"][0] and "encoded" not in found["api_keys"][0]


@pytest.mark.parametrize("who, status", [("own", 200), ("admin", 200), ("security", 200), ("elastic", 200),
                                         ("viewer", 403), ("nobody", 403)])
def test_who_may_create(call, people, who, status):
    got, body = call("POST", "/_security/api_key", people[who], {"name": "k"})
    assert got == status
    if status == 403:
        assert body["error"]["type"] == "security_exception"
        assert body["error"]["reason"] == (
            f"action [cluster:admin/xpack/security/api_key/create] is unauthorized for user [{who}] with effective "
            f"roles [{'security_viewer' if who == 'viewer' else ''}], {DENIED} "
            "[manage_own_api_key,manage_api_key,manage_security,all]")


def test_derived_keys_need_an_explicitly_empty_descriptor(call, people):
    parent = apikey(create(call, people["own"], "parent"))
    status, body = call("POST", "/_security/api_key", parent, {"name": "child"})
    assert status == 400 and body["error"]["reason"] == (
        "creating derived api keys requires an explicit role descriptor that is empty (has no privileges)")
    status, body = call("POST", "/_security/api_key", parent, {"name": "child", "role_descriptors": {"none": {}}})
    assert status == 200
    status, who = call("GET", "/_security/_authenticate", apikey(body))
    assert who["api_key"]["name"] == "child"


@pytest.mark.parametrize("section", [
    {"global": {"application": {"manage": {"applications": ["*"]}}}},
    {"global": {"profile": {"write": {"applications": ["app"]}}}},
    {"cluster": [], "global": {"application": {"manage": {"applications": ["kibana-*"]}}}},
])
def test_a_derived_key_may_not_carry_global_privileges(call, people, section):
    parent = apikey(create(call, people["own"], "parent"))
    status, body = call("POST", "/_security/api_key", parent, {"name": "child", "role_descriptors": {"r": section}})
    assert status == 400 and body["error"]["type"] == "illegal_argument_exception"
    assert body["error"]["reason"] == (
        "creating derived api keys requires an explicit role descriptor that is empty (has no privileges)")
    # A key created by a user (not derived) may still carry a global section, as in Elasticsearch.
    status, body = call("POST", "/_security/api_key", people["own"], {"name": "k", "role_descriptors": {"r": section}})
    assert status == 200, body


def test_get_rules_for_each_privilege_level(call, people):
    own = create(call, people["own"], "own-1")
    create(call, people["admin"], "admin-1")
    status, body = call("GET", "/_security/api_key", people["own"])
    assert status == 403 and "api_key/get] is unauthorized for user [own]" in body["error"]["reason"]
    status, body = call("GET", "/_security/api_key?owner=true", people["own"])
    assert [k["name"] for k in body["api_keys"]] == ["own-1"]
    status, body = call("GET", "/_security/api_key?username=own&realm_name=native", people["own"])
    assert status == 200 and [k["id"] for k in body["api_keys"]] == [own["id"]]
    for who in ("viewer", "admin", "security"):
        status, body = call("GET", "/_security/api_key", people[who])
        assert status == 200 and {k["name"] for k in body["api_keys"]} == {"own-1", "admin-1"}
    # ES: a user may see the limited-by descriptors of their own keys; an own-keys-only API key may not
    status, body = call("GET", "/_security/api_key?owner=true&with_limited_by=true", people["own"])
    assert status == 200 and body["api_keys"][0]["limited_by"][0]["api_key_user"]["cluster"] == ["manage_own_api_key"]
    status, body = call("GET", f"/_security/api_key?id={own['id']}&with_limited_by=true", apikey(own))
    assert status == 403 and "[read_security,manage_api_key,manage_security,all]" in body["error"]["reason"]
    status, body = call("GET", f"/_security/api_key?id={own['id']}&with_limited_by=true", people["admin"])
    assert status == 200 and body["api_keys"][0]["limited_by"] == [{"api_key_user": {
        "cluster": ["manage_own_api_key"], "indices": [], "applications": [], "run_as": [],
        "metadata": {"_reserved": True}, "transient_metadata": {"enabled": True}}}]
    status, body = call("GET", "/_security/api_key?id=AAAAAAAAAAAAAAAAAAAA", people["admin"])
    assert (status, body) == (404, {"api_keys": []})
    status, body = call("GET", "/_security/api_key?id=a&username=b", people["admin"])
    assert status == 400 and body["error"]["type"] == "action_request_validation_exception"
    status, body = call("GET", "/_security/api_key", people["nobody"])
    assert status == 403


def test_an_api_key_sees_only_itself(call, people):
    key = create(call, people["elastic"], "narrow", role_descriptors={"r": {"cluster": ["manage_own_api_key"]}})
    create(call, people["elastic"], "other")
    status, body = call("GET", "/_security/api_key?owner=true", apikey(key))
    assert [k["id"] for k in body["api_keys"]] == [key["id"]]
    status, body = call("POST", "/_security/_query/api_key", apikey(key), {})
    assert body["total"] == 1 and body["api_keys"][0]["id"] == key["id"]


def test_update_and_its_refusals(call, people, db):
    mine = create(call, people["own"], "mine", metadata={"v": 1})
    other = create(call, people["admin"], "theirs")
    path = f"/_security/api_key/{mine['id']}"
    assert call("PUT", path, people["own"], {"metadata": {"v": 2}}) == (200, {"updated": True})
    assert call("PUT", path, people["own"], {"metadata": {"v": 2}}) == (200, {"updated": False})
    assert call("PUT", path, people["own"]) == (200, {"updated": False})
    status, body = call("PUT", f"/_security/api_key/{other['id']}", people["own"], {})
    assert status == 404 and body["error"]["reason"] == (
        f"no API key owned by requesting user found for ID [{other['id']}]")
    status, body = call("PUT", path, apikey(mine), {})
    assert status == 400 and body["error"]["reason"] == (
        "authentication via API key not supported: only the owner user can update an API key")
    status, body = call("PUT", path, people["viewer"], {})
    assert status == 403
    status, body = call("PUT", path, people["own"], {"metadata": {"_hidden": 1}})
    assert status == 400 and "API key metadata keys may not start with [_]" in body["error"]["reason"]
    ApiKey.update(expiration=1).where(ApiKey.id == mine["id"]).execute()
    status, body = call("PUT", path, people["own"], {})
    assert status == 400 and body["error"]["reason"] == f"cannot update expired API key [{mine['id']}]"


def test_bulk_update_reports_each_key(call, people):
    first = create(call, people["own"], "a")
    second = create(call, people["own"], "b", metadata={"same": True})
    status, body = call("POST", "/_security/api_key/_bulk_update", people["own"],
                        {"ids": [first["id"], second["id"], "missing"], "metadata": {"same": True}})
    assert status == 200
    assert body["updated"] == [first["id"]] and body["noops"] == [second["id"]]
    assert body["errors"] == {"count": 1, "details": {"missing": {
        "type": "resource_not_found_exception",
        "reason": "no API key owned by requesting user found for ID [missing]"}}}
    status, body = call("POST", "/_security/api_key/_bulk_update", people["own"], {"metadata": {}})
    assert status == 400 and body["error"]["reason"] == "Required [ids]"


def test_invalidate_rules(call, people):
    mine = create(call, people["own"], "mine")
    theirs = create(call, people["admin"], "theirs")
    status, body = call("DELETE", "/_security/api_key", people["own"], {"ids": [theirs["id"]]})
    assert status == 403 and "api_key/invalidate] is unauthorized" in body["error"]["reason"]
    status, body = call("DELETE", "/_security/api_key", people["own"], {"ids": [theirs["id"], mine["id"]],
                                                                        "owner": True})
    assert body == {"invalidated_api_keys": [mine["id"]], "previously_invalidated_api_keys": [], "error_count": 0}
    status, body = call("DELETE", "/_security/api_key", people["admin"], {"ids": [mine["id"], theirs["id"]]})
    assert body == {"invalidated_api_keys": [theirs["id"]], "previously_invalidated_api_keys": [mine["id"]],
                    "error_count": 0}
    status, body = call("DELETE", "/_security/api_key", people["admin"], {"ids": ["unknown"]})
    assert (status, body["invalidated_api_keys"], body["error_count"]) == (200, [], 0)
    status, body = call("DELETE", "/_security/api_key", people["admin"], {"ids": ["a"], "name": "b", "username": "c"})
    assert status == 400 and body["error"]["reason"] == (
        "Validation Failed: 1: username or realm name must not be specified when the api key id(s) or api key name "
        "are specified;2: only one of [api key id(s), api key name] can be specified;")
    status, body = call("DELETE", "/_security/api_key", people["viewer"], {"owner": True})
    assert status == 403
    status, body = call("DELETE", "/_security/api_key", people["admin"], {"id": "x", "ids": ["y"]})
    assert status == 400 and body["error"]["reason"] == "Must use either [id] or [ids], not both at the same time"


def test_invalidated_and_expired_keys_stop_at_once(call, people, db):
    key = create(call, people["own"], "short-lived")
    assert call("GET", "/_security/_authenticate", apikey(key))[0] == 200
    call("DELETE", "/_security/api_key", people["own"], {"ids": [key["id"]], "owner": True})
    status, body = call("GET", "/_security/_authenticate", apikey(key))
    assert status == 401
    assert body["error"]["additional_unsuccessful_credentials"] == (
        f"API key: api key [{key['id']}] has been invalidated")
    other = create(call, people["own"], "expiring")
    ApiKey.update(expiration=1).where(ApiKey.id == other["id"]).execute()
    status, body = call("GET", "/_security/_authenticate", apikey(other))
    assert (status, body["error"]["additional_unsuccessful_credentials"]) == (401, "API key: api key is expired")


def test_a_disabled_owner_stops_their_keys(call, people):
    key = create(call, people["own"], "k")
    assert call("PUT", "/_security/user/own/_disable", people["security"]) == (200, {})
    status, body = call("GET", "/_security/_authenticate", apikey(key))
    assert status == 401 and "is disabled or deleted" in body["error"]["additional_unsuccessful_credentials"]
    assert call("PUT", "/_security/user/own/_enable", people["security"]) == (200, {})
    assert call("GET", "/_security/_authenticate", apikey(key))[0] == 200


def test_cross_cluster_keys_need_the_license_and_manage_security(call, people):
    access = {"search": [{"names": ["logs-*"]}]}
    status, body = call("POST", "/_security/cross_cluster/api_key", people["security"],
                        {"name": "cc", "access": access})
    assert status == 403 and body["error"]["reason"] == (
        "current license is non-compliant for [advanced-remote-cluster-security]")
    assert body["error"]["license.expired.feature"] == "advanced-remote-cluster-security"
    assert call("POST", "/_license/start_trial?acknowledge=true", people["security"])[0] == 200
    status, cc = call("POST", "/_security/cross_cluster/api_key", people["security"], {"name": "cc", "access": access})
    assert status == 200 and list(cc) == ["id", "name", "api_key", "encoded"]
    status, body = call("POST", "/_security/cross_cluster/api_key", people["admin"], {"name": "cc", "access": access})
    assert status == 403 and "cross_cluster/api_key/create] is unauthorized" in body["error"]["reason"]
    status, body = call("PUT", f"/_security/cross_cluster/api_key/{cc['id']}", people["security"], {})
    assert status == 400 and body["error"]["type"] == "action_request_validation_exception"
    assert call("PUT", f"/_security/cross_cluster/api_key/{cc['id']}", people["security"],
                {"metadata": {"x": 1}}) == (200, {"updated": True})
    status, body = call("PUT", f"/_security/api_key/{cc['id']}", people["security"], {})
    assert status == 400 and body["error"]["reason"] == (
        "cannot update API key of type [cross_cluster] while expected type is [rest]")
    status, body = call("GET", "/_security/_authenticate", apikey(cc))
    assert status == 401 and body["error"]["additional_unsuccessful_credentials"] == (
        f"API key: authentication expected API key type of [rest], but API key [{cc['id']}] has type "
        "[cross_cluster]")
    status, found = call("GET", f"/_security/api_key?id={cc['id']}", people["security"])
    assert found["api_keys"][0]["type"] == "cross_cluster"
    assert found["api_keys"][0]["access"] == {"search": [{"names": ["logs-*"], "allow_restricted_indices": False}]}


def test_disabled_api_keys_answer_feature_not_enabled(call, people, db):
    key = create(call, people["own"], "k")
    settings.set_setting("api_keys.enabled", False)
    status, body = call("POST", "/_security/api_key", people["own"], {"name": "k"})
    assert status == 400 and body["error"]["type"] == "feature_not_enabled_exception"
    assert body["error"]["disabled.feature"] == "api_keys"
    status, body = call("DELETE", "/_security/api_key", people["own"], {"ids": ["x"], "owner": True})
    assert status == 400 and body["error"]["reason"] == "api keys are not enabled"
    status, body = call("GET", "/_security/_authenticate", apikey(key))
    assert status == 401 and body["error"]["additional_unsuccessful_credentials"] == "API key: api keys are not enabled"


def test_has_privileges_for_a_key_limited_to_one_index_pattern(call, people):
    key = create(call, people["elastic"], "logs-reader", role_descriptors={
        "logs": {"indices": [{"names": ["logs-*"], "privileges": ["read"]}]}})
    status, body = call("POST", "/_security/user/_has_privileges", apikey(key), {
        "cluster": ["monitor"],
        "index": [{"names": ["logs-2024", "logs-*", "metrics-*"], "privileges": ["read", "write"]}]})
    assert status == 200
    assert body == {"username": "elastic", "has_all_requested": False, "cluster": {"monitor": False},
                    "index": {"logs-2024": {"read": True, "write": False}, "logs-*": {"read": True, "write": False},
                              "metrics-*": {"read": False, "write": False}}, "application": {}}
    status, body = call("POST", "/_security/user/_has_privileges", apikey(key), {"cluster": ["bogus"]})
    assert status == 400 and body["error"]["reason"].startswith("unknown cluster privilege [bogus]")
    status, body = call("GET", "/_security/user/someone-else/_has_privileges", apikey(key), {"cluster": ["all"]})
    assert status == 400 and body["error"]["reason"] == "users may only check the privileges of their own account"
