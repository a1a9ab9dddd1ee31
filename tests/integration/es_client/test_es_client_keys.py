"""API keys through the official Elasticsearch client against a real Keydesk server (gunicorn)."""

import uuid

import pytest
from elasticsearch import ApiError, AuthenticationException, AuthorizationException, BadRequestError, NotFoundError

from tests.conftest import ELASTIC_PASSWORD


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def owner(elastic, connect):
    """A user holding manage_own_api_key, signed in with Basic credentials through its own client."""
    name = unique("owner")
    elastic.security.put_user(username=name, password="owner-password", roles=["api_key_user"])
    return name, connect(basic_auth=(name, "owner-password"))


def test_authenticate_with_basic_and_with_a_key(elastic, connect):
    me = elastic.security.authenticate()
    assert me["username"] == "elastic" and me["authentication_type"] == "realm"
    assert me["authentication_realm"] == {"name": "reserved", "type": "reserved"}
    key = elastic.security.create_api_key(name="who-am-i")
    by_key = connect(api_key=key["encoded"]).security.authenticate()
    assert by_key["authentication_type"] == "api_key" and by_key["roles"] == []
    assert by_key["api_key"] == {"id": key["id"], "name": "who-am-i", "managed_by": "elasticsearch"}
    assert by_key["authentication_realm"] == {"name": "_es_api_key", "type": "_es_api_key"}
    assert connect(api_key=(key["id"], key["api_key"])).security.authenticate()["username"] == "elastic"


def test_create_get_update_and_invalidate(owner, connect):
    name, client = owner
    created = client.security.create_api_key(name="ci-deploy", expiration="7d", metadata={"env": "ci"},
                                              role_descriptors={"deploy": {"cluster": ["monitor"]}})
    assert set(created) == {"id", "name", "expiration", "api_key", "encoded"}
    found = client.security.get_api_key(id=created["id"], owner=True)["api_keys"]
    assert len(found) == 1 and found[0]["username"] == name and found[0]["metadata"] == {"env": "ci"}
    assert found[0]["role_descriptors"]["deploy"]["cluster"] == ["monitor"]
    assert client.security.get_api_key(name="ci-*", owner=True)["api_keys"][0]["id"] == created["id"]
    assert client.security.update_api_key(id=created["id"], metadata={"env": "prod"})["updated"] is True
    assert client.security.update_api_key(id=created["id"], metadata={"env": "prod"})["updated"] is False
    assert client.security.get_api_key(id=created["id"], owner=True)["api_keys"][0]["metadata"] == {"env": "prod"}
    other = client.security.create_api_key(name="ci-other")
    bulk = client.security.bulk_update_api_keys(ids=[created["id"], other["id"]], metadata={"env": "prod"})
    assert bulk["updated"] == [other["id"]] and bulk["noops"] == [created["id"]] and "errors" not in bulk
    key_client = connect(api_key=created["encoded"])
    assert key_client.security.authenticate()["api_key"]["id"] == created["id"]
    result = client.security.invalidate_api_key(ids=[created["id"]], owner=True)
    assert result["invalidated_api_keys"] == [created["id"]] and result["error_count"] == 0
    with pytest.raises(AuthenticationException) as refused:
        key_client.security.authenticate()
    assert refused.value.meta.status == 401
    assert refused.value.body["error"]["additional_unsuccessful_credentials"] == (
        f"API key: api key [{created['id']}] has been invalidated")
    again = client.security.invalidate_api_key(ids=[created["id"]], owner=True)
    assert again["previously_invalidated_api_keys"] == [created["id"]]
    assert client.security.get_api_key(id=created["id"], owner=True)["api_keys"][0]["invalidated"] is True


def test_expired_keys_are_refused(elastic, connect):
    key = elastic.security.create_api_key(name="instantly-expired", expiration="1ms")
    with pytest.raises(AuthenticationException) as refused:
        connect(api_key=key["encoded"]).security.authenticate()
    assert refused.value.body["error"]["type"] == "security_exception"
    assert refused.value.body["error"]["additional_unsuccessful_credentials"] == "API key: api key is expired"
    with pytest.raises(BadRequestError) as too_late:
        elastic.security.update_api_key(id=key["id"], metadata={"x": 1})
    assert too_late.value.body["error"]["reason"] == f"cannot update expired API key [{key['id']}]"


