"""POST /_security/api_key/grant over raw HTTP: who may grant, ES's validation messages, the granted user's
password (401, disabled users, throttling), run_as, ownership, limited-by, audit and no-store."""

import json

import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD, basic_header
from webapp.model import ApiKey, AuditEvent
from webapp.services.admin import settings
from webapp.web import throttle

GRANT = "/_security/api_key/grant"
ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)
DENIED = ("action [cluster:admin/xpack/security/api_key/grant] is unauthorized for user [{}] with effective roles "
          "[{}], this action is granted by the cluster privileges [grant_api_key,manage_api_key,manage_security,all]")


@pytest.fixture
def call(client):
    def do(body, auth=None, path=GRANT, headers=None):
        response = client.post(path, headers={**(auth or {}), **(headers or {}), "Content-Type": "application/json"},
                               data=body if isinstance(body, str) else json.dumps(body))
        return response

    return do


@pytest.fixture
def people(app, client, make_user):
    """granter (grant_api_key), target (a role with an index privilege), own (manage_own_api_key)."""
    for name, body in (("granter_role", {"cluster": ["grant_api_key"]}),
                       ("target_role", {"cluster": ["monitor"], "indices": [{"names": ["logs-*"],
                                                                             "privileges": ["read"]}]}),
                       ("runner_role", {"run_as": ["target"]})):
        assert client.put(f"/_security/role/{name}", headers=ELASTIC, json=body).status_code == 200
    make_user("granter", ["granter_role"])
    make_user("target", ["target_role"])
    make_user("runner", ["runner_role"])
    make_user("own", ["api_key_user"])
    return {name: basic_header(name, USER_PASSWORD) for name in ("granter", "target", "runner", "own")}


def grant_body(username="target", password=USER_PASSWORD, **api_key):
    return {"grant_type": "password", "username": username, "password": password,
            "api_key": {"name": "granted", **api_key}}


def error_of(response):
    error = response.get_json()["error"]
    return error["type"], error["reason"]


def test_grant_creates_a_key_owned_by_the_granted_user(call, client, people, db):
    response = call(grant_body(expiration="1d", metadata={"app": "ci"},
                               role_descriptors={"r": {"indices": [{"names": ["logs-a"], "privileges": ["read"]}]}}),
                    people["granter"])
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_json()
    assert set(body) == {"id", "name", "expiration", "api_key", "encoded"} and body["name"] == "granted"
    key = ApiKey.get_by_id(body["id"])
    assert (key.owner_username, key.owner_realm) == ("target", "native")
    assert "target_role" in key.limited_by[0] and "granter_role" not in key.limited_by[0]
    assert key.metadata == {"app": "ci"} and key.expiration is not None
    me = client.get("/_security/_authenticate", headers={"Authorization": f"ApiKey {body['encoded']}"}).get_json()
    assert me["username"] == "target" and me["api_key"]["id"] == body["id"]
    event = AuditEvent.get((AuditEvent.action == "api_key.grant") & (AuditEvent.target_id == body["id"]))
    assert (event.actor_username, event.outcome) == ("granter", "success")
    assert body["api_key"] not in json.dumps(event.after) and USER_PASSWORD not in json.dumps(event.after)
    assert "target@native" in json.dumps(event.after)


@pytest.mark.parametrize("who", ["elastic", "api_key_admin", "security_admin"])
def test_privileges_that_imply_grant_api_key_may_grant(call, people, make_user, who):
    auth = ELASTIC if who == "elastic" else basic_header(make_user(who + "_user", [who]).username, USER_PASSWORD)
    assert call(grant_body(), auth).status_code == 200


def test_a_caller_without_grant_api_key_gets_403_even_for_themselves(call, people):
    for who in ("target", "own"):
        response = call(grant_body(username=who), people[who])
        assert response.status_code == 403
        role = "target_role" if who == "target" else "api_key_user"
        assert error_of(response) == ("security_exception", DENIED.format(who, role))


def test_granting_for_oneself_is_fine(call, people, db):
    response = call(grant_body(username="granter"), people["granter"])
    assert response.status_code == 200
    assert ApiKey.get_by_id(response.get_json()["id"]).owner_username == "granter"


def test_granting_through_an_api_key_holding_the_privilege(call, client, people, db):
    key = client.post("/_security/api_key", headers=ELASTIC, json={
        "name": "granting-key", "role_descriptors": {"g": {"cluster": ["grant_api_key"]}}}).get_json()
    response = call(grant_body(), {"Authorization": f"ApiKey {key['encoded']}"})
    assert response.status_code == 200
    assert ApiKey.get_by_id(response.get_json()["id"]).owner_username == "target"


@pytest.mark.parametrize(("password", "username"), [("wrong-password", "target"), (USER_PASSWORD, "nobody-here")])
def test_a_wrong_password_or_unknown_user_is_401(call, people, password, username, db):
    before = ApiKey.select().count()
    response = call(grant_body(username=username, password=password), people["granter"])
    assert response.status_code == 401
    assert error_of(response) == (
        "security_exception",
        f"unable to authenticate user [{username}] for action [cluster:admin/xpack/security/api_key/grant]")
    assert ApiKey.select().count() == before


