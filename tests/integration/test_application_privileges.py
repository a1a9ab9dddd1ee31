"""Application privileges over HTTP: put, get, delete and clear the cache with Elasticsearch's shapes, messages
and statuses; who may (manage_security, read_security, the global `application.manage` privilege); audit rows;
and `_has_privileges` / `_privileges` resolving the privileges roles grant to their stored actions, for users and
for API keys (the key's own descriptors and its owner's snapshot must both grant)."""

import base64

import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, basic_header
from webapp.model import ApplicationPrivilege, AuditEvent

ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)
MYAPP = {"myapp": {"read": {"actions": ["data:read/*", "action:login"], "metadata": {"description": "Read"}},
                   "write": {"application": "myapp", "name": "write", "actions": ["data:write/*"]}}}


def test_put_get_delete(call, make_user):
    assert call("PUT", "/_security/privilege", ELASTIC, MYAPP) == (
        200, {"myapp": {"read": {"created": True}, "write": {"created": True}}})
    again = {"myapp": {"read": {"actions": ["data:read/*"]}}, "other-app": {"all": {"actions": ["*"]}}}
    assert call("POST", "/_security/privilege?refresh=true", ELASTIC, again) == (
        200, {"myapp": {"read": {"created": False}}, "other-app": {"all": {"created": True}}})
    read = {"application": "myapp", "name": "read", "actions": ["data:read/*"], "metadata": {}}
    write = {"application": "myapp", "name": "write", "actions": ["data:write/*"], "metadata": {}}
    everything = {"application": "other-app", "name": "all", "actions": ["*"], "metadata": {}}
    assert call("GET", "/_security/privilege/myapp/read", ELASTIC) == (200, {"myapp": {"read": read}})
    assert call("GET", "/_security/privilege/myapp/read,nope", ELASTIC) == (200, {"myapp": {"read": read}})
    assert call("GET", "/_security/privilege/myapp", ELASTIC) == (200, {"myapp": {"read": read, "write": write}})
    assert call("GET", "/_security/privilege/other*", ELASTIC) == (200, {"other-app": {"all": everything}})
    assert call("GET", "/_security/privilege", ELASTIC) == (
        200, {"myapp": {"read": read, "write": write}, "other-app": {"all": everything}})
    assert call("GET", "/_security/privilege/myapp/nope", ELASTIC) == (404, {})
    assert call("GET", "/_security/privilege/nope-app", ELASTIC) == (200, {})  # no names asked: an empty 200
    make_user("viewer", ["security_viewer"])
    viewer = basic_header("viewer", USER_PASSWORD)
    assert call("GET", "/_security/privilege/myapp/read", viewer)[0] == 200
    status, body = call("PUT", "/_security/privilege", viewer, MYAPP)
    assert status == 403 and body["error"]["reason"].endswith(
        "this action is granted by the cluster privileges [manage_security,all]")
    assert "[cluster:admin/xpack/security/privilege/put]" in body["error"]["reason"]
    assert call("DELETE", "/_security/privilege/myapp/read", viewer)[0] == 403
    assert call("DELETE", "/_security/privilege/myapp/read,write,nope", ELASTIC) == (
        200, {"myapp": {"read": {"found": True}, "write": {"found": True}, "nope": {"found": False}}})
    assert call("DELETE", "/_security/privilege/myapp/read", ELASTIC) == (404, {"myapp": {"read": {"found": False}}})
    assert call("GET", "/_security/privilege/myapp/read,write", ELASTIC) == (404, {})
    rows = [(e.action, e.target_id) for e in AuditEvent.select()
            .where(AuditEvent.target_type == "application_privilege").order_by(AuditEvent.id)]
    assert rows == [("application_privilege.create", "myapp/read"), ("application_privilege.create", "myapp/write"),
                    ("application_privilege.update", "myapp/read"), ("application_privilege.create", "other-app/all"),
                    ("application_privilege.delete", "myapp/read"), ("application_privilege.delete", "myapp/write")]


