"""User-controlled text (key names, metadata, usernames, full names, role names, `next` targets, request
headers) never forges or breaks a response header.

Where a value can reach a header (Location and HX-Redirect after a change or a sign-in, X-Keydesk-* from
_authenticate, Content-Disposition on the audit exports, HX-Trigger, WWW-Authenticate, anything echoed from
the request), a line break in it would either split the response (a header of the attacker's choosing, such
as Set-Cookie) or make Werkzeug refuse the header value (a 500). Every response here is checked: below 500,
no header the payload names, no Set-Cookie the payload carries, and every header value printable Latin-1
without a control character. The values are either refused with a clear message (an Elasticsearch error for
the API, a message beside the field for the pages) or stored exactly and shown as text.
"""

import base64
import json
import re
from urllib.parse import quote, urlsplit

import pytest
from markupsafe import escape

from tests.conftest import ELASTIC_PASSWORD, basic_header, count
from webapp.model import User
from webapp.model.db import database
from webapp.services.access.authentication import subject_for_user
from webapp.services.api_keys import commands as api_keys

HTMX = {"HX-Request": "true"}
ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)

PAYLOADS = {
    "crlf-set-cookie": "x\r\nSet-Cookie: evil=1",
    "lf": "x\nX-Injected: 1",
    "cr": "x\rX-Injected: 1",
    "crlf-body": "x\r\n\r\n<h1>X-Injected</h1>",
    "percent-encoded": "x%0d%0aSet-Cookie:%20evil=1",
    "line-separator": "x\u2028X-Injected: 1",
    "paragraph-separator": "x\u2029X-Injected: 1",
    "next-line": "x\u0085X-Injected: 1",
    "vertical-tab": "x\x0bX-Injected: 1",
}
IDS = list(PAYLOADS)


def _controls(text):
    """The characters no header may carry: C0 and C1 controls (but tab), DEL, and anything past Latin-1."""
    return [c for c in text if (ord(c) < 32 and c != "\t") or 127 <= ord(c) <= 159 or ord(c) > 255]


def assert_clean(response, what):
    """No server error, no header forged by the payload, and every header a server can send as it is."""
    assert response.status_code < 500, f"{what}: {response.status_code}"
    for name, value in response.headers.items():
        assert name.lower() != "x-injected", f"{what}: forged header {name}: {value!r}"
        assert not _controls(name) and not _controls(value), f"{what}: {name}: {value!r}"
        value.encode("latin-1")
    for cookie in response.headers.getlist("Set-Cookie"):
        assert cookie.partition("=")[0].strip().lower() != "evil", f"{what}: forged cookie {cookie!r}"
    count("header-injection responses checked")
    return response


class Browser:
    """A signed-in test client that checks every response it gets."""

    def __init__(self, client):
        self.client = client

    def open(self, method, path, what=None, **kwargs):
        response = self.client.open(path, method=method, **kwargs)
        response.get_data()  # run streamed bodies (the exports) to the end
        return assert_clean(response, what or f"{method} {path!r}")

    def get(self, path, **kwargs):
        return self.open("GET", path, **kwargs)

    def token(self):
        html = self.client.get("/account/").get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def form(self, path, data, **kwargs):
        return self.open("POST", path, data={"csrf_token": self.token(), **data}, **kwargs)

    def api(self, method, path, **kwargs):
        return self.open(method, path, headers={**ELASTIC, **kwargs.pop("headers", {})}, **kwargs)


@pytest.fixture
def app_config():
    """Many deliberate failed authentications from one address: the failure limits are not what is tested."""
    return {"KEYDESK_AUTH_FAILURES_PER_ADDRESS": "100000 per minute",
            "KEYDESK_AUTH_FAILURES_PER_CREDENTIAL": "100000 per minute"}


@pytest.fixture
def browser(client, auth):
    assert auth.login().status_code == 302
    return Browser(client)


def _stays_on_site(location):
    parts = urlsplit(location)
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert not parts.scheme and not parts.netloc


def _refused_by_api(response, payload):
    """Elasticsearch's error envelope: 400 for a name it refuses, 404 when a "/" in the name (sent as %2F)
    splits the path into one no endpoint has."""
    body = response.get_json()
    assert response.status_code == 400 or (response.status_code == 404 and "/" in payload)
    assert body["status"] == response.status_code
    assert body["error"]["type"] and body["error"]["reason"]


