"""Roles and users CRUD, and every privilege level's allowed and refused calls, through the official client."""

import uuid

import pytest
from elasticsearch import ApiError, BadRequestError, NotFoundError

LEVELS = {"none": [], "own_keys": ["api_key_user"], "all_keys": ["api_key_admin"], "viewer": ["security_viewer"],
          "security": ["security_admin"], "superuser": ["superuser"]}


def test_roles_crud(elastic):
    name = f"role-{uuid.uuid4().hex[:8]}"
    created = elastic.security.put_role(name=name, cluster=["monitor"], description="Watches the cluster",
                                        indices=[{"names": ["logs-*"], "privileges": ["read"]}],
                                        metadata={"owner": "ops"})
    assert created.body == {"role": {"created": True}}
    assert elastic.security.put_role(name=name, cluster=["monitor", "manage_own_api_key"]).body == {
        "role": {"created": False}}
    role = elastic.security.get_role(name=name)[name]
    assert role["cluster"] == ["monitor", "manage_own_api_key"] and role["indices"] == []
    assert "superuser" in elastic.security.get_role() and name in elastic.security.get_role()
    with pytest.raises(NotFoundError) as missing:
        elastic.security.get_role(name="no-such-role")
    assert missing.value.body == {}
    with pytest.raises(BadRequestError) as reserved:
        elastic.security.put_role(name="superuser", cluster=["monitor"])
    assert reserved.value.body["error"]["reason"] == "Role [superuser] is reserved and may not be used."
    assert elastic.security.delete_role(name=name).body == {"found": True}
    with pytest.raises(NotFoundError) as gone:
        elastic.security.delete_role(name=name)
    assert gone.value.body == {"found": False}


def test_users_crud(elastic, connect):
    name = f"user-{uuid.uuid4().hex[:8]}"
    assert elastic.security.put_user(username=name, password="first-pass", roles=["viewer"], full_name="Ann",
                                     email="ann@example.com", metadata={"desk": 4}).body == {"created": True}
    assert elastic.security.put_user(username=name, roles=["viewer", "api_key_user"]).body == {"created": False}
    user = elastic.security.get_user(username=name)[name]
    assert user == {"username": name, "roles": ["viewer", "api_key_user"], "full_name": "Ann",
                    "email": "ann@example.com", "metadata": {"desk": 4}, "enabled": True}
    assert "elastic" in elastic.security.get_user()
    client = connect(basic_auth=(name, "first-pass"))
    assert client.security.authenticate()["roles"] == ["api_key_user", "viewer"]
    client.security.change_password(password="second-pass")  # their own password, no privilege needed
    assert connect(basic_auth=(name, "second-pass")).security.authenticate()["username"] == name
    elastic.security.disable_user(username=name)
    assert elastic.security.get_user(username=name)[name]["enabled"] is False
    with pytest.raises(ApiError) as disabled:
        connect(basic_auth=(name, "second-pass")).security.authenticate()
    assert disabled.value.meta.status == 401
    elastic.security.enable_user(username=name)
    assert connect(basic_auth=(name, "second-pass")).security.authenticate()["username"] == name
    assert elastic.security.delete_user(username=name).body == {"found": True}
    with pytest.raises(NotFoundError):
        elastic.security.get_user(username=name)


@pytest.fixture(scope="module")
def callers(elastic, connect):
    """One client per privilege level (Basic), one for an API key with no privileges, and a victim key."""
    suffix = uuid.uuid4().hex[:6]
    clients = {}
    for level, roles in LEVELS.items():
        username = f"{level}-{suffix}"
        elastic.security.put_user(username=username, password="level-password", roles=roles)
        clients[level] = connect(basic_auth=(username, "level-password"))
    empty = clients["superuser"].security.create_api_key(name="empty", role_descriptors={"nothing": {}})
    clients["empty_key"] = connect(api_key=empty["encoded"])
    victim = elastic.security.create_api_key(name="victim")["id"]
    return clients, victim


def _outcome(call):
    try:
        call()
    except ApiError as error:
        body = error.body if isinstance(error.body, dict) else {}
        kind = body.get("error", {}).get("type") if isinstance(body.get("error"), dict) else None
        return error.meta.status, kind
    return 200, None


