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
# Numbers, durations and dates at and past every bound: huge and negative integers, floats (1e309 is infinity
# once decoded, see `as_json`), -0, digit strings, time values too large for a database integer, date math
# that leaves the years 1 to 9999.
EXTREMES = st.one_of(
    st.sampled_from([2**63, 2**63 - 1, -(2**63) - 1, 10**30, -(10**30), 2**31, -1, 0, -0.0, 0.5, 1e308, -1e308,
                     float("inf"), float("-inf"), 5e-324, "9" * 30, "-" + "9" * 25, "0" * 40 + "1", "-0", "1e309",
                     "9999999999999999999999d", "99999999999d", "36500d", "36501d", "-1d", "0d", "1.5d", "1d1",
                     "9" * 5000 + "d", "now-99999999999y", "now+9999999y", "now+10000y", "now-3000y",
                     "9999-12-31||+1d", "9999-12-31||/y", "0001-01-01||-1ms", "0001-01-01||-1s", "10000-01-01",
                     "0000-01-01", "9999-12-31T23:59:59.999Z", "-292275055-05-16", "now" + "+1d" * 200,
                     "now+" + "9" * 5000 + "d", "2024-01-01||" + "/d" * 50]),
    st.integers(), st.floats(allow_nan=False),
    st.builds(lambda anchor, steps: anchor + "".join(steps),
              st.sampled_from(["now", "2024-02-29||", "9999-12-31||", "0001-01-01||", "1700000000000||"]),
              st.lists(st.one_of(st.builds("{}{}{}".format, st.sampled_from("+-"), st.integers(0, 10**14),
                                           st.sampled_from("yMwdhHms")),
                                 st.sampled_from("yMwdhHms").map("/{}".format)), max_size=3)),
    st.builds("{}{}".format, st.integers(-(10**25), 10**25), st.sampled_from(["d", "h", "m", "s", "ms", "y", ""])))


def as_json(body):
    """`body` as JSON text, infinities written as 1e309 (which Python's decoder reads back as infinity)."""
    return json.dumps(body).replace("-Infinity", "-1e309").replace("Infinity", "1e309")


VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.sampled_from(["", "x", "1d", "*", "all", "_x"]),
              EXTREMES),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(BODY_KEYS), inner,
                                                                          max_size=4)),
    max_leaves=10)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(ENDPOINTS), body=st.dictionaries(st.sampled_from(BODY_KEYS), VALUES, max_size=5))
def test_random_bodies_never_get_a_500(client, endpoint, body):
    method, path = endpoint
    count("fuzz: random JSON API bodies")
    response = client.open(path, method=method, data=as_json(body), headers=JSON)
    assert response.status_code < 500, (body, response.get_data(as_text=True))
    assert response.headers["X-Elastic-Product"] == "Elasticsearch"


