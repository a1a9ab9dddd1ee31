"""Raw HTTP, as curl sends it: the error envelope, media types, parameters and bodies the API refuses."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ELASTIC_PASSWORD, basic_header, count

ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)
JSON = {**ELASTIC, "Content-Type": "application/json"}
COMPAT = "application/vnd.elasticsearch+json; compatible-with=9"


@pytest.fixture
def app_config():
    # Many deliberate failures from one address: the limits are raised (the throttle: test_throttling.py).
    return {"KEYDESK_AUTH_FAILURES_PER_ADDRESS": "100000 per minute",
            "KEYDESK_AUTH_FAILURES_PER_CREDENTIAL": "100000 per minute"}


def error_of(response, status):
    """The envelope's error object, after checking the envelope itself."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["X-Elastic-Product"] == "Elasticsearch"
    body = response.get_json()
    assert set(body) == {"error", "status"} and body["status"] == status
    error = body["error"]
    assert list(error)[:3] == ["root_cause", "type", "reason"]  # ES's key order
    assert error["root_cause"][0] == {k: v for k, v in error.items() if k not in ("root_cause", "caused_by")}
    return error


# ---- media types --------------------------------------------------------------------------------------

def test_vendor_media_type_is_json_and_is_answered_in_kind(client):
    response = client.post("/_security/api_key", data=json.dumps({"name": "compat"}),
                           headers={**ELASTIC, "Content-Type": COMPAT, "Accept": COMPAT})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.elasticsearch+json;compatible-with=9"
    assert response.headers["X-Elastic-Product"] == "Elasticsearch"
    assert json.loads(response.get_data())["name"] == "compat"


def test_plain_json_is_answered_as_plain_json(client):
    response = client.get("/_security/_authenticate", headers={**ELASTIC, "Accept": "application/json"})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"


def test_compatible_with_8_is_accepted(client):
    version8 = "application/vnd.elasticsearch+json; compatible-with=8"
    response = client.get("/_security/_authenticate", headers={**ELASTIC, "Accept": version8})
    assert response.headers["Content-Type"] == "application/vnd.elasticsearch+json;compatible-with=8"


def test_unsupported_compatible_version_is_a_400(client):
    old = "application/vnd.elasticsearch+json; compatible-with=7"
    error = error_of(client.get("/_security/_authenticate", headers={**ELASTIC, "Accept": old}), 400)
    assert error["type"] == "media_type_header_exception"
    assert error["reason"] == "Invalid media-type value on headers [Accept]"
    assert error["caused_by"]["reason"] == f"Accept version must be either version 9 or 8, but found 7. Accept={old}"


def test_mismatched_compatible_versions_are_a_400(client):
    response = client.post("/_security/api_key", data='{"name":"x"}', headers={
        **ELASTIC, "Content-Type": COMPAT, "Accept": "application/vnd.elasticsearch+json; compatible-with=8"})
    error = error_of(response, 400)
    assert error["reason"] == "Invalid media-type value on headers [Content-Type, Accept]"
    assert "compatible versions must match" in error["caused_by"]["reason"]


@pytest.mark.parametrize("content_type, reason", [
    ("text/plain", "Content-Type header [text/plain] is not supported"),
    ("application/x-www-form-urlencoded", "Content-Type header [application/x-www-form-urlencoded] is not supported"),
    (None, "Content-Type header is missing"),
])
def test_bodies_that_are_not_json_are_refused(client, content_type, reason):
    headers = dict(ELASTIC)
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post("/_security/api_key", data='{"name":"x"}', headers=headers)
    error = error_of(response, 406)
    assert (error["type"], error["reason"]) == ("media_type_header_exception", reason)


def test_oversize_bodies_are_a_413(client):
    body = json.dumps({"name": "big", "metadata": {"blob": "x" * (1024 * 1024)}})
    error = error_of(client.post("/_security/api_key", data=body, headers=JSON), 413)
    assert error["type"] == "content_too_long_exception"
    assert "request body is too large" in error["reason"]


