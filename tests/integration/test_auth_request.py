"""/_security/_authenticate as a reverse proxy's auth_request target: identity headers, required privileges."""

import pytest

from webapp.model import ApiKey
from webapp.services.api_keys import commands as api_keys

LOGS_READER = {"logs": {"cluster": ["monitor"], "indices": [{"names": ["logs-*"], "privileges": ["read"]}]}}


@pytest.fixture
def key_header(db, make_user, subject_of):
    owner = subject_of(make_user("svc", ["superuser"]))
    created = api_keys.create_api_key(owner, name="proxy-check", role_descriptors=LOGS_READER)
    return {"Authorization": f"ApiKey {created.encoded}"}, created


def test_good_key_gets_identity_headers(client, key_header):
    headers, created = key_header
    response = client.get("/_security/_authenticate", headers=headers)
    assert response.status_code == 200
    assert response.headers["X-Keydesk-User"] == "svc"
    assert response.headers["X-Keydesk-Realm"] == "native"
    assert response.headers["X-Keydesk-Api-Key-Id"] == created.id


@pytest.mark.parametrize("query, status", [
    ("?privilege=monitor", 200),
    ("?privilege=manage_security", 403),
    ("?index=logs-2026&index_privilege=read", 200),
    ("?index=logs-*&index_privilege=read", 200),
    ("?index=logs-2026&index_privilege=write", 403),
    ("?index=metrics-1&index_privilege=read", 403),
    ("?privilege=monitor&index=logs-1&index_privilege=read", 200),
    ("?privilege=not_a_privilege", 400),
    ("?index=logs-1", 400),
    ("?unknown=1", 400),
])
def test_required_privileges(client, key_header, query, status):
    headers, _ = key_header
    response = client.get(f"/_security/_authenticate{query}", headers=headers)
    assert response.status_code == status
    if status != 200:
        assert "X-Keydesk-User" not in response.headers
        assert response.get_json()["status"] == status


def test_revoked_key_is_refused_at_the_next_check(client, key_header):
    headers, created = key_header
    assert client.get("/_security/_authenticate", headers=headers).status_code == 200
    ApiKey.update(invalidated=True).where(ApiKey.id == created.id).execute()
    response = client.get("/_security/_authenticate", headers=headers)
    assert response.status_code == 401 and "X-Keydesk-User" not in response.headers


def test_no_credentials_is_401_for_the_proxy(client):
    response = client.get("/_security/_authenticate")
    assert response.status_code == 401
    assert "ApiKey" in response.headers.getlist("WWW-Authenticate")


def test_asking_for_no_privilege_or_for_none_only_verifies_the_credential(client, make_user):
    """As in Elasticsearch, every caller holds the cluster privilege `none`: a check that asks only for it (or
    for nothing) lets in a user without roles. docs/deploy.md says so, and the nginx example refuses such a
    check itself (tests/browser/test_e2e_nginx.py)."""
    from tests.conftest import USER_PASSWORD, basic_header

    make_user("rolefree", [])
    header = basic_header("rolefree", USER_PASSWORD)
    assert client.get("/_security/_authenticate", headers=header).status_code == 200
    assert client.get("/_security/_authenticate?privilege=none", headers=header).status_code == 200
    assert client.get("/_security/_authenticate?privilege=monitor", headers=header).status_code == 403
    assert client.get("/_security/_authenticate?index=app&index_privilege=read", headers=header).status_code == 403
