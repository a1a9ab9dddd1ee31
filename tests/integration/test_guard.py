"""The route guard for each kind of caller (anonymous, session, Basic, ApiKey) and each kind of answer."""

import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, basic_header
from webapp.model import ApiKey
from webapp.services.api_keys import commands as api_keys

HTMX = {"HX-Request": "true"}


@pytest.fixture
def key_for(make_user, subject_of, db):
    """Create a user with `roles` and an API key of theirs; returns the Authorization header for it."""

    def make(username, roles, role_descriptors=None):
        user = make_user(username, roles)
        created = api_keys.create_api_key(subject_of(user), name=f"{username}-key",
                                          role_descriptors=role_descriptors)
        return {"Authorization": f"ApiKey {created.encoded}"}, created

    return make


# ---- not signed in -----------------------------------------------------------------------------------

def test_anonymous_page_redirects_to_login(client):
    response = client.get("/keys/")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/keys/"


def test_anonymous_htmx_gets_hx_redirect(client):
    response = client.get("/keys/", headers=HTMX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/keys/"


def test_anonymous_json_gets_elasticsearch_401(client):
    response = client.get("/_security/_authenticate")
    assert response.status_code == 401
    body = response.get_json()
    assert body["status"] == 401
    assert body["error"]["type"] == "security_exception"
    assert body["error"]["root_cause"][0]["type"] == "security_exception"
    assert body["error"]["reason"] == "missing authentication credentials for REST request"
    assert response.headers.getlist("WWW-Authenticate") == ['Basic realm="security", charset="UTF-8"', "ApiKey"]
    assert response.headers["X-Elastic-Product"] == "Elasticsearch"


def test_session_cookie_is_never_used_by_the_json_api(client, auth):
    auth.login()
    assert client.get("/keys/").status_code == 200
    assert client.get("/_security/_authenticate").status_code == 401


# ---- lacking the privilege ---------------------------------------------------------------------------

def test_page_without_privilege_is_a_403_page(client, auth, make_user):
    make_user("nopriv", [])
    auth.login("nopriv", USER_PASSWORD)
    response = client.get("/roles/")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "<html" in html and "You don&#39;t have permission" in html and "read_security" in html


def test_htmx_without_privilege_is_a_403_partial(client, auth, make_user):
    make_user("nopriv", [])
    auth.login("nopriv", USER_PASSWORD)
    response = client.get("/roles/", headers=HTMX)
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'role="alert"' in html
    assert response.headers["HX-Retarget"] == "#page-message"


def test_json_without_privilege_is_an_elasticsearch_403(client, make_user):
    make_user("nopriv", ["api_key_user"])
    response = client.get("/_security/privilege/_builtin", headers=basic_header("nopriv", USER_PASSWORD))
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["type"] == "security_exception"
    assert error["reason"] == (
        "action [cluster:admin/xpack/security/privilege/builtin/get] is unauthorized for user [nopriv] "
        "with effective roles [api_key_user], this action is granted by the cluster privileges "
        "[read_security,manage_security,all]"
    )


def test_api_key_without_privilege_is_named_in_the_403(client, key_for):
    header, created = key_for("keyowner", ["api_key_user"])
    response = client.get("/_security/privilege/_builtin", headers=header)
    assert response.status_code == 403
    assert f"API key id [{created.id}] of user [keyowner]" in response.get_json()["error"]["reason"]


# ---- allowed -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("roles, path, status", [
    (["api_key_user"], "/keys/", 200),
    (["security_viewer"], "/keys/", 200),
    (["security_viewer"], "/roles/", 200),
    (["security_viewer"], "/settings/", 403),
    (["security_admin"], "/settings/", 200),
    (["superuser"], "/settings/", 200),
    ([], "/keys/", 403),
    ([], "/account/", 200),
])
def test_session_access_by_role(client, auth, make_user, roles, path, status):
    make_user("someone", roles)
    auth.login("someone", USER_PASSWORD)
    assert client.get(path).status_code == status


def test_basic_credentials_authenticate(client):
    response = client.get("/_security/_authenticate", headers=basic_header("elastic", ELASTIC_PASSWORD))
    assert response.status_code == 200
    body = response.get_json()
    assert body["username"] == "elastic"
    assert body["roles"] == ["superuser"]
    assert body["authentication_realm"] == {"name": "reserved", "type": "reserved"}
    assert body["authentication_type"] == "realm"


def test_wrong_basic_credentials_are_401(client):
    response = client.get("/_security/_authenticate", headers=basic_header("elastic", "wrong-password"))
    assert response.status_code == 401
    assert response.get_json()["error"]["type"] == "security_exception"


def test_api_key_authenticates_as_its_owner(client, key_for):
    header, created = key_for("keyowner", ["api_key_user"])
    response = client.get("/_security/_authenticate", headers=header)
    assert response.status_code == 200
    body = response.get_json()
    assert body["username"] == "keyowner" and body["roles"] == []
    assert body["authentication_type"] == "api_key"
    assert body["api_key"] == {"id": created.id, "name": "keyowner-key", "managed_by": "elasticsearch"}
    assert body["authentication_realm"] == {"name": "_es_api_key", "type": "_es_api_key"}


def test_invalidated_key_is_refused(client, key_for, db):
    header, created = key_for("keyowner", ["api_key_user"])
    ApiKey.update(invalidated=True).where(ApiKey.id == created.id).execute()
    response = client.get("/_security/_authenticate", headers=header)
    assert response.status_code == 401
    assert "has been invalidated" in response.get_json()["error"]["additional_unsuccessful_credentials"]


def test_expired_key_is_refused(client, key_for, db):
    header, created = key_for("keyowner", ["api_key_user"])
    ApiKey.update(expiration=1).where(ApiKey.id == created.id).execute()
    response = client.get("/_security/_authenticate", headers=header)
    assert response.status_code == 401
    assert response.get_json()["error"]["additional_unsuccessful_credentials"] == "API key: api key is expired"


def test_wrong_secret_is_refused(client, key_for):
    import base64

    _, created = key_for("keyowner", ["api_key_user"])
    forged = base64.b64encode(f"{created.id}:AAAAAAAAAAAAAAAAAAAAAA".encode()).decode()
    response = client.get("/_security/_authenticate", headers={"Authorization": f"ApiKey {forged}"})
    assert response.status_code == 401
    assert "invalid credentials for API key" in response.get_json()["error"]["additional_unsuccessful_credentials"]


@pytest.mark.parametrize("header", ["ApiKey", "ApiKey !!!", "Bearer abc", "Basic", "Basic Zm9v", "Digest x"])
def test_malformed_authorization_is_a_401_never_a_500(client, header):
    response = client.get("/_security/_authenticate", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["error"]["type"] == "security_exception"