# ---- bodies -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, kind, reason", [
    ("{bad", "x_content_parse_exception",
     "[1:2] Unexpected character: expecting property name enclosed in double quotes"),
    ('{"name": "x",}', "x_content_parse_exception", None),
    ("", "parse_exception", "request body is required"),
    ("[1, 2]", "x_content_parse_exception", "[api_key_request] Expected START_OBJECT but was: START_ARRAY"),
    ('{"name": 5}', "x_content_parse_exception", "[api_key_request] name doesn't support values of type: VALUE_NUMBER"),
    ('{"name": "x", "nmae": 1}', "x_content_parse_exception",
     "[api_key_request] unknown field [nmae] did you mean [name]?"),
    ('{"name": "x", "metadata": []}', "x_content_parse_exception",
     "[api_key_request] metadata doesn't support values of type: START_ARRAY"),
    ('{"name": "x", "expiration": "soon"}', "parse_exception",
     "failed to parse setting [expiration] with value [soon] as a time value: unit is missing or unrecognized"),
    ('{"name": " x"}', "action_request_validation_exception",
     "Validation Failed: 1: api key name may not begin or end with whitespace;"),
    ('{"name": "x", "role_descriptors": {"r": {"cluster": ["bogus"]}}}', "action_request_validation_exception",
     None),
    ('{"name": "x", "role_descriptors": {"r": {"cluster": "all"}}}', "x_content_parse_exception",
     "[create_api_key_request] failed to parse field [role_descriptors]"),
    ('{"name": NaN}', "x_content_parse_exception", None),
])
def test_bad_create_bodies(client, body, kind, reason):
    response = client.post("/_security/api_key", data=body, headers=JSON)
    error = error_of(response, 400)
    assert error["type"] == kind
    if reason is not None:
        assert error["reason"] == reason


BAD_BODIES = ["{", "[]", '"text"', "42", "null", '{"unknown": true}', '{"name": {"nested": []}}', "\xff\xfe",
              '{"a":' * 5000 + "1" + "}" * 5000]