# Every field of the JSON API that holds a number, a date or a duration, in an otherwise valid body; `X` is
# replaced by an extreme value.
X = "\x00extreme"
FIELD_BODIES = [
    ("POST", "/_security/api_key", {"name": "k", "expiration": X}),
    ("POST", "/_security/api_key", {"name": X}),
    ("POST", "/_security/api_key", {"name": "k", "metadata": {"n": X, "list": [X]}}),
    ("POST", "/_security/api_key", {"name": "k", "role_descriptors": {"r": {"cluster": ["all"],
                                                                             "metadata": {"n": X}}}}),
    ("PUT", "/_security/api_key/{id}", {"expiration": X}),
    ("PUT", "/_security/api_key/{id}", {"metadata": {"n": X}}),
    ("POST", "/_security/api_key/_bulk_update", {"ids": ["{id}"], "expiration": X}),
    ("POST", "/_security/api_key/_bulk_update", {"ids": [X]}),
    ("POST", "/_security/cross_cluster/api_key", {"name": "c", "access": {"search": [{"names": ["*"]}]},
                                                   "expiration": X}),
    ("PUT", "/_security/cross_cluster/api_key/{id}", {"expiration": X}),
    ("DELETE", "/_security/api_key", {"ids": [X]}),
    ("POST", "/_security/_query/api_key", {"query": {"range": {"creation": {"gte": X}}}}),
    ("POST", "/_security/_query/api_key", {"query": {"range": {"expiration": {"lt": X, "gt": "now"}}}}),
    ("POST", "/_security/_query/api_key", {"query": {"range": {"invalidation": {"lte": X}}}}),
    ("POST", "/_security/_query/api_key", {"query": {"range": {"metadata.n": {"gte": X}}}}),
    ("POST", "/_security/_query/api_key", {"query": {"range": {"name": {"from": X, "to": X}}}}),
    ("POST", "/_security/_query/api_key", {"query": {"term": {"creation": X}}}),
    ("POST", "/_security/_query/api_key", {"query": {"terms": {"expiration": [X]}}}),
    ("POST", "/_security/_query/api_key", {"query": {"term": {"metadata.n": X}}}),
    ("POST", "/_security/_query/api_key", {"query": {"ids": {"values": [X]}}}),
    ("POST", "/_security/_query/api_key", {"size": X}),
    ("POST", "/_security/_query/api_key", {"from": X}),
    ("POST", "/_security/_query/api_key", {"sort": ["creation"], "search_after": [X]}),
    ("POST", "/_security/_query/api_key", {"sort": [{"expiration": "desc"}, "name"], "search_after": [X, "k"]}),
    ("POST", "/_security/_query/api_key", {"sort": ["metadata.n"], "search_after": [X]}),
    ("POST", "/_security/_query/api_key", {"aggs": {"a": {"date_range": {"field": "creation",
                                                                          "ranges": [{"from": X}, {"to": X}]}}}}),
    ("POST", "/_security/_query/api_key", {"aggs": {"a": {"range": {"field": "expiration",
                                                                    "ranges": [{"from": X, "to": X}]}}}}),
    ("POST", "/_security/_query/api_key", {"aggs": {"a": {"terms": {"field": "name", "size": X}}}}),
    ("POST", "/_security/_query/api_key", {"aggs": {"a": {"terms": {"field": "creation", "min_doc_count": X}}}}),
    ("POST", "/_security/_query/api_key", {"aggs": {"a": {"cardinality": {"field": "name",
                                                                          "precision_threshold": X}}}}),
    ("POST", "/_security/_query/api_key", {"aggs": {"a": {"missing": {"field": "metadata.n"}}},
                                           "query": {"exists": {"field": X}}}),
    ("PUT", "/_security/role/extreme", {"cluster": ["all"], "metadata": {"n": X}}),
    ("PUT", "/_security/user/extreme", {"password": "a-long-password", "roles": [], "metadata": {"n": X}}),
    ("POST", "/_security/user/_has_privileges", {"cluster": [X], "index": [{"names": [X], "privileges": ["read"]}]}),
]


def _fill(template, value, key_id):
    if template == X:
        return value
    if template == "{id}":
        return key_id
    if isinstance(template, dict):
        return {k: _fill(v, value, key_id) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, value, key_id) for v in template]
    return template


