"""Roles and key role descriptors named like descriptor fields (`cluster`, `indices`, ...) keep their privileges.

A {role name: descriptor} map is read as one by where it comes from (a user's roles, a key's
`role_descriptors`, its `limited_by`), never guessed from its shape.
"""

import json

import pytest

from tests.conftest import USER_PASSWORD, basic_header
from webapp.model import ApiKey
from webapp.services.access.system import system_subject
from webapp.services.admin import roles
from webapp.services.api_keys import details

FIELD_NAMES = ["cluster", "indices", "metadata", "run_as", "applications", "global", "description"]
KEY_MAKER = {"cluster": ["manage_own_api_key", "monitor"], "indices": [{"names": ["logs-*"], "privileges": ["all"]}]}


def call(client, method, path, headers, body=None):
    response = client.open(path, method=method, headers={**headers, "Content-Type": "application/json"},
                           data=None if body is None else json.dumps(body))
    return response.status_code, response.get_json()


def _has(client, headers, cluster, names, privileges):
    status, body = call(client, "POST", "/_security/user/_has_privileges", headers,
                        {"cluster": cluster, "index": [{"names": names, "privileges": privileges}]})
    assert status == 200, body
    return body


@pytest.mark.parametrize("role_name", FIELD_NAMES)
def test_a_user_whose_only_role_is_named_like_a_field_can_create_a_key(client, db, make_user, role_name):
    roles.put_role(system_subject(), role_name, KEY_MAKER)
    make_user("alice", [role_name])
    alice = basic_header("alice", USER_PASSWORD)
    status, body = call(client, "POST", "/_security/api_key", alice, {"name": "from-alice"})
    assert status == 200, body
    key = {"Authorization": f"ApiKey {body['encoded']}"}
    held = _has(client, key, ["monitor", "manage_own_api_key", "manage_security"], ["logs-1"], ["read"])
    assert held["cluster"] == {"monitor": True, "manage_own_api_key": True, "manage_security": False}
    assert held["index"] == {"logs-1": {"read": True}}
    assert list(ApiKey.get_by_id(body["id"]).limited_by[0]) == [role_name]


@pytest.mark.parametrize("descriptor_name", ["indices", "cluster", "index", "metadata"])
def test_a_key_descriptor_named_like_a_field_grants_exactly_its_privileges(client, db, make_user,
                                                                            descriptor_name):
    make_user("svc", ["superuser"])
    svc = basic_header("svc", USER_PASSWORD)
    status, body = call(client, "POST", "/_security/api_key", svc, {"name": "narrow", "role_descriptors": {
        descriptor_name: {"cluster": ["monitor"], "indices": [{"names": ["logs-*"], "privileges": ["read"]}]}}})
    assert status == 200, body
    key = {"Authorization": f"ApiKey {body['encoded']}"}
    held = _has(client, key, ["monitor", "manage", "all"], ["logs-1", "metrics-1"], ["read", "write"])
    assert held["cluster"] == {"monitor": True, "manage": False, "all": False}
    assert held["index"] == {"logs-1": {"read": True, "write": False}, "metrics-1": {"read": False, "write": False}}
    words = " ".join(details.describe_effective(ApiKey.get_by_id(body["id"])))
    assert "Cluster privileges: monitor." in words and "Index privileges on logs-*: read." in words