OPERATIONS = {
    "create_key": lambda c, v: c.security.create_api_key(name="probe"),
    "get_own_keys": lambda c, v: c.security.get_api_key(owner=True),
    "get_all_keys": lambda c, v: c.security.get_api_key(),
    "query_keys": lambda c, v: c.security.query_api_keys(size=1),
    "invalidate_other": lambda c, v: c.security.invalidate_api_key(ids=[v]),
    "get_roles": lambda c, v: c.security.get_role(),
    "put_role": lambda c, v: c.security.put_role(name="probe-role", cluster=["monitor"]),
    "get_users": lambda c, v: c.security.get_user(),
    "builtin_privileges": lambda c, v: c.security.get_builtin_privileges(),
    "authenticate": lambda c, v: c.security.authenticate(),
    "has_privileges": lambda c, v: c.security.has_privileges(cluster=["monitor"]),
}
OK, DENIED = (200, None), (403, "security_exception")
EXPECTED = {  # operation: {caller: outcome}
    "create_key": {"none": DENIED, "own_keys": OK, "all_keys": OK, "viewer": DENIED, "security": OK,
                   "superuser": OK, "empty_key": DENIED},
    "get_own_keys": {"none": DENIED, "own_keys": OK, "all_keys": OK, "viewer": OK, "security": OK,
                     "superuser": OK, "empty_key": DENIED},
    "get_all_keys": {"none": DENIED, "own_keys": DENIED, "all_keys": OK, "viewer": OK, "security": OK,
                     "superuser": OK, "empty_key": DENIED},
    "query_keys": {"none": DENIED, "own_keys": OK, "all_keys": OK, "viewer": OK, "security": OK,
                   "superuser": OK, "empty_key": DENIED},
    "invalidate_other": {"none": DENIED, "own_keys": DENIED, "all_keys": OK, "viewer": DENIED, "security": OK,
                         "superuser": OK, "empty_key": DENIED},
    "get_roles": {"none": DENIED, "own_keys": DENIED, "all_keys": DENIED, "viewer": OK, "security": OK,
                  "superuser": OK, "empty_key": DENIED},
    "put_role": {"none": DENIED, "own_keys": DENIED, "all_keys": DENIED, "viewer": DENIED, "security": OK,
                 "superuser": OK, "empty_key": DENIED},
    "get_users": {"none": DENIED, "own_keys": DENIED, "all_keys": DENIED, "viewer": OK, "security": OK,
                  "superuser": OK, "empty_key": DENIED},
    "builtin_privileges": {"none": DENIED, "own_keys": DENIED, "all_keys": DENIED, "viewer": OK, "security": OK,
                           "superuser": OK, "empty_key": DENIED},
    "authenticate": {caller: OK for caller in ("none", "own_keys", "all_keys", "viewer", "security", "superuser",
                                               "empty_key")},
    "has_privileges": {caller: OK for caller in ("none", "own_keys", "all_keys", "viewer", "security",
                                                 "superuser", "empty_key")},
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_every_privilege_level(callers, operation):
    clients, victim = callers
    outcomes = {caller: _outcome(lambda c=client: OPERATIONS[operation](c, victim))
                for caller, client in clients.items()}
    assert outcomes == EXPECTED[operation]


def test_a_refusal_names_the_action_and_the_privileges_that_grant_it(callers):
    clients, _ = callers
    with pytest.raises(ApiError) as refused:
        clients["viewer"].security.put_role(name="x", cluster=["monitor"])
    reason = refused.value.body["error"]["reason"]
    assert reason.startswith("action [cluster:admin/xpack/security/role/put] is unauthorized for user [viewer-")
    assert reason.endswith("with effective roles [security_viewer], this action is granted by the cluster "
                           "privileges [manage_security,all]")
    with pytest.raises(ApiError) as by_key:
        clients["empty_key"].security.get_role()
    assert "is unauthorized for API key id [" in by_key.value.body["error"]["reason"]


def test_role_mappings_through_the_official_client(elastic):
    name = f"mapping-{uuid.uuid4().hex[:8]}"
    rules = {"all": [{"field": {"realm.name": "proxy"}}, {"field": {"groups": "ops"}}]}
    created = elastic.security.put_role_mapping(name=name, enabled=True, roles=["security_viewer"], rules=rules,
                                                metadata={"team": "ops"})
    assert created.body == {"role_mapping": {"created": True}}
    updated = elastic.security.put_role_mapping(name=name, enabled=False, rules=rules, role_templates=[
        {"template": {"source": "{{#tojson}}groups{{/tojson}}"}, "format": "json"}])
    assert updated.body == {"role_mapping": {"created": False}}
    assert elastic.security.get_role_mapping(name=name).body == {name: {
        "enabled": False, "role_templates": [{"template": {"source": "{{#tojson}}groups{{/tojson}}"},
                                              "format": "json"}], "rules": rules, "metadata": {}}}
    assert name in elastic.security.get_role_mapping().body
    with pytest.raises(NotFoundError) as missing:
        elastic.security.get_role_mapping(name="no-such-mapping")
    assert missing.value.body == {}
    with pytest.raises(BadRequestError) as refused:
        elastic.security.put_role_mapping(name=name, enabled=True, roles=["a"], rules={"field": {"shoe": 1}})
    assert refused.value.body["error"]["type"] == "parsing_exception"  # the rules don't parse, as in ES
    assert "field [shoe] is not one of" in refused.value.body["error"]["caused_by"]["caused_by"]["reason"]
    assert elastic.security.delete_role_mapping(name=name).body == {"found": True}
    with pytest.raises(NotFoundError) as gone:
        elastic.security.delete_role_mapping(name=name)
    assert gone.value.body == {"found": False}
