"""In-process checks of the cluster-level endpoints and bulk roles: how `/` tells a browser from an
Elasticsearch client, the throttle and session handling there, the audit rows of bulk role writes, and how
`_privileges` merges a user's roles. (The official client's view of the same endpoints: es_client/.)"""

import json

import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, basic_header
from webapp.model import AuditEvent, Role

ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)
COMPAT = "application/vnd.elasticsearch+json; compatible-with=9"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


# ---- GET / : the landing redirect or Elasticsearch's cluster info -------------------------------------

@pytest.mark.parametrize("accept", [None, BROWSER, "*/*", "text/html", "application/json;q=0.5, text/html"])
def test_a_browser_without_credentials_is_redirected(client, accept):
    response = client.get("/", headers={"Accept": accept} if accept else {})
    assert response.status_code == 302 and response.headers["Location"].endswith("/keys/")
    assert "X-Elastic-Product" not in response.headers
    assert {"Accept", "Authorization"} <= set(response.vary)


@pytest.mark.parametrize("accept", ["application/json", COMPAT, "application/json, text/html;q=0.9"])
def test_a_json_client_without_credentials_gets_the_elasticsearch_401(client, accept):
    response = client.get("/", headers={"Accept": accept})
    assert response.status_code == 401
    assert response.headers["X-Elastic-Product"] == "Elasticsearch"
    assert response.get_json()["error"]["reason"] == "missing authentication credentials for REST request"
    assert response.headers.getlist("WWW-Authenticate") == ['Basic realm="security", charset="UTF-8"', "ApiKey"]


def test_credentials_get_the_cluster_info_whatever_the_accept_header(client):
    for accept in (None, BROWSER, COMPAT):
        response = client.get("/", headers={**ELASTIC, **({"Accept": accept} if accept else {})})
        assert response.status_code == 200, accept
        body = response.get_json()
        assert list(body) == ["name", "cluster_name", "cluster_uuid", "version", "tagline"]
        assert body["version"]["number"].startswith("9.") and body["version"]["build_flavor"] == "default"
        assert "Set-Cookie" not in response.headers  # no session is read or written for the API
    assert client.get("/", headers={**ELASTIC, "Accept": COMPAT}).headers["Content-Type"] == \
        "application/vnd.elasticsearch+json;compatible-with=9"
    assert client.get("/?pretty", headers=ELASTIC).get_data(as_text=True).startswith('{\n  "name"')
    assert client.get("/?filter_path=version.number", headers=ELASTIC).get_json() == {
        "version": {"number": client.get("/", headers=ELASTIC).get_json()["version"]["number"]}}


def test_the_cluster_uuid_stays_the_same(client):
    first = client.get("/", headers=ELASTIC).get_json()["cluster_uuid"]
    assert len(first) == 22 and client.get("/", headers=ELASTIC).get_json()["cluster_uuid"] == first


def test_a_signed_in_browser_is_still_redirected(client, auth):
    auth.login()
    response = client.get("/", headers={"Accept": BROWSER})
    assert response.status_code == 302 and response.headers["Location"].endswith("/keys/")


def test_root_refuses_what_the_api_refuses(client):
    unknown = client.get("/?colour=red", headers=ELASTIC)
    assert unknown.status_code == 400
    assert unknown.get_json()["error"]["reason"] == "request [/] contains unrecognized parameter: [colour]"
    wrong_version = client.get("/", headers={**ELASTIC, "Accept": "application/vnd.elasticsearch+json; "
                                                                  "compatible-with=7"})
    assert wrong_version.status_code == 400
    assert wrong_version.get_json()["error"]["type"] == "media_type_header_exception"


def test_failed_authentications_at_root_are_throttled(client):
    wrong = basic_header("elastic", "not-the-password")
    statuses = [client.get("/", headers=wrong).status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    assert client.get("/", headers=wrong).headers["X-Elastic-Product"] == "Elasticsearch"


# ---- bulk roles: each role through the single-role code, audited like it ------------------------------

def _audit(action):
    return [(row.target_id, row.outcome) for row in
            AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id)]


def test_bulk_role_writes_are_audited_like_single_ones(client, db):
    roles = {"roles": {"bulk-a": {"cluster": ["monitor"]}, "bulk-b": {"cluster": ["monitor"]}}}
    assert client.post("/_security/role", json=roles, headers=ELASTIC).get_json() == {
        "created": ["bulk-a", "bulk-b"]}
    roles["roles"]["bulk-b"] = {"cluster": ["read_security"]}
    assert client.post("/_security/role", json=roles, headers=ELASTIC).get_json() == {
        "updated": ["bulk-b"], "noop": ["bulk-a"]}
    assert _audit("role.create") == [("bulk-a", "success"), ("bulk-b", "success")]
    assert _audit("role.update") == [("bulk-b", "success")]  # the unchanged role wrote nothing
    assert Role.by_name("bulk-b").descriptor["cluster"] == ["read_security"]
    deleted = client.delete("/_security/role", json={"names": ["bulk-a", "bulk-a", "gone"]}, headers=ELASTIC)
    assert deleted.get_json() == {"deleted": ["bulk-a"], "not_found": ["gone"]}
    assert _audit("role.delete") == [("bulk-a", "success")]


