"""The user and role Query APIs over raw HTTP: queries, sorting, paging, errors and privileges."""


import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, basic_header
from webapp.model import User
from webapp.model.db import database

ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)


@pytest.fixture
def app_config():
    return {"KEYDESK_AUTH_FAILURES_PER_ADDRESS": "100000 per minute",
            "KEYDESK_AUTH_FAILURES_PER_CREDENTIAL": "100000 per minute"}


@pytest.fixture
def call(call):
    """The shared `call` (tests/conftest.py), as elastic unless `auth` says otherwise."""
    return lambda method, path, body=None, auth=ELASTIC: call(method, path, auth, body)


@pytest.fixture
def people(make_user):
    make_user("ann", ["viewer", "api_key_user"], full_name="Ann Archer", email="ann@example.com")
    make_user("bob", ["security_viewer"], full_name="Bob Baker")
    make_user("cat", [], email="cat@example.com")
    with database.connection_context():
        User.update(enabled=False, metadata={"team": "ops"}).where(User.username == "cat").execute()
        User.create(username="proxied", realm="proxy", enabled=True, metadata={}, created=0, updated=0)


def users_of(call, body, path="/_security/_query/user"):
    status, answer = call("POST", path, body)
    assert status == 200, answer
    return answer


def test_query_users_returns_native_users_only(call, people):
    answer = users_of(call, {})
    assert answer["total"] == answer["count"] == 3  # not elastic (reserved) nor proxy users
    assert [user["username"] for user in answer["users"]] == ["ann", "bob", "cat"]
    assert answer["users"][0] == {"username": "ann", "roles": ["viewer", "api_key_user"], "full_name": "Ann Archer",
                                  "email": "ann@example.com", "metadata": {}, "enabled": True}
    status, answer = call("GET", "/_security/_query/user?with_profile_uid=true")
    assert status == 200 and answer["total"] == 3 and "_sort" not in answer["users"][0]


@pytest.mark.parametrize("query, names", [
    ({"match_all": {}}, ["ann", "bob", "cat"]),
    ({"term": {"roles": "viewer"}}, ["ann"]),
    ({"terms": {"roles": ["security_viewer", "api_key_user"]}}, ["ann", "bob"]),
    ({"prefix": {"username": "b"}}, ["bob"]),
    ({"wildcard": {"roles": "*viewer"}}, ["ann", "bob"]),
    ({"exists": {"field": "email"}}, ["ann", "cat"]),
    ({"exists": {"field": "roles"}}, ["ann", "bob"]),
    ({"term": {"enabled": False}}, ["cat"]),
    ({"match": {"full_name": "Bob Baker"}}, ["bob"]),
    ({"ids": {"values": ["cat", "elastic"]}}, ["cat"]),
    ({"range": {"username": {"gt": "ann", "lte": "bob"}}}, ["bob"]),
    ({"bool": {"must_not": {"term": {"roles": "viewer"}}, "filter": {"term": {"enabled": True}}}}, ["bob"]),
    ({"simple_query_string": {"query": "security_viewer | cat"}}, ["bob", "cat"]),
    ({"simple_query_string": {"query": "ann*", "fields": ["email", "username"]}}, ["ann"]),
])
def test_user_queries(call, people, query, names):
    assert [user["username"] for user in users_of(call, {"query": query})["users"]] == names


def test_user_sorting_paging_and_search_after(call, people):
    answer = users_of(call, {"sort": [{"roles": "desc"}, "username"], "size": 2})
    assert [(u["username"], u["_sort"]) for u in answer["users"]] == [("ann", ["viewer", "ann"]),
                                                                       ("bob", ["security_viewer", "bob"])]
    assert answer["total"] == 3 and answer["count"] == 2
    after = users_of(call, {"sort": [{"roles": "desc"}, "username"], "search_after": ["security_viewer", "bob"]})
    assert [(u["username"], u["_sort"]) for u in after["users"]] == [("cat", [None, "cat"])]
    answer = users_of(call, {"sort": [{"enabled": "asc"}, {"username": {"order": "desc"}}], "from": 1})
    assert [(u["username"], u["_sort"]) for u in answer["users"]] == [("bob", [True, "bob"]), ("ann", [True, "ann"])]
    assert [u["username"] for u in users_of(call, {"sort": ["_doc"]})["users"]] == ["ann", "bob", "cat"]


@pytest.mark.parametrize("body, kind, reason", [
    ({"query": {"term": {"password_hash": "x"}}}, "illegal_argument_exception",
     "Field [password_hash] is not allowed for querying or aggregation"),
    ({"query": {"term": {"metadata.team": "ops"}}}, "illegal_argument_exception",
     "Field [metadata.team] is not allowed for querying or aggregation"),
    ({"query": {"term": {"user*": "x"}}}, "illegal_argument_exception",
     "Field name pattern [user*] is not allowed for querying or aggregation"),
    ({"query": {"regexp": {"username": "a.*"}}}, "illegal_argument_exception",
     "Query type [regexp] is not currently supported in this context"),
    ({"query": {"nope": {}}}, "parsing_exception", "unknown query [nope]"),
    ({"query": {"prefix": {"enabled": "t"}}}, "query_shard_exception",
     "Can only use prefix queries on keyword and text fields - not on [enabled] which is of type [boolean]"),
    ({"sort": ["full_name"]}, "illegal_argument_exception", "sorting is not supported for field [full_name]"),
    ({"from": 9999, "size": 2}, "illegal_argument_exception", None),
    ({"search_after": ["a"]}, "illegal_argument_exception", "Sort must contain at least one field."),
    ({"aggs": {}}, "x_content_parse_exception", "[query_user_request_payload] unknown field [aggs]"),
    ({"size": "ten"}, "x_content_parse_exception", None),
])
def test_bad_user_queries_get_elasticsearchs_errors(call, people, body, kind, reason):
    status, answer = call("POST", "/_security/_query/user", body)
    assert status == 400 and answer["status"] == 400
    assert answer["error"]["type"] == kind
    if reason is not None:
        assert answer["error"]["reason"] == reason


