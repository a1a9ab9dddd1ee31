"""The grant API through the official Elasticsearch client against a real Keydesk server (gunicorn)."""

import uuid

import pytest
from elasticsearch import AuthenticationException, AuthorizationException, BadRequestError


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def cast(elastic, connect):
    """(granter client, target username, target password, granter username)."""
    role = unique("granter-role")
    elastic.security.put_role(name=role, cluster=["grant_api_key"])
    target_role = unique("target-role")
    elastic.security.put_role(name=target_role, cluster=["monitor"])
    granter, target = unique("granter"), unique("target")
    elastic.security.put_user(username=granter, password="granter-password", roles=[role])
    elastic.security.put_user(username=target, password="target-password", roles=[target_role])
    return connect(basic_auth=(granter, "granter-password")), target, "target-password", granter


def test_grant_with_password_makes_a_key_of_the_granted_user(cast, connect, elastic):
    client, target, password, granter = cast
    granted = client.security.grant_api_key(
        grant_type="password", username=target, password=password,
        api_key={"name": "granted", "expiration": "1d", "metadata": {"by": "ci"},
                 "role_descriptors": {"r": {"cluster": ["monitor"]}}})
    assert set(granted) == {"id", "name", "expiration", "api_key", "encoded"}
    me = connect(api_key=granted["encoded"]).security.authenticate()
    assert me["username"] == target and me["api_key"]["name"] == "granted"
    assert me["authentication_realm"] == {"name": "_es_api_key", "type": "_es_api_key"}
    key = elastic.security.get_api_key(id=granted["id"])["api_keys"][0]
    assert key["username"] == target and key["realm"] == "native" and key["metadata"] == {"by": "ci"}
    own = client.security.grant_api_key(grant_type="password", username=granter, password="granter-password",
                                        api_key={"name": "for-myself"})
    assert elastic.security.get_api_key(id=own["id"])["api_keys"][0]["username"] == granter


def test_a_wrong_password_is_401(cast):
    client, target, _, _ = cast
    with pytest.raises(AuthenticationException) as caught:
        client.security.grant_api_key(grant_type="password", username=target, password="wrong-password",
                                      api_key={"name": "nope"})
    assert caught.value.meta.status == 401
    assert caught.value.body["error"]["reason"] == (
        f"unable to authenticate user [{target}] for action [cluster:admin/xpack/security/api_key/grant]")


def test_a_caller_without_the_privilege_is_403(cast, connect):
    _, target, password, granter = cast
    with pytest.raises(AuthorizationException) as caught:
        connect(basic_auth=(target, password)).security.grant_api_key(
            grant_type="password", username=granter, password="granter-password", api_key={"name": "nope"})
    assert "this action is granted by the cluster privileges [grant_api_key,manage_api_key,manage_security,all]" \
        in caught.value.body["error"]["reason"]


def test_validation_and_token_grants_are_400(cast):
    client, target, _, _ = cast
    with pytest.raises(BadRequestError) as caught:
        client.security.grant_api_key(grant_type="password", username=target, api_key={})
    assert caught.value.body["error"]["type"] == "action_request_validation_exception"
    assert caught.value.body["error"]["reason"] == (
        "Validation Failed: 1: api key name is required;2: [password] is required for grant_type [password];")
    with pytest.raises(BadRequestError) as caught:
        client.security.grant_api_key(grant_type="access_token", access_token="abc", api_key={"name": "t"})
    assert "grant_type [access_token] is not supported" in caught.value.body["error"]["reason"]