ENDPOINTS = [
    ("POST", "/_security/api_key"), ("PUT", "/_security/api_key/AAAAAAAAAAAAAAAAAAAA"),
    ("POST", "/_security/api_key/_bulk_update"), ("DELETE", "/_security/api_key"),
    ("POST", "/_security/_query/api_key"), ("POST", "/_security/cross_cluster/api_key"),
    ("PUT", "/_security/cross_cluster/api_key/AAAAAAAAAAAAAAAAAAAA"), ("PUT", "/_security/role/some-role"),
    ("PUT", "/_security/user/someone"), ("POST", "/_security/user/someone/_password"),
    ("POST", "/_security/user/_has_privileges"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_no_bad_body_ever_gets_a_500(client, method, path):
    client.post("/_license/start_trial?acknowledge=true", headers=ELASTIC)  # so cross-cluster bodies are read
    for body in BAD_BODIES:
        count("fuzz: malformed JSON API bodies")
        response = client.open(path, method=method, data=body.encode("utf-8", "surrogateescape")
                               if body != "\xff\xfe" else b"\xff\xfe", headers=JSON)
        assert 400 <= response.status_code < 500, (body[:40], response.get_data(as_text=True))
        assert response.get_json()["error"]["reason"]


# ---- parameters and routes ----------------------------------------------------------------------------

def test_unknown_parameters_are_named_with_a_suggestion(client):
    error = error_of(client.get("/_security/api_key?ownr=true", headers=ELASTIC), 400)
    assert error["type"] == "illegal_argument_exception"
    assert error["reason"] == ("request [/_security/api_key] contains unrecognized parameter: [ownr] -> did you "
                               "mean [owner]?")


def test_booleans_must_be_true_or_false(client):
    error = error_of(client.get("/_security/api_key?active_only=yes", headers=ELASTIC), 400)
    assert error["reason"] == "Failed to parse value [yes] as only [true] or [false] are allowed."
    assert client.get("/_security/api_key?active_only", headers=ELASTIC).status_code == 200  # bare flag = true


def test_refresh_values_are_checked(client):
    error = error_of(client.post("/_security/api_key?refresh=soon", data='{"name":"x"}', headers=JSON), 400)
    assert error["reason"] == "Unknown value for refresh: [soon]."
    assert client.post("/_security/api_key?refresh=wait_for", data='{"name":"x"}', headers=JSON).status_code == 200


def test_unknown_routes_and_methods(client):
    error = error_of(client.get("/_security/nothing", headers=ELASTIC), 400)
    assert error["reason"] == "no handler found for uri [/_security/nothing] and method [GET]"
    response = client.patch("/_security/api_key", headers=ELASTIC)
    error = error_of(response, 405)
    assert error["reason"] == ("Incorrect HTTP method for uri [/_security/api_key] and method [PATCH], allowed: "
                               "[DELETE, GET, POST, PUT]")
    assert response.headers["Allow"] == "DELETE, GET, POST, PUT"
    error = error_of(client.get("/_security/api_key/AAAAAAAAAAAAAAAAAAAA", headers=ELASTIC), 405)
    assert error["reason"].endswith("allowed: [PUT]")


def test_pretty_and_filter_path(client):
    response = client.get("/_security/_authenticate?pretty&filter_path=username,authentication_realm.name",
                          headers=ELASTIC)
    assert response.get_data(as_text=True) == (
        '{\n  "username": "elastic",\n  "authentication_realm": {\n    "name": "reserved"\n  }\n}\n')
    wildcard = client.get("/_security/_authenticate?filter_path=*_realm.type", headers=ELASTIC).get_json()
    assert wildcard == {"authentication_realm": {"type": "reserved"}, "lookup_realm": {"type": "reserved"}}
    nothing = client.get("/_security/_authenticate?filter_path=nope", headers=ELASTIC)
    assert nothing.status_code == 200 and nothing.get_json() == {}


# ---- authentication failures --------------------------------------------------------------------------

@pytest.mark.parametrize("header, detail", [
    ("ApiKey !!!", "API key: invalid ApiKey value"),
    ("ApiKey " + "QUFBQUFBQUFBQUFBQUFBQUFBQUE6c2VjcmV0", "API key: unable to find apikey with id AAAAAAAAAAAAAAAAAAAA"),
    ("Basic Zm9vOmJhcg==", "basic: unable to authenticate user [foo]"),
])
def test_authentication_failures_are_401_with_both_schemes_offered(client, header, detail):
    response = client.get("/_security/_authenticate", headers={"Authorization": header})
    error = error_of(response, 401)
    assert error["type"] == "security_exception"
    assert error["reason"] == ("unable to authenticate with provided credentials and anonymous access is not "
                               "allowed for this request")
    assert error["additional_unsuccessful_credentials"] == detail
    assert response.headers.getlist("WWW-Authenticate") == ['Basic realm="security", charset="UTF-8"', "ApiKey"]


def test_a_session_cookie_does_not_authenticate_the_api(client, auth):
    auth.login()
    error = error_of(client.post("/_security/api_key", data='{"name":"x"}',
                                 headers={"Content-Type": "application/json"}), 401)
    assert error["reason"] == "missing authentication credentials for REST request"


BODY_KEYS = ["name", "expiration", "role_descriptors", "metadata", "ids", "id", "owner", "username", "realm_name",
             "access", "search", "names", "privileges", "cluster", "indices", "index", "password", "roles",
             "full_name", "email", "enabled", "query", "aggs", "sort", "size", "from", "search_after", "r"]
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.sampled_from(["", "x", "1d", "*", "all", "_x"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(BODY_KEYS), inner,
                                                                          max_size=4)),
    max_leaves=10)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(ENDPOINTS), body=st.dictionaries(st.sampled_from(BODY_KEYS), VALUES, max_size=5))
def test_random_bodies_never_get_a_500(client, endpoint, body):
    method, path = endpoint
    count("fuzz: random JSON API bodies")
    response = client.open(path, method=method, data=json.dumps(body), headers=JSON)
    assert response.status_code < 500, (body, response.get_data(as_text=True))
    assert response.headers["X-Elastic-Product"] == "Elasticsearch"
