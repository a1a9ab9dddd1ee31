"""The user and role Query APIs through the official client: `security.query_user`, `security.query_role`."""

import uuid

import pytest
from elasticsearch import AuthorizationException, BadRequestError


@pytest.fixture(scope="module")
def tag():
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def people(elastic, tag):
    for name, roles, extra in (("ann", ["viewer", "api_key_user"], {"full_name": "Ann A"}),
                               ("bob", ["security_viewer"], {"email": "bob@example.com"}),
                               ("cat", [], {})):
        elastic.security.put_user(username=f"{tag}-{name}", password="query-password", roles=roles, **extra)
    return [f"{tag}-{name}" for name in ("ann", "bob", "cat")]


def test_query_user_pages_sorts_and_filters(elastic, people, tag):
    mine = {"prefix": {"username": f"{tag}-"}}
    answer = elastic.security.query_user(query=mine, sort=["username"], size=2, with_profile_uid=True)
    assert answer["total"] == 3 and answer["count"] == 2
    assert [(user["username"], user["_sort"]) for user in answer["users"]] == [(people[0], [people[0]]),
                                                                               (people[1], [people[1]])]
    assert answer["users"][0] == {"username": people[0], "roles": ["viewer", "api_key_user"], "full_name": "Ann A",
                                  "email": None, "metadata": {}, "enabled": True, "_sort": [people[0]]}
    rest = elastic.security.query_user(query=mine, sort=["username"], search_after=[people[1]])
    assert [user["username"] for user in rest["users"]] == [people[2]]
    viewers = elastic.security.query_user(query={"bool": {"filter": [mine, {"wildcard": {"roles": "*viewer"}}]}})
    assert sorted(user["username"] for user in viewers["users"]) == people[:2]
    every = elastic.security.query_user(size=1000)["users"]
    assert "elastic" not in {user["username"] for user in every}  # reserved users are left out, as in ES


def test_query_role_finds_stored_roles(elastic, tag):
    elastic.security.put_role(name=f"{tag}-reader", description="Reads", metadata={"team": "blue"},
                              applications=[{"application": "kibana", "privileges": ["read"], "resources": ["*"]}])
    elastic.security.put_role(name=f"{tag}-ops", cluster=["monitor"], metadata={"team": ["red", "blue"]})
    answer = elastic.security.query_role(
        query={"bool": {"must": [{"prefix": {"name": tag}}, {"term": {"metadata.team": "blue"}}],
                        "must_not": {"term": {"metadata._reserved": True}}}},
        sort=[{"name": {"order": "desc"}}])
    assert answer["total"] == 2 and [role["name"] for role in answer["roles"]] == [f"{tag}-reader", f"{tag}-ops"]
    reader = answer["roles"][0]
    assert reader["description"] == "Reads" and reader["applications"][0]["application"] == "kibana"
    assert reader["_sort"] == [f"{tag}-reader"]
    apps = elastic.security.query_role(query={"term": {"applications.application": "kibana"}})
    assert f"{tag}-reader" in {role["name"] for role in apps["roles"]}
    builtin = elastic.security.query_role(query={"ids": {"values": ["superuser"]}})
    assert builtin["total"] == 0  # built-in roles aren't returned, as in Elasticsearch


def test_bad_queries_and_missing_privileges(elastic, connect, tag):
    with pytest.raises(BadRequestError) as bad:
        elastic.security.query_user(query={"term": {"password": "x"}})
    assert bad.value.body["error"]["reason"] == "Field [password] is not allowed for querying or aggregation"
    with pytest.raises(BadRequestError) as bad:
        elastic.security.query_role(sort=["cluster"])
    assert bad.value.body["error"]["reason"] == "Field [cluster] is not allowed for querying or aggregation"
    elastic.security.put_user(username=f"{tag}-plain", password="query-password", roles=["api_key_user"])
    plain = connect(basic_auth=(f"{tag}-plain", "query-password"))
    for call in (plain.security.query_user, plain.security.query_role):
        with pytest.raises(AuthorizationException) as denied:
            call()
        assert denied.value.meta.status == 403