def test_a_disabled_user_is_401(call, client, people):
    assert client.put("/_security/user/target/_disable", headers=ELASTIC).status_code == 200
    response = call(grant_body(), people["granter"])
    assert response.status_code == 401 and error_of(response)[0] == "security_exception"


@pytest.mark.parametrize(("body", "messages"), [
    ({}, ["api key name is required", "[grant_type] is required"]),
    ({"grant_type": "password", "api_key": {"name": "k"}},
     ["[username] is required for grant_type [password]", "[password] is required for grant_type [password]"]),
    ({"grant_type": "password", "username": "", "password": "", "api_key": {"name": "k"}},
     ["[username] is required for grant_type [password]", "[password] is required for grant_type [password]"]),
    ({"grant_type": "password", "username": "target", "password": "x", "access_token": "t",
      "client_authentication": {"scheme": "SharedSecret", "value": "v"}, "api_key": {"name": "_k"}},
     ["api key name may not begin with an underscore", "[access_token] is not supported for grant_type [password]",
      "[client_authentication] is not supported for grant_type [password]"]),
    ({"grant_type": "client_credentials", "api_key": {"name": "k"}},
     ["grant_type [client_credentials] is not supported"]),
])
def test_missing_and_conflicting_fields_get_es_validation_messages(call, people, body, messages):
    response = call(body, people["granter"])
    assert response.status_code == 400
    expected = "Validation Failed: " + "".join(f"{n}: {m};" for n, m in enumerate(messages, 1))
    assert error_of(response) == ("action_request_validation_exception", expected)


def test_access_token_grants_are_refused_clearly(call, people):
    response = call({"grant_type": "access_token", "access_token": "abc", "api_key": {"name": "k"}},
                    people["granter"])
    assert response.status_code == 400
    kind, reason = error_of(response)
    assert kind == "action_request_validation_exception"
    assert "grant_type [access_token] is not supported" in reason and "no token service" in reason


@pytest.mark.parametrize(("body", "kind"), [
    ("not json", "x_content_parse_exception"),
    ([], "x_content_parse_exception"),
    ({"grant_type": 1}, "x_content_parse_exception"),
    ({"grant_type": "password", "api_key": "k"}, "x_content_parse_exception"),
    ({"grant_type": "password", "api_key": {"name": "k", "nope": 1}}, "x_content_parse_exception"),
    ({"grant_type": "password", "unknown": 1}, "x_content_parse_exception"),
    (grant_body(expiration="soon"), "parse_exception"),
    (grant_body(role_descriptors={"r": {"cluster": ["not-a-privilege"]}}), None),
    (grant_body(username="target\x00"), None),
    (grant_body(password="\ud800"), None),
])
def test_malformed_requests_are_4xx_never_500(call, people, body, kind):
    response = call(body, people["granter"])
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    if kind:
        assert error_of(response)[0] == kind


def test_no_body_and_unknown_parameters_are_400(client, people):
    assert client.post(GRANT, headers=people["granter"]).status_code == 400
    response = client.post(GRANT + "?refesh=true", headers=people["granter"], json=grant_body())
    assert response.status_code == 400 and "did you mean [refresh]" in error_of(response)[1]


def test_run_as_makes_the_key_the_run_as_users(call, people, db):
    response = call({**grant_body(username="runner"), "run_as": "target"}, people["granter"])
    assert response.status_code == 200
    key = ApiKey.get_by_id(response.get_json()["id"])
    assert key.owner_username == "target" and "target_role" in key.limited_by[0]


@pytest.mark.parametrize("run_as", ["own", "nobody-here"])
def test_run_as_refused_or_unknown_is_403(call, people, run_as):
    response = call({**grant_body(username="runner"), "run_as": run_as}, people["granter"])
    assert response.status_code == 403
    assert error_of(response) == (
        "security_exception",
        "action [cluster:admin/xpack/security/user/authenticate] is unauthorized for user [runner] with effective "
        f"roles [runner_role], because user [runner] is unauthorized to run as [{run_as}]")


def test_grant_is_refused_while_api_keys_are_disabled(call, people, db):
    settings.set_setting("api_keys.enabled", False)
    response = call(grant_body(), people["granter"])
    assert response.status_code == 400 and error_of(response)[0] == "feature_not_enabled_exception"


class TestThrottling:
    @pytest.fixture
    def app_config(self):
        return {"KEYDESK_AUTH_FAILURES_PER_CREDENTIAL": "3 per minute",
                "KEYDESK_AUTH_FAILURES_PER_ADDRESS": "100 per minute"}

    def test_wrong_passwords_count_against_the_granted_user_not_the_granter(self, app, call, client, people):
        throttle.of(app).reset()
        for _ in range(3):
            assert call(grant_body(password="wrong"), people["granter"]).status_code == 401
        refused = call(grant_body(), people["granter"])  # even the right password waits at this address
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        # The granter's own credential was never counted: it still works, and grants for another user.
        assert client.get("/_security/_authenticate", headers=people["granter"]).status_code == 200
        assert call(grant_body(username="granter"), people["granter"]).status_code == 200
        throttle.of(app).reset()

    def test_a_right_password_after_a_reset_is_granted(self, app, call, people):
        throttle.of(app).reset()
        assert call(grant_body(password="wrong"), people["granter"]).status_code == 401
        assert call(grant_body(), people["granter"]).status_code == 200
        throttle.of(app).reset()
