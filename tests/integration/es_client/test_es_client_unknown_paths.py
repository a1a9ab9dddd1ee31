"""What an Elasticsearch client gets for a path Keydesk doesn't serve (an index API, an endpoint Keydesk lacks) or
a method a path doesn't take: Elasticsearch's JSON, after its credentials are checked; a browser keeps the HTML
page. Through the official client and plain HTTP against a live Keydesk."""

import base64
import json
import urllib.error
import urllib.request

import pytest
from elasticsearch import ApiError, AuthenticationException, BadRequestError, NotFoundError

from tests.conftest import ELASTIC_PASSWORD

BASIC = {"Authorization": "Basic " + base64.b64encode(f"elastic:{ELASTIC_PASSWORD}".encode()).decode()}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
NO_INDICES = "Keydesk serves only the Elasticsearch security API (/_security/...) and holds no indices"


def http(server, path, method="GET", headers=None, body=None):
    """(status, headers, parsed JSON body or raw text) of one plain HTTP request."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(server + path, method=method, data=data, headers=headers or {})
    try:
        response = urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        text = response.read().decode()
    try:
        return response.status, response.headers, json.loads(text)
    except ValueError:
        return response.status, response.headers, text


def _raised(call, *args, **kwargs):
    with pytest.raises(ApiError) as raised:
        call(*args, **kwargs)
    return raised.value


def _no_such_index(error, index):
    assert error.meta.status == 404 and error.body["status"] == 404
    assert error.meta.headers["X-Elastic-Product"] == "Elasticsearch"
    cause = error.body["error"]
    assert cause["type"] == "index_not_found_exception"
    assert cause["reason"] == f"no such index [{index}]: {NO_INDICES}"
    assert (cause["resource.type"], cause["resource.id"], cause["index"]) == ("index_or_alias", index, index)
    assert cause["root_cause"][0]["type"] == "index_not_found_exception"


# ---- authenticated clients: Elasticsearch's answers -----------------------------------------------------

def test_index_apis_are_404_no_such_index(elastic):
    error = _raised(elastic.get, index="foo", id="1")
    assert isinstance(error, NotFoundError) and error.status_code == 404
    _no_such_index(error, "foo")
    _no_such_index(_raised(elastic.indices.create, index="my-index"), "my-index")
    _no_such_index(_raised(elastic.index, index="logs", document={"message": "hello"}), "logs")
    _no_such_index(_raised(elastic.search, index="logs-*", query={"match_all": {}}), "logs-*")
    _no_such_index(_raised(elastic.indices.delete, index="old"), "old")
    assert elastic.indices.exists(index="my-index").body is False  # HEAD: 404, no body


def test_an_endpoint_keydesk_lacks_is_400_no_handler(elastic):
    for method, path in [("GET", "/_cat/indices"), ("GET", "/_nodes"), ("POST", "/_bulk"),
                         ("POST", "/_security/nonexistent"), ("GET", "/keys/no/such/page")]:
        error = _raised(elastic.perform_request, method, path, headers={"accept": "application/json"})
        assert isinstance(error, BadRequestError), (method, path, error)
        assert error.body["error"]["type"] == "illegal_argument_exception"
        assert error.body["error"]["reason"] == f"no handler found for uri [{path}] and method [{method}]"
        assert error.meta.headers["X-Elastic-Product"] == "Elasticsearch"


def test_a_method_the_path_does_not_take_is_405_with_allow(elastic, server):
    error = _raised(elastic.perform_request, "POST", "/", headers={"accept": "application/json"})
    assert error.meta.status == 405 and error.meta.headers["Allow"] == "GET"
    assert error.body["error"]["reason"] == "Incorrect HTTP method for uri [/] and method [POST], allowed: [GET]"
    status, headers, body = http(server, "/login?next=x", "DELETE", BASIC)
    assert status == 405 and headers["Allow"] == "GET, POST"
    assert body["error"]["reason"] == ("Incorrect HTTP method for uri [/login?next=x] and method [DELETE], "
                                       "allowed: [GET, POST]")
    status, _, body = http(server, "/_security/_authenticate", "DELETE", BASIC)  # an API path: the same words
    assert status == 405 and body["error"]["reason"].endswith("allowed: [GET]")


def test_an_api_key_gets_the_same_answers(elastic, connect):
    key = elastic.security.create_api_key(name="unknown-paths", role_descriptors={"none": {}})
    client = connect(api_key=key["encoded"])
    _no_such_index(_raised(client.get, index="foo", id="1"), "foo")
    assert _raised(client.perform_request, "GET", "/_cat/indices").meta.status == 400


# ---- credentials first, as Elasticsearch checks them before it routes ------------------------------------

@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/foo/_doc/1"), ("PUT", "/my-index"), ("GET", "/_cat/indices"), ("POST", "/_security/nonexistent"),
    ("POST", "/"), ("DELETE", "/login"),
])
def test_without_valid_credentials_every_unknown_path_is_401_as_known_ones_are(connect, server, method, path):
    anonymous, wrong = connect(), connect(basic_auth=("elastic", "not-the-password"))
    known = _raised(anonymous.security.authenticate)
    for client in (anonymous, wrong):
        error = _raised(client.perform_request, method, path, headers={"accept": "application/json"})
        assert isinstance(error, AuthenticationException) and error.meta.status == 401, (method, path)
        assert error.body["error"]["type"] == "security_exception"
        assert "Basic" in error.meta.headers["WWW-Authenticate"]
    assert error.body["error"]["additional_unsuccessful_credentials"] == "basic: unable to authenticate user [elastic]"
    missing = _raised(anonymous.perform_request, method, path, headers={"accept": "application/json"})
    assert missing.body["error"]["reason"] == known.body["error"]["reason"]  # the same words as a known path's


def test_a_json_body_or_accept_header_alone_marks_an_api_client(server):
    for headers in ({"Content-Type": "application/json"}, {"Accept": "application/json"},
                    {"Accept": "application/vnd.elasticsearch+json; compatible-with=9"}):
        status, response_headers, body = http(server, "/my-index", "PUT", headers, body="{}")
        assert status == 401 and body["error"]["type"] == "security_exception", headers
        assert response_headers["X-Elastic-Product"] == "Elasticsearch"


# ---- browsers keep the page ------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [BROWSER, {}, {"Accept": "*/*"}])
def test_a_browser_or_bare_request_gets_the_html_not_found_page(server, headers):
    status, response_headers, body = http(server, "/foo/_doc/1", headers=headers)
    assert status == 404 and response_headers["Content-Type"].startswith("text/html")
    assert "Not found" in body and "Traceback" not in body and "index_not_found" not in body
    assert "X-Elastic-Product" not in response_headers


def test_a_browser_with_basic_credentials_of_a_proxy_prefers_html_yet_is_an_api_client(server):
    """An Authorization header is the API's signal, as at `/` (webapp/web/root.py): the answer is JSON."""
    status, headers, body = http(server, "/foo/_doc/1", headers={**BROWSER, **BASIC})
    assert status == 404 and headers["Content-Type"].startswith("application/json")
    assert body["error"]["type"] == "index_not_found_exception"