def _html(response):
    return response.get_data(as_text=True)


# ---- redirect targets ------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=IDS)
def test_sign_in_next_never_forges_a_location(app, payload):
    for target in ("/keys/" + payload, "/" + payload, "/keys/?q=" + payload):
        client = app.test_client()
        page = assert_clean(client.get("/login", query_string={"next": target}), "sign-in page")
        token = re.search(r'name="csrf_token" value="([^"]+)"', _html(page)).group(1)
        response = assert_clean(client.post("/login", data={"username": "elastic", "password": ELASTIC_PASSWORD,
                                                             "csrf_token": token, "next": target}), "sign in")
        assert response.status_code == 302
        _stays_on_site(response.headers["Location"])
        # Signed in already: the sign-in page sends you on at once.
        response = assert_clean(client.get("/login", query_string={"next": target}), "signed in")
        assert response.status_code == 302
        _stays_on_site(response.headers["Location"])
    for refused in ("//evil.example/" + payload, "/\t/evil.example", "/\r\n/evil.example", "/\\" + payload):
        response = assert_clean(app.test_client().get("/login", query_string={"next": refused}), "sign-in page")
        assert response.status_code == 200


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=IDS)
def test_not_signed_in_redirect_carries_the_path_encoded(client, payload):
    path = "/keys/" + quote(payload, safe="")
    for headers in ({}, HTMX):
        response = assert_clean(client.get(path, headers=headers), "not signed in")
        if response.status_code == 404:  # a payload holding "/" makes a path no page has
            assert "/" in payload
            continue
        location = response.headers.get("Location") or response.headers["HX-Redirect"]
        _stays_on_site(location)
        assert location.startswith("/login?next=")


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=IDS)
def test_delete_pages_next_never_forges_a_redirect(browser, make_user, payload):
    make_user("target-user", ["security_viewer"])
    for target in ("/roles/" + payload, "/roles/?search=" + payload, "/" + payload):
        for headers in ({}, HTMX):
            assert browser.api("PUT", "/_security/role/doomed", json={"cluster": ["monitor"]}).status_code == 200
            response = browser.get("/roles/delete", query_string={"name": "doomed", "next": target},
                                   headers=headers)
            assert response.status_code == 200
            response = browser.form("/roles/delete", {"name": "doomed", "next": target}, headers=headers)
            location = response.headers.get("HX-Redirect") if headers else response.headers.get("Location")
            assert response.status_code in (200, 303) and location
            _stays_on_site(location)
            assert browser.get("/roles/edit", query_string={"name": "doomed"}).status_code == 404
            response = browser.get("/users/delete", query_string={"username": "target-user", "realm": "native",
                                                                  "next": target}, headers=headers)
            assert response.status_code == 200


# ---- names and metadata ----------------------------------------------------------------------------------

