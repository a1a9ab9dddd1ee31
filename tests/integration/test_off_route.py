"""Requests no route serves, through the app: an Elasticsearch client's credentials are checked (and their
failures throttled) as on every API endpoint before it learns anything about the path; a signed-in browser
keeps the HTML page."""

import pytest

from tests.conftest import ELASTIC_PASSWORD, basic_header
from webapp.web import throttle

WRONG = basic_header("elastic", "not-the-password")


@pytest.fixture(autouse=True)
def _fresh_counters(app):
    throttle.of(app).reset()
    yield
    throttle.of(app).reset()


def test_failed_credentials_at_unknown_paths_are_throttled_like_the_apis(client):
    for path in ["/foo/_doc/1", "/_cat/indices", "/_security/nonexistent", "/"] * 2 + ["/my-index"] * 2:
        response = client.put(path, headers=WRONG)
        assert response.status_code == 401, path
        assert response.get_json()["error"]["type"] == "security_exception"
    refused = client.get("/foo/_doc/1", headers=WRONG)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.get_json()["error"]["type"] == "status_exception"
    # The same credential is refused on a known endpoint too: one count, wherever the guesses were made.
    assert client.get("/_security/_authenticate", headers=WRONG).status_code == 429
    assert client.get("/_security/_authenticate", headers=basic_header("elastic", ELASTIC_PASSWORD)).status_code == 429


def test_right_credentials_at_unknown_paths_are_not_counted(client):
    right = basic_header("elastic", ELASTIC_PASSWORD)
    for _ in range(15):
        assert client.get("/foo/_doc/1", headers=right).status_code == 404
    assert client.get("/_security/_authenticate", headers=right).status_code == 200


def test_a_signed_in_browser_gets_the_html_page_for_an_unknown_path(client, auth):
    auth.login()
    for path in ["/foo/_doc/1", "/keys/no/such/page", "/_cat/indices"]:
        response = client.get(path, headers={"Accept": "text/html,*/*;q=0.8"})
        assert response.status_code == 404 and response.mimetype == "text/html", path
        assert "Not found" in response.get_data(as_text=True)
    partial = client.get("/foo/_doc/1", headers={"HX-Request": "true"})
    assert partial.status_code == 404 and partial.mimetype == "text/html"
    wrong_method = client.delete("/account/", headers={"Accept": "text/html"})
    assert wrong_method.status_code == 405 and wrong_method.mimetype == "text/html"


def test_a_session_does_not_authenticate_an_api_clients_unknown_path(client, auth):
    auth.login()
    response = client.get("/foo/_doc/1", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.get_json()["error"]["type"] == "security_exception"
