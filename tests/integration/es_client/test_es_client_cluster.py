"""Cluster info, ping, `_xpack`, cluster health, `_privileges`, the API key cache and bulk roles, through the
official client against a live Keydesk (plain HTTP for what the client can't send)."""

import base64
import json
import urllib.error
import urllib.request
import uuid

import pytest
from elasticsearch import ApiError, BadRequestError, Elasticsearch

from tests.conftest import ELASTIC_PASSWORD

BASIC = "Basic " + base64.b64encode(f"elastic:{ELASTIC_PASSWORD}".encode()).decode()


def http(server, path, method="GET", headers=None, body=None):
    """(status, headers, parsed JSON body or raw text) of one plain HTTP request, redirects not followed."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(server + path, method=method, data=data, headers=headers or {})
    try:
        response = urllib.request.build_opener(NoRedirect).open(request, timeout=30)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        text = response.read().decode()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text
    return response.status, response.headers, parsed


@pytest.fixture(scope="module")
def users(elastic, connect):
    """Clients of a user without privileges, a `monitor` user, a security viewer, and API keys of the
    superuser: one with no role descriptors (its owner's privileges), one with some."""
    suffix = uuid.uuid4().hex[:6]
    elastic.security.put_role(name=f"monitor-{suffix}", cluster=["monitor"])
    made = {}
    for level, roles in {"nobody": [], "monitor": [f"monitor-{suffix}"], "viewer": ["security_viewer"]}.items():
        elastic.security.put_user(username=f"{level}-{suffix}", password="cluster-password", roles=roles)
        made[level] = connect(basic_auth=(f"{level}-{suffix}", "cluster-password"))
    plain = elastic.security.create_api_key(name="plain")
    scoped = elastic.security.create_api_key(name="scoped", role_descriptors={"m": {"cluster": ["monitor"]}})
    made["plain_key"], made["scoped_key"] = connect(api_key=plain["encoded"]), connect(api_key=scoped["encoded"])
    made["ids"] = {"plain": plain["id"], "scoped": scoped["id"]}
    return made


def _refusal(call):
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value.meta.status, refused.value.body["error"]["type"], refused.value.body["error"]["reason"]


# ---- GET / and HEAD / ---------------------------------------------------------------------------------

def test_info_and_ping(elastic, server, users):
    info = elastic.info()
    assert list(info) == ["name", "cluster_name", "cluster_uuid", "version", "tagline"]
    assert info["cluster_name"] == "keydesk" and info["tagline"] == "You Know, for Search"
    assert int(info["version"]["number"].split(".")[0]) == 9
    assert set(info["version"]) == {"number", "build_flavor", "build_type", "build_hash", "build_date",
                                    "build_snapshot", "lucene_version", "minimum_wire_compatibility_version",
                                    "minimum_index_compatibility_version"}
    assert info["version"]["build_flavor"] == "default"
    assert users["monitor"].info()["cluster_uuid"] == info["cluster_uuid"]  # the same on both workers
    assert elastic.ping() is True and users["monitor"].ping() is True
    assert users["nobody"].ping() is False and users["scoped_key"].ping() is True
    anonymous = Elasticsearch(server, request_timeout=30)
    try:
        assert anonymous.ping() is False
    finally:
        anonymous.close()


def test_info_needs_monitor(users):
    status, kind, reason = _refusal(users["nobody"].info)
    assert (status, kind) == (403, "security_exception")
    assert reason.startswith("action [cluster:monitor/main] is unauthorized for user [nobody-")
    assert reason.endswith("this action is granted by the cluster privileges [monitor,manage,all]")
    assert _refusal(users["viewer"].info)[0] == 403


def test_root_over_plain_http(server):
    status, headers, body = http(server, "/", headers={"Accept": "text/html"})
    assert status == 302 and headers["Location"].endswith("/keys/")
    status, headers, body = http(server, "/", headers={"Accept": "application/json"})
    assert status == 401 and body["error"]["type"] == "security_exception"
    assert headers["X-Elastic-Product"] == "Elasticsearch"
    status, _, body = http(server, "/", headers={"Authorization": BASIC, "Accept": "text/html"})
    assert status == 200 and body["cluster_name"] == "keydesk"
    status, _, body = http(server, "/?local=true", headers={"Authorization": BASIC})
    assert status == 400 and body["error"]["reason"] == "request [/] contains unrecognized parameter: [local]"
    status, _, body = http(server, "/", method="POST", headers={"Authorization": BASIC})
    assert status == 405


# ---- GET /_xpack --------------------------------------------------------------------------------------

def test_xpack_info(elastic, users):
    info = elastic.xpack.info()
    assert list(info) == ["build", "license", "features", "tagline"]
    license_ = elastic.license.get()["license"]
    assert info["license"]["uid"] == license_["uid"] and info["license"]["type"] == license_["type"]
    assert info["license"]["mode"] == license_["type"] and info["license"]["status"] == "active"
    assert info["features"]["security"] == {"available": True, "enabled": True}
    assert list(elastic.xpack.info(categories=["license"], human=False)) == ["license"]
    assert list(elastic.xpack.info(categories=["build", "features"])) == ["build", "features", "tagline"]
    assert users["monitor"].xpack.info(accept_enterprise=True)["license"]["type"] == license_["type"]
    assert _refusal(users["nobody"].xpack.info)[:2] == (403, "security_exception")


def test_xpack_info_refuses_unknown_categories(elastic):
    with pytest.raises(BadRequestError) as refused:
        elastic.xpack.info(categories=["build", "spaceships"])
    assert refused.value.body["error"]["reason"] == (
        "unknown category [spaceships]: expected [build], [license], [features], [_all] or [_none]")


# ---- GET /_cluster/health -----------------------------------------------------------------------------

def test_cluster_health(elastic, users):
    health = elastic.cluster.health(wait_for_status="green", timeout="5s")
    assert health["status"] == "green" and health["timed_out"] is False and health["number_of_nodes"] == 1
    assert health["cluster_name"] == elastic.info()["cluster_name"]
    assert health["active_shards_percent_as_number"] == 100.0 and "indices" not in health
    assert users["monitor"].cluster.health(level="indices", wait_for_nodes=">=1", local=True)["indices"] == {}
    assert elastic.cluster.health(index="*")["status"] == "green"
    assert _refusal(users["nobody"].cluster.health)[:2] == (403, "security_exception")
    assert users["plain_key"].cluster.health()["status"] == "green"  # the superuser's key: its owner's privileges


def test_cluster_health_of_a_missing_index_is_red_and_waiting_for_better_times_out(elastic):
    assert elastic.cluster.health(index="no-such-index")["status"] == "red"
    with pytest.raises(ApiError) as waited:
        elastic.cluster.health(index="no-such-index", wait_for_status="yellow", timeout="1s")
    assert waited.value.meta.status == 408
    assert waited.value.body["timed_out"] is True and waited.value.body["status"] == "red"


def test_cluster_health_refuses_bad_parameters(server):
    for query, kind in [("wait_for_status=purple", "illegal_argument_exception"),
                        ("timeout=later", "parse_exception"), ("wait_for_nodes=lots", "illegal_argument_exception"),
                        ("wait_for_evnts=high", "illegal_argument_exception")]:
        status, _, body = http(server, f"/_cluster/health?{query}", headers={"Authorization": BASIC})
        assert status == 400 and body["error"]["type"] == kind, query
    status, _, body = http(server, "/_cluster/state", headers={"Authorization": BASIC})
    assert status == 400 and body["error"]["reason"] == "no handler found for uri [/_cluster/state] and method [GET]"


# ---- GET /_security/user/_privileges ------------------------------------------------------------------

def test_user_privileges(elastic, users):
    assert elastic.security.get_user_privileges().body == {
        "cluster": ["all"], "global": [],
        "indices": [{"names": ["*"], "privileges": ["all"], "allow_restricted_indices": True}],
        "applications": [{"application": "*", "privileges": ["*"], "resources": ["*"]}], "run_as": ["*"]}
    assert users["monitor"].security.get_user_privileges()["cluster"] == ["monitor"]
    assert users["nobody"].security.get_user_privileges().body == {
        "cluster": [], "global": [], "indices": [], "applications": [], "run_as": []}
    # A key without role descriptors has its owner's privileges; one with descriptors can't be described so.
    assert users["plain_key"].security.get_user_privileges()["cluster"] == ["all"]
    with pytest.raises(BadRequestError) as scoped:
        users["scoped_key"].security.get_user_privileges()
    assert scoped.value.body["error"]["reason"].startswith(
        "Cannot retrieve privileges for API keys with assigned role descriptors.")


# ---- _authenticate: the ES 9 fields -------------------------------------------------------------------

def test_authenticate_names_who_manages_the_key(elastic, users):
    by_key = users["plain_key"].security.authenticate()
    assert by_key["authentication_type"] == "api_key"
    assert by_key["api_key"] == {"id": users["ids"]["plain"], "name": "plain", "managed_by": "elasticsearch"}
    by_password = elastic.security.authenticate()
    assert by_password["authentication_type"] == "realm"
    assert "api_key" not in by_password and "token" not in by_password and "token" not in by_key


# ---- POST /_security/api_key/{ids}/_clear_cache -------------------------------------------------------

def test_clear_api_key_cache(elastic, users):
    cleared = elastic.security.clear_api_key_cache(ids=[users["ids"]["plain"], users["ids"]["scoped"]])
    assert cleared["_nodes"] == {"total": 1, "successful": 1, "failed": 0}
    assert cleared["cluster_name"] == "keydesk" and len(cleared["nodes"]) == 1
    assert elastic.security.clear_api_key_cache(ids="*")["_nodes"]["failed"] == 0
    assert users["plain_key"].security.authenticate()["api_key"]["id"] == users["ids"]["plain"]  # still works
    status, kind, reason = _refusal(lambda: users["viewer"].security.clear_api_key_cache(ids="*"))
    assert (status, kind) == (403, "security_exception")
    assert "action [cluster:admin/xpack/security/cache/clear]" in reason and reason.endswith(
        "[manage_security,all]")


# ---- bulk roles ---------------------------------------------------------------------------------------

def test_bulk_put_and_delete_roles(elastic):
    a, b, bad = (f"bulk-{tag}-{uuid.uuid4().hex[:6]}" for tag in ("a", "b", "bad"))
    put = elastic.security.bulk_put_role(roles={a: {"cluster": ["monitor"]}, b: {"cluster": ["monitor"]}})
    assert put.body == {"created": [a, b]}
    again = elastic.security.bulk_put_role(roles={a: {"cluster": ["monitor"]}, b: {"cluster": ["read_security"]},
                                                  bad: {"cluster": ["launch_rockets"]},
                                                  "superuser": {"cluster": ["monitor"]}})
    assert again["updated"] == [b] and again["noop"] == [a] and "created" not in again
    assert again["errors"]["count"] == 2
    assert again["errors"]["details"][bad]["type"] == "action_request_validation_exception"
    assert "unknown cluster privilege [launch_rockets]" in again["errors"]["details"][bad]["reason"]
    assert again["errors"]["details"]["superuser"] == {
        "type": "illegal_argument_exception", "reason": "Role [superuser] is reserved and may not be used."}
    assert elastic.security.get_role(name=b)[b]["cluster"] == ["read_security"]
    deleted = elastic.security.bulk_delete_role(names=[a, b, bad, "superuser"])
    assert deleted["deleted"] == [a, b] and deleted["not_found"] == [bad]
    assert deleted["errors"] == {"count": 1, "details": {"superuser": {
        "type": "illegal_argument_exception", "reason": "role [superuser] is reserved and cannot be deleted"}}}
    assert elastic.security.bulk_delete_role(names=[a]).body == {"not_found": [a]}


def test_bulk_roles_need_manage_security(users):
    status, _, reason = _refusal(lambda: users["viewer"].security.bulk_put_role(roles={"x": {}}))
    assert status == 403 and "action [cluster:admin/xpack/security/role/bulk_put]" in reason
    status, _, reason = _refusal(lambda: users["viewer"].security.bulk_delete_role(names=["x"]))
    assert status == 403 and "action [cluster:admin/xpack/security/role/bulk_delete]" in reason


@pytest.mark.parametrize(("method", "body", "kind", "reason"), [
    ("POST", "", "parse_exception", "request body is required"),
    ("POST", "[]", "x_content_parse_exception", "[bulk_put_roles_request] Expected START_OBJECT but was: START_ARRAY"),
    ("POST", '{"roles": []}', "x_content_parse_exception",
     "[bulk_put_roles_request] roles doesn't support values of type: START_ARRAY"),
    ("POST", '{"roles": {}}', "action_request_validation_exception", "Validation Failed: 1: roles are missing;"),
    ("POST", '{"role": {}}', "x_content_parse_exception",
     "[bulk_put_roles_request] unknown field [role] did you mean [roles]?"),
    ("POST", '{"roles": {"a": ', "x_content_parse_exception", None),
    ("DELETE", '{"names": "a"}', "x_content_parse_exception",
     "[bulk_delete_roles_request] names doesn't support values of type: VALUE_STRING"),
    ("DELETE", '{"names": [1]}', "x_content_parse_exception",
     "[bulk_delete_roles_request] names doesn't support values of type: VALUE_NUMBER"),
    ("DELETE", '{"names": []}', "action_request_validation_exception",
     "Validation Failed: 1: role names are missing;"),
    ("DELETE", "{}", "illegal_argument_exception", "Required [names]"),
])
def test_bulk_roles_refuse_bad_bodies(server, method, body, kind, reason):
    status, _, answer = http(server, "/_security/role", method=method, body=body,
                             headers={"Authorization": BASIC, "Content-Type": "application/json"})
    assert status == 400 and answer["status"] == 400 and answer["error"]["type"] == kind
    if reason:
        assert answer["error"]["reason"] == reason