def _create_key_by_api(browser, payload):
    """A key whose name and metadata carry the payload; None when the name is refused (with ES's error)."""
    response = browser.api("POST", "/_security/api_key",
                           json={"name": payload, "metadata": {"note": payload, "k" + payload: "v"}})
    if response.status_code == 400:
        _refused_by_api(response, payload)
        response = browser.api("POST", "/_security/api_key", json={"name": "plain", "metadata": {"note": payload}})
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=IDS)
def test_key_names_and_metadata_reach_no_header(browser, payload):
    created = _create_key_by_api(browser, payload)
    key_id, name = created["id"], created["name"]
    api_key = {"Authorization": f"ApiKey {created['encoded']}"}

    # The API stores them exactly and answers them in JSON, never in a header.
    found = browser.api("GET", "/_security/api_key", query_string={"id": key_id}).get_json()["api_keys"][0]
    assert found["name"] == name and found["metadata"]["note"] == payload
    assert browser.api("GET", "/_security/api_key", query_string={"name": name}).status_code in (200, 404)
    assert browser.api("POST", "/_security/_query/api_key",
                       json={"query": {"match": {"name": payload}}}).status_code == 200
    response = browser.open("GET", "/_security/_authenticate", headers=api_key)
    assert response.status_code == 200 and response.headers["X-Keydesk-Api-Key-Id"] == key_id
    assert response.headers["X-Keydesk-User"] == "elastic"
    response = browser.api("PUT", f"/_security/api_key/{key_id}", json={"metadata": {"note": payload + "2"}})
    assert response.status_code == 200
    assert browser.api("PUT", f"/_security/api_key/{quote(payload, safe='')}", json={}).status_code < 500

    # The pages show them as text, whole pages and htmx fragments alike.
    for headers in ({}, HTMX):
        assert str(escape(name)) in _html(browser.get("/keys/", headers=headers))
        assert browser.get("/keys/", query_string={"q": payload}, headers=headers).status_code in (200, 422)
        details = browser.get(f"/keys/{key_id}", headers=headers)
        assert details.status_code == 200 and str(escape(name)) in _html(details)
        response = browser.form(f"/keys/{key_id}", {"add_metadata": "1",
                                                    "metadata": _note(payload)}, headers=headers)
        assert response.status_code in (200, 303)
        if response.status_code == 303:
            _stays_on_site(response.headers["Location"])
    assert browser.get(f"/keys/{quote(payload, safe='')}").status_code == 404

    # Deleting: the confirmation, then the deletion with the list's state (and the page htmx came from).
    return_to = "q=" + quote(payload) + "&sort=" + quote(payload)
    current = {"HX-Current-URL": "http://localhost/keys/?q=" + quote(payload)}
    response = browser.form("/keys/delete", {"ids": key_id, "return_to": return_to})
    assert response.status_code == 200 and str(escape(name)) in _html(response)
    response = browser.form("/keys/delete", {"ids": key_id, "confirmed": "1", "return_to": return_to},
                            headers={**HTMX, **current})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "api-keys-deleted"
    second = browser.api("POST", "/_security/api_key", json={"name": "second"}).get_json()
    response = browser.form("/keys/delete", {"one": second["id"], "confirmed": "1", "return_to": return_to})
    assert response.status_code == 303
    _stays_on_site(response.headers["Location"])
    response = browser.api("DELETE", "/_security/api_key", json={"name": name})
    assert response.status_code == 200


def _note(text):
    """Metadata as the forms take it: JSON text."""
    return json.dumps({"note": text})


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=IDS)
def test_key_create_form_refuses_or_keeps_the_name(browser, payload, htmx):
    headers = HTMX if htmx else {}
    response = browser.form("/keys/new", {"name": payload, "type": "rest", "add_metadata": "1",
                                          "metadata": _note(payload)}, headers=headers)
    if response.status_code == 422:
        assert 'aria-invalid="true"' in _html(response)
        return
    assert response.status_code == (200 if htmx else 201)
    assert response.headers["Cache-Control"] == "no-store"
    if htmx:
        assert response.headers["HX-Trigger"] == "api-key-created"
    found = browser.api("GET", "/_security/api_key", query_string={"name": payload}).get_json()["api_keys"]
    assert [key["name"] for key in found] == [payload]


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=IDS)
def test_usernames_and_profiles_reach_no_header(browser, payload):
    # A username with a control or line-break character is refused; printable ASCII is kept as it is.
    password = "header-test-password"
    response = browser.api("PUT", f"/_security/user/{quote(payload, safe='')}",
                           json={"password": password, "roles": ["api_key_user"]})
    accepted = response.status_code == 200
    if accepted:
        assert not _controls(payload)
        if ":" not in payload:  # Basic credentials end the username at the first colon
            response = browser.open("GET", "/_security/_authenticate", headers=basic_header(payload, password))
            assert response.status_code == 200 and response.headers["X-Keydesk-User"] == payload
            assert response.headers["X-Keydesk-Realm"] == "native"
        response = browser.get("/users/edit", query_string={"username": payload, "realm": "native"})
        assert response.status_code == 200 and str(escape(payload)) in _html(response)
        with database.connection_context():
            user = User.get((User.username == payload) & (User.realm == "native"))
            key = api_keys.create_api_key(subject_for_user(user, "session"), name="theirs").to_json()
        response = browser.open("GET", "/_security/_authenticate",
                                headers={"Authorization": f"ApiKey {key['encoded']}"})
        assert response.status_code == 200 and response.headers["X-Keydesk-User"] == payload
        response = browser.form("/users/delete", {"username": payload, "realm": "native"}, headers=HTMX)
        assert response.status_code == 200
        _stays_on_site(response.headers["HX-Redirect"])
    else:
        _refused_by_api(response, payload)
    # Failed sign-ins with the payload as the username: 401 with the usual challenge and nothing more.
    response = browser.open("GET", "/_security/_authenticate", headers=basic_header(payload, "wrong-password"))
    assert response.status_code == 401
    assert response.headers.getlist("WWW-Authenticate") == ['Basic realm="security", charset="UTF-8"', "ApiKey"]
    # The users form: a username the API refused is refused beside its field; one it took (deleted above)
    # is created again and then refused as existing.
    for form_headers in ({}, HTMX):
        response = browser.form("/users/new", {"username": payload, "password": password,
                                               "confirm_password": password, "full_name": payload,
                                               "email": "", "roles": "api_key_user"}, headers=form_headers)
        if accepted and not form_headers:
            assert response.status_code == 303
            _stays_on_site(response.headers["Location"])
        else:
            assert response.status_code == 422
            assert re.search(r'id="username-error"|aria-invalid="true"', _html(response))

    # Full name, email and metadata are free text: stored exactly, shown as text.
    response = browser.api("PUT", "/_security/user/plain", json={
        "password": password, "roles": ["api_key_user"], "full_name": payload, "metadata": {"note": payload}})
    assert response.status_code == 200
    user = browser.api("GET", "/_security/user/plain").get_json()["plain"]
    assert user["full_name"] == payload and user["metadata"]["note"] == payload
    response = browser.open("GET", "/_security/_authenticate", headers=basic_header("plain", password))
    assert response.status_code == 200 and response.headers["X-Keydesk-User"] == "plain"
    for headers in ({}, HTMX):
        assert str(escape(payload)) in _html(browser.get("/users/", headers=headers))
        browser.get("/users/", query_string={"search": payload}, headers=headers)
        response = browser.form("/users/edit?username=plain&realm=native",
                                {"full_name": payload, "email": payload, "roles": "api_key_user"}, headers=headers)
        assert response.status_code in (200, 303, 422)
        response = browser.form("/users/enabled?username=plain&realm=native", {"enabled": "true"}, headers=headers)
        assert response.status_code in (200, 303)
        response = browser.form("/users/password?username=plain&realm=native",
                                {"password": payload + "-long", "confirm_password": payload + "-long"},
                                headers=headers)
        assert response.status_code in (200, 303)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=IDS)