def test_bulk_roles_over_the_limit_are_refused_whole(client, db):
    roles = {f"r{i}": {} for i in range(1001)}
    response = client.post("/_security/role", json={"roles": roles}, headers=ELASTIC)
    assert response.status_code == 400
    assert response.get_json()["error"]["reason"] == (
        "Validation Failed: 1: at most 1000 roles may be given in one request, found 1001;")
    assert Role.select().where(Role.name == "r0").count() == 0


# ---- _privileges: a user's roles merged ---------------------------------------------------------------

def test_privileges_merge_the_roles_of_a_user(client, db, make_user):
    descriptors = {
        "logs-reader": {"cluster": ["monitor"], "run_as": ["svc-*"],
                        "indices": [{"names": ["logs-*"], "privileges": ["read"],
                                     "field_security": {"grant": ["message", "@timestamp"]},
                                     "query": {"term": {"team": "ops"}}}],
                        "applications": [{"application": "kibana", "privileges": ["read"], "resources": ["*"]}]},
        "logs-writer": {"cluster": ["manage_own_api_key"],
                        "indices": [{"names": ["logs-*"], "privileges": ["write"],
                                     "field_security": {"grant": ["*"], "except": ["secret"]},
                                     "query": '{"term":{"team":"dev"}}'},
                                    {"names": ["metrics"], "privileges": ["none"]}],
                        "global": {"application": {"manage": {"applications": ["kibana"]}}}},
    }
    for name, descriptor in descriptors.items():
        assert client.put(f"/_security/role/{name}", json=descriptor, headers=ELASTIC).status_code == 200
    make_user("merged", ["logs-reader", "logs-writer"])
    body = client.get("/_security/user/_privileges", headers=basic_header("merged", USER_PASSWORD)).get_json()
    assert body == {
        "cluster": ["manage_own_api_key", "monitor"],
        "global": [{"application": {"manage": {"applications": ["kibana"]}}}],
        "indices": [{"names": ["logs-*"], "privileges": ["read", "write"],
                     "field_security": [{"grant": ["*"], "except": ["secret"]},
                                        {"grant": ["message", "@timestamp"]}],  # as the role gave them
                     "query": ['{"term":{"team":"ops"}}', '{"term":{"team":"dev"}}'],
                     "allow_restricted_indices": False}],
        "applications": [{"application": "kibana", "privileges": ["read"], "resources": ["*"]}],
        "run_as": ["svc-*"],
    }


def test_an_unrestricted_entry_lifts_the_restrictions_of_the_same_indices(client, db, make_user):
    role = {"indices": [{"names": ["a"], "privileges": ["read"], "field_security": {"grant": ["x"]},
                         "query": "{\"match_all\":{}}"},
                        {"names": ["a"], "privileges": ["monitor"]},
                        {"names": [".security*"], "privileges": ["read"], "allow_restricted_indices": True}],
            "remote_indices": [{"clusters": ["eu"], "names": ["b"], "privileges": ["read"]}],
            "remote_cluster": [{"clusters": ["eu"], "privileges": ["monitor_stats"]}]}
    assert client.put("/_security/role/lifted", json=role, headers=ELASTIC).status_code == 200
    make_user("lifted-user", ["lifted"])
    body = client.get("/_security/user/_privileges", headers=basic_header("lifted-user", USER_PASSWORD)).get_json()
    assert body["indices"] == [
        {"names": ["a"], "privileges": ["monitor", "read"], "allow_restricted_indices": False},
        {"names": [".security*"], "privileges": ["read"], "allow_restricted_indices": True}]
    assert body["remote_indices"] == [{"clusters": ["eu"], "names": ["b"], "privileges": ["read"],
                                       "allow_restricted_indices": False}]
    assert body["remote_cluster"] == [{"privileges": ["monitor_stats"], "clusters": ["eu"]}]


def test_health_parameters_are_checked(client):
    for query, reason in [
        ("wait_for_status=blue", "unknown cluster health status [blue]"),
        ("level=nodes", "[level] must be one of [cluster, indices, shards], found [nodes]"),
        ("timeout=soon", "failed to parse setting [timeout] with value [soon] as a time value: unit is missing "
                         "or unrecognized"),
        ("wait_for_nodes=" + "9" * 5000, None),
        ("local=maybe", "Failed to parse value [maybe] as only [true] or [false] are allowed."),
        ("wait_for_active_shards=some", None),
        ("expand_wildcards=every", "No valid expand wildcard value [every]"),
    ]:
        response = client.get(f"/_cluster/health?{query}", headers=ELASTIC)
        assert response.status_code == 400, query
        if reason:
            assert response.get_json()["error"]["reason"] == reason
    assert json.loads(client.get("/_cluster/health?wait_for_nodes=>=1&timeout=-1",
                                 headers=ELASTIC).get_data())["timed_out"] is False