def test_a_missing_key_is_a_404(elastic):
    with pytest.raises(NotFoundError) as missing:
        elastic.security.get_api_key(id="AAAAAAAAAAAAAAAAAAAA")
    assert missing.value.body == {"api_keys": []}


def test_has_privileges_for_a_key_limited_to_one_index_pattern(elastic, connect):
    key = elastic.security.create_api_key(name="logs-only", role_descriptors={
        "logs": {"indices": [{"names": ["logs-*"], "privileges": ["read", "view_index_metadata"]}]}})
    client = connect(api_key=key["encoded"])
    answer = client.security.has_privileges(
        cluster=["monitor", "manage_own_api_key"],
        index=[{"names": ["logs-app", "logs-*", "metrics-app", "*"], "privileges": ["read", "write"]}])
    assert answer["username"] == "elastic" and answer["has_all_requested"] is False
    assert answer["cluster"] == {"monitor": False, "manage_own_api_key": False}
    assert answer["index"] == {"logs-app": {"read": True, "write": False}, "logs-*": {"read": True, "write": False},
                               "metrics-app": {"read": False, "write": False}, "*": {"read": False, "write": False}}
    assert client.security.has_privileges(index=[{"names": ["logs-2024.01"], "privileges": ["read"]}])[
        "has_all_requested"] is True
    # The owner (a superuser) holds everything; the key holds only what it was given.
    assert elastic.security.has_privileges(cluster=["all"], index=[{"names": ["*"], "privileges": ["all"]}])[
        "has_all_requested"] is True


def test_cross_cluster_keys_with_and_without_a_license(elastic, connect):
    access = {"search": [{"names": ["logs-*"]}], "replication": [{"names": ["archive-*"]}]}
    if elastic.license.get()["license"]["type"] == "basic":
        with pytest.raises(AuthorizationException) as refused:
            elastic.security.create_cross_cluster_api_key(name="remote", access=access)
        assert refused.value.body["error"]["reason"] == (
            "current license is non-compliant for [advanced-remote-cluster-security]")
        started = elastic.license.post_start_trial(acknowledge=True)
        assert started.body == {"acknowledged": True, "trial_was_started": True, "type": "trial"}
    assert elastic.license.get()["license"]["type"] == "trial"
    created = elastic.security.create_cross_cluster_api_key(name="remote", access=access,
                                                            metadata={"cluster": "eu"})
    stored = elastic.security.get_api_key(id=created["id"])["api_keys"][0]
    assert stored["type"] == "cross_cluster" and stored["access"]["replication"] == [
        {"names": ["archive-*"], "allow_restricted_indices": False}]
    assert stored["role_descriptors"]["cross_cluster"]["cluster"] == [
        "cross_cluster_search", "monitor_enrich", "cross_cluster_replication"]
    updated = elastic.security.update_cross_cluster_api_key(id=created["id"], access={"search": [{"names": ["*"]}]})
    assert updated["updated"] is True
    with pytest.raises(AuthenticationException):
        connect(api_key=created["encoded"]).security.authenticate()  # not usable on the REST interface
    with pytest.raises(BadRequestError) as wrong_type:
        elastic.security.update_api_key(id=created["id"], metadata={})
    assert "while expected type is [rest]" in wrong_type.value.body["error"]["reason"]
    with pytest.raises(ApiError) as second_trial:
        elastic.license.post_start_trial(acknowledge=True)
    assert second_trial.value.meta.status == 403
    assert second_trial.value.body["error_message"] == "Operation failed: Trial was already activated."


def test_the_client_sends_and_accepts_the_vendor_media_type(elastic):
    response = elastic.security.authenticate()
    assert response.meta.headers["content-type"] == "application/vnd.elasticsearch+json;compatible-with=9"
    assert response.meta.headers["x-elastic-product"] == "Elasticsearch"


def test_basic_credentials_of_a_changed_password_stop_working(elastic, connect):
    name = unique("changer")
    elastic.security.put_user(username=name, password="before-change", roles=[])
    client = connect(basic_auth=(name, "before-change"))
    assert client.security.authenticate()["username"] == name  # now cached in one worker
    elastic.security.change_password(username=name, password="after-change")
    for _ in range(4):  # whichever worker answers, the old password is refused
        with pytest.raises(AuthenticationException):
            client.security.authenticate()
    assert connect(basic_auth=(name, "after-change")).security.authenticate()["username"] == name
    assert connect(basic_auth=("elastic", ELASTIC_PASSWORD)).security.authenticate()["username"] == "elastic"