def test_role_names_and_descriptions_reach_no_header(browser, payload):
    response = browser.api("PUT", f"/_security/role/{quote(payload, safe='')}", json={"cluster": ["monitor"]})
    if response.status_code == 200:
        assert not _controls(payload)
        name = payload
    else:
        _refused_by_api(response, payload)
        name = "described"
    response = browser.api("PUT", f"/_security/role/{quote(name, safe='')}", json={
        "cluster": ["monitor"], "description": payload, "metadata": {"note": payload}})
    assert response.status_code == 200
    role = browser.api("GET", f"/_security/role/{quote(name, safe='')}").get_json()[name]
    assert role["description"] == payload and role["metadata"]["note"] == payload
    for headers in ({}, HTMX):
        assert str(escape(name)) in _html(browser.get("/roles/", headers=headers))
        assert browser.get("/roles/edit", query_string={"name": name}, headers=headers).status_code == 200
        response = browser.form("/roles/new", {"name": payload, "description": payload,
                                               "cluster": "monitor"}, headers=headers)
        assert response.status_code in (200, 303, 422)
        response = browser.form("/roles/edit?name=" + quote(name, safe=""),
                                {"name": name, "description": payload, "metadata": _note(payload),
                                 "cluster": "monitor"}, headers=headers)
        assert response.status_code in (200, 303, 422)
    response = browser.form("/roles/delete", {"name": name, "next": "/roles/?search=" + payload}, headers=HTMX)
    assert response.status_code == 200
    _stays_on_site(response.headers["HX-Redirect"])


# ---- the audit trail and its exports ---------------------------------------------------------------------