def test_a_privilege_sent_unchanged_is_not_written_again(call):
    assert call("PUT", "/_security/privilege", ELASTIC, MYAPP)[0] == 200
    updated = ApplicationPrivilege.get(ApplicationPrivilege.name == "read").updated
    assert call("PUT", "/_security/privilege", ELASTIC, MYAPP) == (
        200, {"myapp": {"read": {"created": False}, "write": {"created": False}}})
    assert ApplicationPrivilege.get(ApplicationPrivilege.name == "read").updated == updated
    assert AuditEvent.select().where(AuditEvent.action == "application_privilege.update").count() == 0


@pytest.mark.parametrize(("body", "status", "type_", "reason"), [
    ([], 400, "parse_exception", "expected object but found START_ARRAY instead"),
    ({"app1": []}, 400, "parse_exception",
     "expected the value for app1 to be an object, but found START_ARRAY instead"),
    ({"app1": {"p": 1}}, 400, "parse_exception",
     "expected the value for app1 to be an object, but found VALUE_NUMBER instead"),
    ({"app1": {"p": {"actions": ["a:b"], "colour": "red"}}}, 400, "x_content_parse_exception",
     "[application-privilege] unknown field [colour]"),
    ({"app1": {"p": {"actions": {"a": 1}}}}, 400, "x_content_parse_exception",
     "[application-privilege] actions doesn't support values of type: START_OBJECT"),
    ({"app1": {"p": {"actions": ["a:b"], "metadata": "x"}}}, 400, "x_content_parse_exception",
     "[application-privilege] metadata doesn't support values of type: VALUE_STRING"),
    ({"app1": {"p": {"application": "app2", "actions": ["a:b"]}}}, 400, "illegal_argument_exception",
     "privilege application [app2] in source does not match the provided application [app1]"),
    ({"app1": {"p": {"name": "q", "actions": ["a:b"]}}}, 400, "illegal_argument_exception",
     "privilege name [q] in source does not match the provided name [p]"),
    ({}, 400, "action_request_validation_exception",
     "Validation Failed: 1: At least one application privilege must be provided;"),
    ({"ap": {"Read": {"actions": []}, "ok": {"actions": ["read", "a b/"], "metadata": {"_x": 1}}}}, 400,
     "action_request_validation_exception",
     "Validation Failed: 1: An application name prefix must be at least 3 characters long (found 'ap');"
     "2: Application privilege names must match the pattern ^[a-z][a-zA-Z0-9_.-]*$ (found 'Read');"
     "3: Application privileges must have at least one action;"
     "4: An application name prefix must be at least 3 characters long (found 'ap');"
     "5: action [read] must contain one of [ '/' , '*' , ':' ];"
     "6: Application privilege names and actions must match the pattern ^\\p{Graph}*$ (found 'a b/');"
     "7: metadata keys may not start with [_] (in privilege ap ok);"),
    ({"app*": {"p": {"actions": ["a:b"]}}}, 400, "action_request_validation_exception",
     "Validation Failed: 1: Application names may not contain '*' (found 'app*');"),
    ({"1app": {"p": {"actions": ["a:b"]}}}, 400, "action_request_validation_exception",
     "Validation Failed: 1: An application name prefix must match the pattern ^[a-z][A-Za-z0-9]*$ (found '1app');"),
    ({"app-a/b": {"p": {"actions": ["a:b"]}}}, 400, "action_request_validation_exception",
     "Validation Failed: 1: An application name suffix may not contain any of the characters "
     "'\\/*?\"<>| ,' (found 'a/b');"),
])
def test_put_refuses_what_elasticsearch_refuses_and_stores_nothing(call, body, status, type_, reason):
    answered, error = call("PUT", "/_security/privilege", ELASTIC, body)
    assert answered == status and error["error"]["type"] == type_ and error["error"]["reason"] == reason
    assert ApplicationPrivilege.select().count() == 0


def test_one_bad_privilege_refuses_the_whole_body(call):
    body = {"myapp": {"read": {"actions": ["data:read/*"]}, "bad": {"actions": []}}}
    assert call("PUT", "/_security/privilege", ELASTIC, body)[0] == 400
    assert ApplicationPrivilege.select().count() == 0