@pytest.fixture
def roles(call):
    for name, body in (
            ("app_reader", {"description": "Reads the app", "metadata": {"tier": ["gold", "blue"], "n": 2},
                            "applications": [{"application": "kibana", "privileges": ["read"],
                                              "resources": ["space:a", "space:b"]}]}),
            ("monitor_only", {"cluster": ["monitor"], "metadata": {"tier": "silver"}}),
            ("writer", {"description": "Writes", "applications": [
                {"application": "myapp", "privileges": ["write"], "resources": ["*"]},
                {"application": "kibana", "privileges": ["all"], "resources": ["space:c"]}]})):
        assert call("PUT", f"/_security/role/{name}", body)[0] == 200


def names_of(answer):
    return [role["name"] for role in answer["roles"]]


def test_query_roles_returns_stored_roles_not_reserved_ones(call, roles):
    answer = users_of(call, {}, "/_security/_query/role")
    assert answer["total"] == answer["count"] == 3 and names_of(answer) == ["app_reader", "monitor_only", "writer"]
    status, descriptor = call("GET", "/_security/role/monitor_only")
    assert answer["roles"][1] == {"name": "monitor_only", **descriptor["monitor_only"]}


@pytest.mark.parametrize("query, names", [
    ({"term": {"name": "writer"}}, ["writer"]),
    ({"term": {"description": "Writes"}}, ["writer"]),
    ({"exists": {"field": "description"}}, ["app_reader", "writer"]),
    ({"term": {"applications.application": "kibana"}}, ["app_reader", "writer"]),
    ({"term": {"applications.resources": "space:c"}}, ["writer"]),
    ({"prefix": {"applications.resources": "space:"}}, ["app_reader", "writer"]),
    ({"term": {"applications.privileges": "read"}}, ["app_reader"]),
    ({"term": {"metadata.tier": "blue"}}, ["app_reader"]),
    ({"term": {"metadata": "silver"}}, ["monitor_only"]),
    ({"range": {"metadata.n": {"gte": "2"}}}, ["app_reader"]),
    ({"exists": {"field": "metadata"}}, ["app_reader", "monitor_only"]),
    ({"bool": {"must_not": {"term": {"metadata._reserved": True}}}}, ["app_reader", "monitor_only", "writer"]),
    ({"ids": {"values": ["writer", "superuser"]}}, ["writer"]),
    ({"simple_query_string": {"query": "myapp silver"}}, ["monitor_only", "writer"]),
    ({"wildcard": {"name": {"value": "*READ*", "case_insensitive": True}}}, ["app_reader"]),
])
def test_role_queries(call, roles, query, names):
    assert names_of(users_of(call, {"query": query}, "/_security/_query/role")) == names


def test_role_sorting_and_search_after(call, roles):
    answer = users_of(call, {"sort": [{"applications.application": "desc"}, "name"]}, "/_security/_query/role")
    assert [(r["name"], r["_sort"]) for r in answer["roles"]] == [
        ("writer", ["myapp", "writer"]), ("app_reader", ["kibana", "app_reader"]),
        ("monitor_only", [None, "monitor_only"])]
    answer = users_of(call, {"sort": ["metadata.tier"], "search_after": ["gold"]}, "/_security/_query/role")
    assert [(r["name"], r["_sort"]) for r in answer["roles"]] == [("monitor_only", ["silver"]), ("writer", [None])]
    answer = users_of(call, {"sort": [{"description": "asc"}], "size": 1}, "/_security/_query/role")
    assert answer["total"] == 3 and [(r["name"], r["_sort"]) for r in answer["roles"]] == [
        ("app_reader", ["Reads the app"])]


@pytest.mark.parametrize("body, reason", [
    ({"query": {"term": {"cluster": "monitor"}}}, "Field [cluster] is not allowed for querying or aggregation"),
    ({"query": {"term": {"username": "x"}}}, "Field [username] is not allowed for querying or aggregation"),
    ({"query": {"match_phrase": {"description": "x"}}},
     "Query type [match_phrase] is not currently supported in this context"),
    ({"sort": [{"name": "up"}]}, "Unknown SortOrder [up]"),
])
def test_bad_role_queries_get_elasticsearchs_errors(call, roles, body, reason):
    status, answer = call("POST", "/_security/_query/role", body)
    assert status == 400 and answer["error"]["type"] == "illegal_argument_exception"
    assert answer["error"]["reason"] == reason


def test_querying_needs_read_security(call, make_user, people):
    make_user("plain", [])
    make_user("watcher", ["security_viewer"])
    for path in ("/_security/_query/user", "/_security/_query/role"):
        status, answer = call("POST", path, {}, basic_header("plain", USER_PASSWORD))
        assert status == 403 and answer["error"]["type"] == "security_exception"
        assert "read_security" in answer["error"]["reason"]
        assert call("GET", path, None, basic_header("watcher", USER_PASSWORD))[0] == 200
    assert call("POST", "/_security/_query/user", {})[0] == 200