@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=IDS)
def test_audit_filters_and_exports_reach_no_header(app, browser, payload):
    # Failed sign-ins with the payload as the username land in the trail as the target.
    client = app.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', _html(page)).group(1)
    response = assert_clean(client.post("/login", data={"username": payload, "password": "wrong-password",
                                                         "csrf_token": token}), "failed sign-in")
    assert response.status_code == 401 and str(escape(payload)) in _html(response)
    _create_key_by_api(browser, payload)
    filters = {"actor": payload, "action": payload, "target": payload, "outcome": payload, "since": payload}
    for query in ({}, {"target": payload}, filters):
        for headers in ({}, HTMX):
            assert browser.get("/audit/", query_string=query, headers=headers).status_code in (200, 422)
        for extension, kind in (("csv", "text/csv"), ("jsonl", "application/")):
            response = browser.get(f"/audit/export.{extension}", query_string=query)
            if response.status_code == 200:
                assert response.headers["Content-Disposition"] == (
                    f'attachment; filename="keydesk-audit.{extension}"')
                assert response.headers["Content-Type"].startswith(kind)
            else:
                assert response.status_code == 422 and response.get_data(as_text=True).strip()
    export = _html(browser.get("/audit/export.jsonl", query_string={"target": payload}))
    assert export.count("\n") >= 1 and '"login"' in export


# ---- paths -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=IDS)
def test_api_paths_no_route_matches_answer_elasticsearch_errors(browser, payload):
    """A line break in a path under /_security or /_license (which no route pattern matches) and the bare
    prefixes with a trailing slash get the API's JSON error, not a page: the API has no session to render
    one with (before the fix: a RuntimeError, a 500)."""
    part = quote(payload, safe="")
    paths = [f"/_security/{part}", f"/_security/api_key/{part}/x", f"/_security/role/{part}",
             f"/_license/{part}", f"/_security/user/{part}/_password", "/_security/", "/_license/"]
    for path in paths:
        for method in ("GET", "PUT", "DELETE"):
            for headers in ({}, ELASTIC):
                response = browser.open(method, path, headers=headers)
                assert 400 <= response.status_code < 500, f"{method} {path!r}"
                body = response.get_json()
                if body in ({}, {"found": False}):  # a role or user that doesn't exist, as Elasticsearch answers
                    assert response.status_code == 404 and method in ("GET", "DELETE")
                    continue
                assert "status" in body and "error" in body, f"{method} {path!r}: {body}"
                assert body["status"] == response.status_code and body["error"]["reason"]


# ---- request headers -------------------------------------------------------------------------------------

def _raw(name, value):
    """A request header as the WSGI server hands it over (the test client won't build one with a line
    break, but a proxy that folds or decodes headers might pass one on)."""
    return {"HTTP_" + name.upper().replace("-", "_"): value}


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=IDS)
def test_request_headers_are_never_echoed_raw(browser, payload):
    key = browser.api("POST", "/_security/api_key", json={"name": "echo"}).get_json()
    for name in ("X-Opaque-Id", "X-Request-Id", "traceparent", "X-Forwarded-For", "X-Forwarded-Host",
                 "X-Forwarded-Proto", "Host", "Origin", "Accept", "HX-Current-URL", "HX-Target", "HX-Trigger-Name"):
        raw = _raw(name, payload)
        responses = [
            browser.api("GET", "/_security/_authenticate", environ_overrides=raw),
            browser.open("GET", "/_security/_authenticate", headers={"Authorization": f"ApiKey {key['encoded']}"},
                         environ_overrides=raw),
            browser.open("GET", "/_security/_authenticate", environ_overrides=raw),  # 401
            browser.api("GET", "/_security/nothing-here", environ_overrides=raw),  # 400, no such endpoint
            browser.api("PATCH", "/_security/api_key", environ_overrides=raw),  # 405 with Allow
            browser.get("/keys/", environ_overrides=raw),
            browser.get("/keys/", headers=HTMX, environ_overrides=raw),
            browser.get("/nowhere", environ_overrides=raw),
        ]
        for response in responses:
            for header, value in response.headers.items():
                assert payload not in value, f"{name} echoed in {header}: {value!r}"
    # Credentials carrying the payload: refused with 401, the reason in the body only.
    for authorization in ("ApiKey " + base64.b64encode(f"{payload}:secret".encode()).decode(),
                          "Basic " + base64.b64encode(f"{payload}:password".encode()).decode(),
                          "ApiKey " + payload, "Basic " + payload, payload):
        response = browser.open("GET", "/_security/_authenticate", environ_overrides=_raw("Authorization",
                                                                                         authorization))
        assert response.status_code == 401 and response.get_json()["status"] == 401