@pytest.fixture
def extreme_keys(client):
    client.post("/_license/start_trial?acknowledge=true", headers=ELASTIC)
    made = {}
    for kind, path, body in (("rest", "/_security/api_key", {"name": "k"}),
                             ("cross_cluster", "/_security/cross_cluster/api_key",
                              {"name": "c", "access": {"search": [{"names": ["*"]}]}})):
        made[kind] = client.post(path, data=json.dumps(body), headers=JSON).get_json()["id"]
    return made


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELD_BODIES), value=EXTREMES)
def test_extreme_numbers_dates_and_durations_in_every_field_never_get_a_500(client, extreme_keys, field, value):
    method, path, template = field
    count("fuzz: numbers, dates and durations at their extremes in every JSON API field")
    key_id = extreme_keys["cross_cluster" if "cross_cluster" in path else "rest"]
    body = _fill(template, value, key_id)
    response = client.open(path.replace("{id}", key_id), method=method, data=as_json(body), headers=JSON)
    assert response.status_code < 500, (method, path, body, response.get_data(as_text=True))
    if response.status_code >= 400:
        assert response.get_json()["error"]["reason"]
    # Whatever was accepted is read back without a failure: listed, searched, sorted and printed.
    for read in (client.get("/_security/api_key", headers=ELASTIC),
                 client.post("/_security/_query/api_key", data=json.dumps(
                     {"query": {"range": {"metadata.n": {"gte": "0"}}}, "sort": ["expiration", "metadata.n"],
                      "aggs": {"e": {"terms": {"field": "metadata.n"}}}}), headers=JSON),
                 client.get("/_security/role/extreme", headers=ELASTIC),
                 client.get("/_security/user/extreme", headers=ELASTIC)):
        assert read.status_code in (200, 404), read.get_data(as_text=True)


# ---- bounds on dates, durations and numbers -----------------------------------------------------------

@pytest.mark.parametrize("query", [{"range": {"creation": {"gte": "now-99999999999y"}}},
                                   {"range": {"expiration": {"gte": "now+9999999y"}}}])
def test_date_math_beyond_the_year_9999_is_a_parse_exception(client, query):
    error = error_of(client.post("/_security/_query/api_key", data=json.dumps({"query": query}), headers=JSON), 400)
    value = next(iter(next(iter(query["range"].values())).values()))
    assert error["type"] == "parse_exception"
    assert error["reason"] == (f"failed to parse date field [{value}] with format "
                               "[strict_date_optional_time||epoch_millis]")


@pytest.mark.parametrize("method, path", [("POST", "/_security/api_key"), ("PUT", "/_security/api_key/{id}"),
                                          ("POST", "/_security/api_key/_bulk_update")])
@pytest.mark.parametrize("expiration", ["9999999999999999999999d", "99999999999d", "36501d", "3153600001s"])
def test_key_lifetimes_beyond_100_years_are_refused(client, method, path, expiration):
    key_id = client.post("/_security/api_key", data='{"name":"k"}', headers=JSON).get_json()["id"]
    body = {"expiration": expiration, **({"name": "k2"} if path == "/_security/api_key" else {}),
            **({"ids": [key_id]} if "bulk" in path else {})}
    response = client.open(path.replace("{id}", key_id), method=method, data=json.dumps(body), headers=JSON)
    if "bulk" in path:  # the bulk update answers per key
        result = response.get_json()
        assert response.status_code == 200 and result["updated"] == [] and result["errors"]["count"] == 1
        error = result["errors"]["details"][key_id]
    else:
        error = error_of(response, 400)
    assert error["type"] == "illegal_argument_exception"
    assert error["reason"] == (f"failed to parse setting [expiration] with value [{expiration}] as a time value: "
                               "durations beyond 36500d (100 years) are not supported")


def test_a_key_lifetime_of_100_years_is_accepted(client):
    created = client.post("/_security/api_key", data='{"name":"k","expiration":"36500d"}', headers=JSON)
    assert created.status_code == 200
    from webapp.clock import DAY_MS, now_ms

    assert 0 <= now_ms() + 36_500 * DAY_MS - created.get_json()["expiration"] < 60_000


@pytest.mark.parametrize("body", ['{"name":"k","metadata":{"n":1e309}}', '{"name":"k","metadata":{"n":-1e309}}'])
def test_numbers_beyond_a_double_are_refused_before_they_are_stored(client, body):
    error = error_of(client.post("/_security/api_key", data=body, headers=JSON), 400)
    assert error["type"] == "x_content_parse_exception" and "out of range of double" in error["reason"]
    assert client.post("/_security/_query/api_key", data='{"query":{"exists":{"field":"metadata.n"}}}',
                       headers=JSON).get_json()["count"] == 0