def test_the_global_manage_privilege_covers_its_applications_only(call, make_user):
    assert call("PUT", "/_security/role/app-admin", ELASTIC, {
        "global": {"application": {"manage": {"applications": ["myapp", "team-*"]}}}})[0] == 200
    make_user("app-admin", ["app-admin"])
    admin = basic_header("app-admin", USER_PASSWORD)
    assert call("PUT", "/_security/privilege", admin, MYAPP)[0] == 200
    assert call("PUT", "/_security/privilege", admin, {"team-a": {"x": {"actions": ["x:*"]}}})[0] == 200
    mixed = {"myapp": MYAPP["myapp"], "other": {"x": {"actions": ["x:*"]}}}
    status, body = call("PUT", "/_security/privilege", admin, mixed)
    assert status == 403 and "[cluster:admin/xpack/security/privilege/put]" in body["error"]["reason"]
    assert call("GET", "/_security/privilege/myapp", admin)[0] == 200
    assert call("GET", "/_security/privilege", admin)[0] == 403  # every application: only `*` covers that
    assert call("DELETE", "/_security/privilege/team-a/x", admin)[0] == 200
    assert call("DELETE", "/_security/privilege/other/x", admin)[0] == 403
    assert call("POST", "/_security/privilege/myapp/_clear_cache", admin)[0] == 200
    assert call("POST", "/_security/privilege/*/_clear_cache", admin)[0] == 403


def test_clear_cache(call):
    status, body = call("POST", "/_security/privilege/myapp,other/_clear_cache", ELASTIC)
    assert status == 200 and body["_nodes"] == {"total": 1, "successful": 1, "failed": 0}
    assert body["cluster_name"] == "keydesk" and len(body["nodes"]) == 1


# ---- roles' applications and the checks ------------------------------------------------------------------

def test_roles_refuse_application_names_elasticsearch_refuses(call):
    status, body = call("PUT", "/_security/role/bad-apps", ELASTIC, {"applications": [
        {"application": "a*b", "privileges": ["read", "has space"], "resources": ["*"]},
        {"application": "kibana-*", "privileges": ["read"], "resources": ["*"]}]})
    assert status == 400 and body["error"]["type"] == "action_request_validation_exception"
    assert body["error"]["reason"] == (
        "Validation Failed: 1: Application name patterns only support trailing wildcards (found 'a*b');"
        "2: Application privilege names and actions must match the pattern ^\\p{Graph}*$ (found 'has space');")
    good = {"applications": [{"application": "kibana-*", "privileges": ["read"], "resources": ["space:*"]}]}
    assert call("PUT", "/_security/role/good-apps", ELASTIC, good)[0] == 200
    status, body = call("GET", "/_security/role/good-apps", ELASTIC)
    assert body["good-apps"]["applications"] == good["applications"]


def _has(call, auth, checks):
    status, body = call("POST", "/_security/user/_has_privileges", auth, {"application": checks})
    assert status == 200, body
    return body


def test_has_privileges_resolves_names_and_actions(call, make_user):
    assert call("PUT", "/_security/privilege", ELASTIC, MYAPP)[0] == 200
    assert call("PUT", "/_security/role/reader", ELASTIC, {"applications": [
        {"application": "myapp", "privileges": ["read"], "resources": ["doc/*"]},
        {"application": "myapp", "privileges": ["data:write/own"], "resources": ["doc/*"]}]})[0] == 200
    make_user("reader", ["reader"])
    reader = basic_header("reader", USER_PASSWORD)
    body = _has(call, reader, [{"application": "myapp", "resources": ["doc/1", "doc/*", "other"],
                                "privileges": ["read", "write", "data:read/x", "action:login", "data:write/own"]}])
    granted = {"read": True, "write": False, "data:read/x": True, "action:login": True, "data:write/own": True}
    assert body["application"] == {"myapp": {"doc/1": granted, "doc/*": granted,
                                             "other": {name: False for name in granted}}}
    assert body["has_all_requested"] is False and body["username"] == "reader"
    # Changing the stored privilege changes what the role grants, at the next request.
    assert call("PUT", "/_security/privilege", ELASTIC, {"myapp": {"read": {"actions": ["data:read/*"]}}})[0] == 200
    body = _has(call, reader, [{"application": "myapp", "resources": ["doc/1"], "privileges": ["action:login"]}])
    assert body["application"] == {"myapp": {"doc/1": {"action:login": False}}}


def test_application_patterns_in_roles(call, make_user):
    assert call("PUT", "/_security/privilege", ELASTIC, {
        "kibana-.kibana": {"read": {"actions": ["ui:read/*"]}, "all": {"actions": ["*"]}}})[0] == 200
    assert call("PUT", "/_security/role/dashboards", ELASTIC, {"applications": [
        {"application": "kibana-*", "privileges": ["read"], "resources": ["space:default"]}]})[0] == 200
    make_user("dash", ["dashboards"])
    dash = basic_header("dash", USER_PASSWORD)
    body = _has(call, dash, [{"application": "kibana-.kibana", "resources": ["space:default", "space:other"],
                              "privileges": ["read", "all", "ui:read/discover"]}])
    assert body["application"]["kibana-.kibana"] == {
        "space:default": {"read": True, "all": False, "ui:read/discover": True},
        "space:other": {"read": False, "all": False, "ui:read/discover": False}}
    status, body = call("GET", "/_security/user/_privileges", dash)
    assert body["applications"] == [{"application": "kibana-.kibana", "privileges": ["read"],
                                     "resources": ["space:default"]}]


def test_an_api_key_needs_both_its_descriptors_and_its_owner(call, make_user):
    assert call("PUT", "/_security/privilege", ELASTIC, MYAPP)[0] == 200
    assert call("PUT", "/_security/role/owner", ELASTIC, {"cluster": ["manage_own_api_key"], "applications": [
        {"application": "myapp", "privileges": ["read", "write"], "resources": ["doc/*"]}]})[0] == 200
    make_user("owner", ["owner"])
    owner = basic_header("owner", USER_PASSWORD)
    status, key = call("POST", "/_security/api_key", owner, {"name": "k", "role_descriptors": {"k": {"applications": [
        {"application": "myapp", "privileges": ["read"], "resources": ["*"]}]}}})
    assert status == 200
    api_key = {"Authorization": "ApiKey " + base64.b64encode(f"{key['id']}:{key['api_key']}".encode()).decode()}
    body = _has(call, api_key, [{"application": "myapp", "resources": ["doc/1", "other"],
                                 "privileges": ["read", "write"]}])
    assert body["application"] == {"myapp": {"doc/1": {"read": True, "write": False},
                                             "other": {"read": False, "write": False}}}
    status, plain = call("POST", "/_security/api_key", owner, {"name": "plain"})
    plain_key = {"Authorization": "ApiKey " + plain["encoded"]}
    body = _has(call, plain_key, [{"application": "myapp", "resources": ["doc/1"], "privileges": ["write"]}])
    assert body["application"] == {"myapp": {"doc/1": {"write": True}}}
    assert call("GET", "/_security/user/_privileges", plain_key)[1]["applications"] == [
        {"application": "myapp", "privileges": ["read", "write"], "resources": ["doc/*"]}]


def test_has_privileges_refuses_bad_application_names(call):
    status, body = call("POST", "/_security/user/_has_privileges", ELASTIC, {"application": [
        {"application": "ab", "privileges": ["read"], "resources": ["*"]}]})
    assert status == 400 and body["error"]["reason"] == (
        "Validation Failed: 1: An application name prefix must be at least 3 characters long (found 'ab');")


def test_the_superuser_holds_every_application_privilege(call):
    body = _has(call, ELASTIC, [{"application": "anyapp", "resources": ["*"], "privileges": ["read", "x:y"]}])
    assert body["has_all_requested"] is True
