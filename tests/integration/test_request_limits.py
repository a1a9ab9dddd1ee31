"""Request limits: the body size, JSON nesting, metadata size, role descriptors per key, ids per request,
roles per user and name lengths. Each is tried just under (accepted) and just over (refused with a message
that names the limit) on the JSON API and on the HTML forms, and a refusal leaves the database as it was."""

import base64
import html as markup
import io
import json
from urllib.parse import urlencode

import pytest
from flask import Flask
from peewee import CompositeKey

from tests.conftest import ELASTIC_PASSWORD, basic_header, count
from tests.integration.test_roles_pages import sign_in
from webapp.config import load_config
from webapp.model import ALL_MODELS, ApiKey, AuditEvent, Role
from webapp.model.db import database
from webapp.security import limits
from webapp.services.access.authentication import find_password_user, subject_for_user
from webapp.services.api_keys import checks
from webapp.services.api_keys import commands as api_keys

ELASTIC = basic_header("elastic", ELASTIC_PASSWORD)
JSON = {**ELASTIC, "Content-Type": "application/json"}
HTMX = {"HX-Request": "true"}
MIB = 1024 * 1024
DEPTH = limits.MAX_JSON_DEPTH
META = limits.MAX_METADATA_BYTES
IGNORED_COLUMNS = {"last_used", "last_used_address"}  # written by key verification, not by the request


@pytest.fixture
def app_config():
    return {"KEYDESK_AUTH_FAILURES_PER_ADDRESS": "100000 per minute",
            "KEYDESK_AUTH_FAILURES_PER_CREDENTIAL": "100000 per minute"}


# ---- helpers ------------------------------------------------------------------------------------------

# Enough of an audit row to see that one was added or folded into (before/after can be large: left out).
AUDIT_COLUMNS = ("id", "timestamp", "actor_username", "actor_realm", "action", "target_type", "target_id",
                 "outcome", "count")


def snapshot(include_audit=True):
    """Every row of every table (last-used columns left out); audit rows too unless `include_audit` is false."""
    state = {}
    with database.connection_context():
        for model in ALL_MODELS:
            if (model is AuditEvent and not include_audit) or model.__name__ == "ThrottleCounter":
                continue  # throttling counts failures: a refused request leaves no other trace
            columns = [field for field in model._meta.sorted_fields if field.name not in IGNORED_COLUMNS
                       and (model is not AuditEvent or field.name in AUDIT_COLUMNS)]
            key = model._meta.primary_key
            order = [model._meta.fields[name] for name in key.field_names] if isinstance(key, CompositeKey) else [key]
            rows = model.select(*columns).order_by(*order).tuples()
            state[model.__name__] = [tuple(json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v
                                           for v in row) for row in rows]
    return state


def text_of(response):
    return markup.unescape(response.get_data(as_text=True))


def es_error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert body["status"] == status and body["error"]["root_cause"][0]["type"] == body["error"]["type"]
    return body["error"]


def nested(depth, leaf=1):
    """A JSON object nested `depth` levels deep (the outer object counts as one)."""
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def metadata_of_size(size):
    """A metadata object whose compact JSON is exactly `size` bytes."""
    overhead = len(json.dumps({"blob": ""}, separators=(",", ":")))
    value = {"blob": "x" * (size - overhead)}
    assert limits.json_size(value) == size
    return value


def descriptors(number):
    return {f"role-{i}": {"cluster": ["monitor"]} for i in range(number)}


def column_of_bracket(text, number):
    """The 1-based column of the `number`-th opening bracket in one line of JSON without brackets in strings."""
    seen = 0
    for index, char in enumerate(text):
        if char in "[{":
            seen += 1
            if seen == number:
                return index + 1
    raise AssertionError("not that many brackets")


def padded_json(value, size):
    """`value` as a JSON body of exactly `size` bytes (trailing whitespace is legal JSON)."""
    text = json.dumps(value)
    assert len(text) <= size
    return (text + " " * (size - len(text))).encode()


@pytest.fixture
def admin(client, auth):
    """The browser signed in as elastic, sending the session's CSRF token with every request as the pages do."""
    sign_in(client, auth, "elastic", ELASTIC_PASSWORD)
    return client


def key_form(**changes):
    fields = {"name": "form-key", "type": "rest", "control": "", "role_descriptors": "{}", "expires": "",
              "days": "30", "add_metadata": "", "metadata": "{}"}
    fields.update(changes)
    return fields


def role_form(**changes):
    fields = {"name": "form-role", "description": "", "cluster": "monitor", "cluster_other": "", "run_as": "",
              "metadata": "", "index_rows": "0", "mode": "form", "descriptor_json": "", "kept": "{}",
              "intent": "save"}
    fields.update(changes)
    return fields


def user_form(**changes):
    fields = {"username": "form-user", "password": "secret-pw", "confirm_password": "secret-pw",
              "full_name": "", "email": "", "roles": []}
    fields.update(changes)
    return fields


def refused(response, before, status, *messages):
    """The response refused the request with every message, and the database is as it was."""
    assert response.status_code == status, (response.status_code, text_of(response)[:500])
    body = text_of(response)
    for message in messages:
        assert message in body, (message, body[:2000])
    assert snapshot() == before
    count("limits: refusals checked (message and unchanged database)")


# ---- the body ----------------------------------------------------------------------------------------

def test_the_body_limit_is_a_setting_with_a_mebibyte_default(app):
    assert app.config["KEYDESK_MAX_REQUEST_BYTES"] == MIB
    assert app.config["MAX_CONTENT_LENGTH"] == MIB
    assert app.config["MAX_FORM_MEMORY_SIZE"] == MIB


def test_the_body_limit_comes_from_the_environment(tmp_path):
    def load(value):
        return load_config(Flask("limits", instance_path=str(tmp_path)), {"SECRET_KEY": "k"},
                           environ={"KEYDESK_MAX_REQUEST_BYTES": value})

    config = load("2048")
    assert (config["KEYDESK_MAX_REQUEST_BYTES"], config["MAX_CONTENT_LENGTH"], config["MAX_FORM_MEMORY_SIZE"]) \
        == (2048, 2048, 2048)
    with pytest.raises(ValueError, match="whole number"):
        load("lots")
    with pytest.raises(ValueError, match="at least 1024"):
        load("10")


def test_api_body_at_the_limit_is_read_and_one_byte_more_is_a_413(client):
    created = client.post("/_security/api_key", data=padded_json({"name": "at-limit"}, MIB), headers=JSON)
    assert created.status_code == 200 and created.get_json()["name"] == "at-limit"
    before = snapshot()
    response = client.post("/_security/api_key", data=padded_json({"name": "over"}, MIB + 1), headers=JSON)
    error = es_error(response, 413)
    assert error["type"] == "content_too_long_exception"
    assert error["reason"] == f"request body is too large: [{MIB + 1}] bytes, at most [{MIB}] are accepted"
    assert response.headers["X-Elastic-Product"] == "Elasticsearch"
    assert snapshot() == before


def chunked(client, path, body, **headers):
    """A body sent without Content-Length, as a server that terminates chunked input hands it over."""
    return client.post(path, input_stream=io.BytesIO(body), headers={"Transfer-Encoding": "chunked", **headers},
                       environ_overrides={"wsgi.input_terminated": True})


def test_api_chunked_body_without_length_is_limited_while_read(client):
    small = chunked(client, "/_security/api_key", padded_json({"name": "chunked"}, 1000), **JSON)
    assert small.status_code == 200 and small.get_json()["name"] == "chunked"
    before = snapshot()
    response = chunked(client, "/_security/api_key", padded_json({"name": "chunked-big"}, MIB + 1), **JSON)
    error = es_error(response, 413)
    assert error["type"] == "content_too_long_exception"
    assert error["reason"] == f"request body is too large: at most [{MIB}] bytes are accepted"
    assert snapshot() == before


def urlencoded_of_size(fields, size, pad_field):
    """The form `fields` urlencoded to exactly `size` bytes, by filling `pad_field` with letters."""
    base = urlencode({**fields, pad_field: ""}, doseq=True)
    return urlencode({**fields, pad_field: "p" * (size - len(base))}, doseq=True).encode()


FORM = "application/x-www-form-urlencoded"
HTML_TOO_LARGE = "The request is larger than Keydesk accepts (at most 1 MiB). Nothing was changed"


@pytest.mark.parametrize("htmx", [False, True])
def test_form_body_at_the_limit_is_read_and_one_byte_more_is_a_413(admin, htmx):
    headers = {**(HTMX if htmx else {}), "Content-Type": FORM}
    # The metadata text is ignored while "Add metadata" is off: it only pads the body.
    fields = key_form(name=f"at-limit-{htmx}")
    at_limit = admin.post("/keys/new", data=urlencoded_of_size(fields, MIB, "metadata"), headers=headers)
    assert at_limit.status_code == (200 if htmx else 201), text_of(at_limit)[:300]
    before = snapshot()
    fields = key_form(name=f"over-{htmx}")
    response = admin.post("/keys/new", data=urlencoded_of_size(fields, MIB + 1, "metadata"), headers=headers)
    refused(response, before, 413, "Too large", HTML_TOO_LARGE)
    if htmx:  # a partial for the page's message area, not a page
        assert response.headers["HX-Retarget"] == "#page-message" and "<html" not in text_of(response)
    else:
        assert "<html" in text_of(response)


def test_chunked_form_within_the_limit_is_read_whole(admin):
    body = urlencode({**key_form(name="chunked-form", add_metadata="1", metadata='{"size": "small"}')}).encode()
    response = chunked(admin, "/keys/new", body, **HTMX, **{"Content-Type": FORM})
    assert response.status_code == 200, text_of(response)[:300]
    with database.connection_context():
        assert ApiKey.get(ApiKey.name == "chunked-form").metadata == {"size": "small"}


@pytest.mark.parametrize("path", ["/keys/new", "/roles/new", "/users/new", "/login"])
def test_chunked_and_huge_form_posts_are_refused_on_every_form(admin, path):
    before = snapshot()
    body = urlencode({"name": "x", "username": "x", "metadata": "m" * (MIB + 10)}).encode()
    refused(chunked(admin, path, body, **HTMX, **{"Content-Type": FORM}), before, 413, HTML_TOO_LARGE)
    refused(admin.post(path, data=body, headers={**HTMX, "Content-Type": FORM}), before, 413, HTML_TOO_LARGE)


def test_multipart_forms_are_held_to_the_limit_too(admin):
    fields = role_form(name="multipart")
    ok = admin.post("/roles/new", data=fields, content_type="multipart/form-data", headers=HTMX)
    assert ok.status_code == 200 and ok.headers.get("HX-Redirect")
    before = snapshot()
    big = role_form(name="multipart-big", description="d" * (MIB + 1))
    refused(admin.post("/roles/new", data=big, content_type="multipart/form-data", headers=HTMX), before, 413,
            HTML_TOO_LARGE)
    many = {**role_form(name="multipart-many"), "cluster": [f"c{n}" for n in range(1001)]}  # Werkzeug's 1,000 parts
    refused(admin.post("/roles/new", data=many, content_type="multipart/form-data", headers=HTMX), before, 413,
            HTML_TOO_LARGE)


# ---- JSON nesting ------------------------------------------------------------------------------------

API_WRITES = [("POST", "/_security/api_key"), ("PUT", "/_security/role/deep"), ("PUT", "/_security/user/deep"),
              ("POST", "/_security/_query/api_key"), ("DELETE", "/_security/api_key"),
              ("POST", "/_security/user/_has_privileges")]


def test_json_nested_to_the_limit_is_accepted(client):
    body = {"name": "deep-enough", "metadata": nested(DEPTH - 1)}  # the body itself is the first level
    response = client.post("/_security/api_key", data=json.dumps(body), headers=JSON)
    assert response.status_code == 200, response.get_data(as_text=True)
    with database.connection_context():
        stored = ApiKey.get(ApiKey.name == "deep-enough").metadata
    assert stored == nested(DEPTH - 1)


@pytest.mark.parametrize("method, path", API_WRITES)
@pytest.mark.parametrize("body", [
    json.dumps({"name": "too-deep", "metadata": nested(DEPTH)}),
    "[" * 100_000,
    '{"a":' * 5000 + "1" + "}" * 5000,
], ids=["one-too-deep", "100000-brackets", "5000-objects"])
def test_json_nested_deeper_is_a_400_before_anything_reads_it(client, method, path, body):
    column = column_of_bracket(body, DEPTH + 1)
    before = snapshot()
    error = es_error(client.open(path, method=method, data=body, headers=JSON), 400)
    assert error["type"] == "x_content_parse_exception"
    assert error["reason"] == f"[1:{column}] the request body is nested more than [{DEPTH}] levels deep (objects " \
                              "and arrays)"
    assert snapshot() == before


def test_brackets_inside_strings_are_not_nesting(client):
    body = {"name": "brackets", "metadata": {"text": "[{" * 5000}}
    assert client.post("/_security/api_key", data=json.dumps(body), headers=JSON).status_code == 200


def test_numbers_too_long_to_read_are_a_400(client):
    before = snapshot()
    body = '{"name": "n", "metadata": {"n": ' + "9" * 5000 + "}}"
    error = es_error(client.post("/_security/api_key", data=body, headers=JSON), 400)
    assert error["type"] == "x_content_parse_exception"
    assert error["reason"] == "[1:33] Number has more than 4300 digits"
    assert snapshot() == before


@pytest.mark.parametrize("raw", [b"[" * 5000, b'["name", "asc", [' + b"9" * 5000 + b"]]"])
def test_a_crafted_page_cursor_is_a_bad_cursor_not_a_server_error(admin, raw):
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    before = snapshot()
    for param in ("after", "before"):
        response = admin.get(f"/keys/?sort=name&dir=asc&{param}={cursor}", headers=HTMX)
        refused(response, before, 422, "This page link no longer fits the list; start again from the first page.")


def deep_text(depth):
    return json.dumps(nested(depth))


def test_key_form_metadata_nested_to_the_limit_is_accepted(admin):
    response = admin.post("/keys/new", data=key_form(name="deep-ok", add_metadata="1", metadata=deep_text(DEPTH)),
                          headers=HTMX)
    assert response.status_code == 200, text_of(response)[:500]
    with database.connection_context():
        assert ApiKey.get(ApiKey.name == "deep-ok").metadata == nested(DEPTH)


@pytest.mark.parametrize("field, switch", [("metadata", "add_metadata"), ("role_descriptors", "control")])
def test_key_form_json_nested_too_deep(admin, field, switch):
    key_id = _own_key("deep-update")
    for path in ("/keys/new", f"/keys/{key_id}"):
        for text in (deep_text(DEPTH + 1), "[" * 100_000):
            before = snapshot()
            response = admin.post(path, data=key_form(name="deep-no", **{switch: "1", field: text}), headers=HTMX)
            refused(response, before, 422, f"The JSON is nested more than {DEPTH} levels deep (line 1, column "
                                           f"{column_of_bracket(text, DEPTH + 1)}); Keydesk accepts at most "
                                           f"{DEPTH} levels of objects and arrays.")
            if path == "/keys/new":
                assert f'id="create-{field}-error"' in text_of(response)


@pytest.mark.parametrize("fields", [
    {"metadata": "DEEP"},
    {"mode": "json", "descriptor_json": "DEEP-ROLE"},
])
def test_role_editor_json_nested_too_deep(admin, fields):
    def filled(depth):
        role = {"cluster": ["monitor"], "metadata": nested(depth - 1)}  # the role's object is one level
        return {name: deep_text(depth) if value == "DEEP" else json.dumps(role) if value == "DEEP-ROLE" else value
                for name, value in fields.items()}

    ok = admin.post("/roles/new", data=role_form(name="deep-ok", **filled(DEPTH)), headers=HTMX)
    assert ok.status_code == 200 and ok.headers.get("HX-Redirect"), text_of(ok)[:500]
    before = snapshot()
    response = admin.post("/roles/new", data=role_form(name="deep-no", **filled(DEPTH + 1)), headers=HTMX)
    refused(response, before, 422, f"The JSON is nested more than {DEPTH} levels deep")
    kept = admin.post("/roles/new", data=role_form(name="deep-kept", kept="[" * 100_000), headers=HTMX)
    assert kept.status_code == 200  # the hidden copy of the JSON-only parts is unreadable: nothing is kept
    with database.connection_context():
        assert Role.get(Role.name == "deep-kept").descriptor["cluster"] == ["monitor"]


# ---- metadata size -----------------------------------------------------------------------------------

def over_message(what, size):
    return f"{what} may not be more than {META} bytes long as JSON, found {size} bytes"


def api_validation(response, message):
    error = es_error(response, 400)
    assert error["type"] == "action_request_validation_exception"
    assert error["reason"] == f"Validation Failed: 1: {message};"


def _own_key(name="sized"):
    """A key owned by elastic (the caller of the API and the signed-in browser), so it can be updated."""
    with database.connection_context():
        subject = subject_for_user(find_password_user("elastic"), "session")
        return api_keys.create_api_key(subject, name=name).id


def test_api_key_metadata_size(client):
    key_id = _own_key()
    exact, over = metadata_of_size(META), metadata_of_size(META + 1)
    assert client.post("/_security/api_key", data=json.dumps({"name": "m", "metadata": exact}),
                       headers=JSON).status_code == 200
    assert client.put(f"/_security/api_key/{key_id}", data=json.dumps({"metadata": exact}),
                      headers=JSON).get_json() == {"updated": True}
    before = snapshot()
    message = over_message("API key metadata", META + 1)
    for method, path, body in [
        ("POST", "/_security/api_key", {"name": "m", "metadata": over}),
        ("PUT", f"/_security/api_key/{key_id}", {"metadata": over}),
        ("POST", "/_security/api_key/_bulk_update", {"ids": [key_id], "metadata": over}),
    ]:
        api_validation(client.open(path, method=method, data=json.dumps(body), headers=JSON), message)
        assert snapshot() == before


def test_cross_cluster_key_metadata_size(client):
    client.post("/_license/start_trial?acknowledge=true", headers=ELASTIC)
    access = {"search": [{"names": ["logs-*"]}]}
    ok = client.post("/_security/cross_cluster/api_key", headers=JSON,
                     data=json.dumps({"name": "cc", "access": access, "metadata": metadata_of_size(META)}))
    assert ok.status_code == 200
    before = snapshot()
    response = client.post("/_security/cross_cluster/api_key", headers=JSON,
                           data=json.dumps({"name": "cc", "access": access, "metadata": metadata_of_size(META + 1)}))
    api_validation(response, over_message("API key metadata", META + 1))
    assert snapshot() == before


def test_role_metadata_size_on_roles_and_key_descriptors(client):
    exact, over = metadata_of_size(META), metadata_of_size(META + 1)
    assert client.put("/_security/role/sized", data=json.dumps({"metadata": exact}), headers=JSON).status_code == 200
    body = {"name": "k", "role_descriptors": {"r": {"cluster": ["monitor"], "metadata": exact}}}
    assert client.post("/_security/api_key", data=json.dumps(body), headers=JSON).status_code == 200
    before = snapshot()
    message = over_message("role descriptor metadata", META + 1)
    api_validation(client.put("/_security/role/sized", data=json.dumps({"metadata": over}), headers=JSON), message)
    body = {"name": "k", "role_descriptors": {"r": {"cluster": ["monitor"], "metadata": over}}}
    api_validation(client.post("/_security/api_key", data=json.dumps(body), headers=JSON), message)
    assert snapshot() == before


def test_user_metadata_size(client):
    body = {"password": "secret-pw", "roles": [], "metadata": metadata_of_size(META)}
    assert client.put("/_security/user/meta", data=json.dumps(body), headers=JSON).get_json() == {"created": True}
    before = snapshot()
    for name in ("meta", "newcomer"):  # an update and a create
        body = {"password": "secret-pw", "roles": [], "metadata": metadata_of_size(META + 1)}
        api_validation(client.put(f"/_security/user/{name}", data=json.dumps(body), headers=JSON),
                       over_message("user metadata", META + 1))
    assert snapshot() == before


def test_key_forms_metadata_size(admin):
    exact = json.dumps(metadata_of_size(META), indent=2)  # the size is counted compact, however it is typed
    ok = admin.post("/keys/new", data=key_form(name="meta-ok", add_metadata="1", metadata=exact), headers=HTMX)
    assert ok.status_code == 200, text_of(ok)[:300]
    key_id = _own_key("to-update")
    before = snapshot()
    over = json.dumps(metadata_of_size(META + 1))
    message = over_message("API key metadata", META + 1)
    response = admin.post("/keys/new", data=key_form(name="meta-no", add_metadata="1", metadata=over), headers=HTMX)
    refused(response, before, 422, message)
    assert 'id="create-metadata-error"' in text_of(response)
    response = admin.post(f"/keys/{key_id}", data=key_form(add_metadata="1", metadata=over), headers=HTMX)
    refused(response, before, 422, message)


@pytest.mark.parametrize("mode", ["form", "json"])
def test_role_editor_metadata_size(admin, mode):
    def fields(name, size):
        metadata = metadata_of_size(size)
        if mode == "json":
            return role_form(name=name, mode="json", descriptor_json=json.dumps({"metadata": metadata}))
        return role_form(name=name, metadata=json.dumps(metadata))

    ok = admin.post("/roles/new", data=fields("meta-ok", META), headers=HTMX)
    assert ok.status_code == 200 and ok.headers.get("HX-Redirect"), text_of(ok)[:300]
    before = snapshot()
    response = admin.post("/roles/new", data=fields("meta-no", META + 1), headers=HTMX)
    refused(response, before, 422, over_message("role descriptor metadata", META + 1))
    response = admin.post("/roles/edit?name=meta-ok", data=fields("meta-ok", META + 1), headers=HTMX)
    refused(response, before, 422, over_message("role descriptor metadata", META + 1))


# ---- role descriptors per key ------------------------------------------------------------------------

def too_many_descriptors(found):
    return f"an API key may have at most {limits.MAX_ROLE_DESCRIPTORS} role descriptors, found {found}"


def test_role_descriptors_per_key_on_the_api(client):
    most = limits.MAX_ROLE_DESCRIPTORS
    assert client.post("/_security/api_key", data=json.dumps({"name": "d", "role_descriptors": descriptors(most)}),
                       headers=JSON).status_code == 200
    as_list = [{name: body} for name, body in descriptors(most).items()]  # ES's array form counts the same
    assert client.post("/_security/api_key", data=json.dumps({"name": "l", "role_descriptors": as_list}),
                       headers=JSON).status_code == 200
    key_id = _own_key()
    before = snapshot()
    over = descriptors(most + 1)
    for method, path, body in [
        ("POST", "/_security/api_key", {"name": "d", "role_descriptors": over}),
        ("POST", "/_security/api_key", {"name": "d", "role_descriptors": [{k: v} for k, v in over.items()]}),
        ("PUT", f"/_security/api_key/{key_id}", {"role_descriptors": over}),
        ("POST", "/_security/api_key/_bulk_update", {"ids": [key_id], "role_descriptors": over}),
    ]:
        api_validation(client.open(path, method=method, data=json.dumps(body), headers=JSON),
                       too_many_descriptors(most + 1))
        assert snapshot() == before


def test_role_descriptors_per_key_on_the_forms(admin):
    most = limits.MAX_ROLE_DESCRIPTORS
    ok = admin.post("/keys/new", data=key_form(name="d-ok", control="1",
                                               role_descriptors=json.dumps(descriptors(most))), headers=HTMX)
    assert ok.status_code == 200, text_of(ok)[:300]
    key_id = _own_key("d-update")
    before = snapshot()
    over = key_form(name="d-no", control="1", role_descriptors=json.dumps(descriptors(most + 1)))
    response = admin.post("/keys/new", data=over, headers=HTMX)
    refused(response, before, 422, too_many_descriptors(most + 1))
    assert 'id="create-role_descriptors-error"' in text_of(response)
    refused(admin.post(f"/keys/{key_id}", data=over, headers=HTMX), before, 422, too_many_descriptors(most + 1))


# ---- ids per request ---------------------------------------------------------------------------------

def ids(number):
    return [f"id{n:018d}" for n in range(number)]


def test_ids_per_invalidate_and_bulk_update(client):
    most = limits.MAX_IDS_PER_REQUEST
    done = client.delete("/_security/api_key", data=json.dumps({"ids": ids(most)}), headers=JSON)
    assert done.status_code == 200 and done.get_json()["error_count"] == 0
    bulk = client.post("/_security/api_key/_bulk_update", data=json.dumps({"ids": ids(most)}), headers=JSON)
    assert bulk.status_code == 200 and bulk.get_json()["errors"]["count"] == most
    key_id = _own_key()
    before = snapshot()
    message = f"at most {most} API key ids may be given in one request, found {most + 1}"
    api_validation(client.delete("/_security/api_key", data=json.dumps({"ids": [key_id, *ids(most)]}),
                                 headers=JSON), message)
    api_validation(client.post("/_security/api_key/_bulk_update", headers=JSON,
                               data=json.dumps({"ids": [key_id, *ids(most)], "metadata": {"x": 1}})), message)
    assert snapshot() == before


def test_ids_per_delete_on_the_keys_page(admin):
    most = limits.MAX_IDS_PER_REQUEST
    key_id = _own_key()
    confirm = admin.post("/keys/delete", data={"ids": [key_id, *ids(most - 1)]})
    assert confirm.status_code == 200 and "Delete API key 'sized'?" in text_of(confirm)
    before = snapshot()
    response = admin.post("/keys/delete", data={"ids": [key_id, *ids(most)], "confirmed": "1"}, headers=HTMX)
    refused(response, before, 422, f"Delete at most {most} API keys at a time.")


# ---- roles per user, and names -----------------------------------------------------------------------

def test_roles_per_user_on_the_api(client):
    most = limits.MAX_ROLES_PER_USER
    roles = [f"role-{n}" for n in range(most + 1)]
    body = {"password": "secret-pw", "roles": roles[:most]}
    assert client.put("/_security/user/many", data=json.dumps(body), headers=JSON).get_json() == {"created": True}
    before = snapshot()
    message = f"a user may hold at most {most} roles, found {most + 1}"
    for name in ("many", "newcomer"):
        api_validation(client.put(f"/_security/user/{name}", headers=JSON,
                                  data=json.dumps({"password": "secret-pw", "roles": roles})), message)
    long_name = "r" * 508
    api_validation(client.put("/_security/user/many", data=json.dumps({"roles": [long_name]}), headers=JSON),
                   "role names may not be more than 507 characters long")
    assert client.put("/_security/user/many", data=json.dumps({"roles": [long_name[:507]]}),
                      headers=JSON).status_code == 200
    assert snapshot(include_audit=False)["UserRole"] != before["UserRole"]


def test_roles_per_user_on_the_user_forms(admin, make_user):
    most = limits.MAX_ROLES_PER_USER
    roles = [f"role-{n}" for n in range(most + 1)]
    ok = admin.post("/users/new", data=user_form(username="many", roles=roles[:most]), headers=HTMX)
    assert ok.status_code == 200 and ok.headers.get("HX-Redirect"), text_of(ok)[:300]
    before = snapshot()
    message = f"a user may hold at most {most} roles, found {most + 1}"
    response = admin.post("/users/new", data=user_form(username="too-many", roles=roles), headers=HTMX)
    refused(response, before, 422, message)
    assert 'id="roles-error"' in text_of(response)
    response = admin.post("/users/edit?username=many&realm=native", data={"roles": roles}, headers=HTMX)
    refused(response, before, 422, message)


NAME_RULE = "must be at least 1 and no more than 507 characters"


@pytest.mark.parametrize("field, most, message, field_id", [
    ("username", 507, f"Usernames {NAME_RULE}", "username-error"),
    ("full_name", 1024, "full_name must be a string of at most 1024 characters", "full_name-error"),
])
def test_user_form_lengths(admin, field, most, message, field_id):
    ok = admin.post("/users/new", data=user_form(**{field: "u" * most}), headers=HTMX)
    assert ok.status_code == 200 and ok.headers.get("HX-Redirect"), text_of(ok)[:300]
    before = snapshot()
    over = user_form(**{"username": "another", field: "u" * (most + 1)})
    response = admin.post("/users/new", data=over, headers=HTMX)
    refused(response, before, 422, message)
    assert f'id="{field_id}"' in text_of(response)


def test_user_form_email_length(admin):
    local = "e" * (1024 - len("@example.com"))
    ok = admin.post("/users/new", data=user_form(username="mail", email=f"{local}@example.com"), headers=HTMX)
    assert ok.status_code == 200 and ok.headers.get("HX-Redirect")
    before = snapshot()
    response = admin.post("/users/new", data=user_form(username="mail2", email=f"e{local}@example.com"),
                          headers=HTMX)
    refused(response, before, 422, "email must be a string of at most 1024 characters")


def test_key_name_length_on_the_api_and_the_form(client, admin):
    most = checks.MAX_NAME_LENGTH
    assert client.post("/_security/api_key", data=json.dumps({"name": "n" * most}), headers=JSON).status_code == 200
    ok = admin.post("/keys/new", data=key_form(name="f" * most), headers=HTMX)
    assert ok.status_code == 200
    before = snapshot()
    message = f"api key name may not be more than {most} characters long"
    api_validation(client.post("/_security/api_key", data=json.dumps({"name": "n" * (most + 1)}), headers=JSON),
                   message)
    response = admin.post("/keys/new", data=key_form(name="f" * (most + 1)), headers=HTMX)
    refused(response, before, 422, message)
    assert 'id="create-name-error"' in text_of(response)


def test_role_name_length_on_the_api_and_the_editor(client, admin):
    assert client.put(f"/_security/role/{'a' * 507}", data="{}", headers=JSON).status_code == 200
    ok = admin.post("/roles/new", data=role_form(name="b" * 507), headers=HTMX)
    assert ok.status_code == 200 and ok.headers.get("HX-Redirect")
    before = snapshot()
    error = es_error(client.put(f"/_security/role/{'a' * 508}", data="{}", headers=JSON), 400)
    assert error["type"] == "action_request_validation_exception" and f"Role names {NAME_RULE}" in error["reason"]
    refused(admin.post("/roles/new", data=role_form(name="b" * 508), headers=HTMX), before, 422,
            f"Role names {NAME_RULE}")


def test_role_description_length_on_the_api_and_the_editor(client, admin):
    assert client.put("/_security/role/described", data=json.dumps({"description": "d" * 1000}),
                      headers=JSON).status_code == 200
    before = snapshot()
    message = "Role description must be less than 1000 characters."
    api_validation(client.put("/_security/role/described", data=json.dumps({"description": "d" * 1001}),
                              headers=JSON), message)
    refused(admin.post("/roles/new", data=role_form(name="desc", description="d" * 1001), headers=HTMX),
            before, 422, message)


# ---- text no database column can hold ----------------------------------------------------------------

@pytest.mark.parametrize("method, path, body", [
    ("PUT", "/_security/user/nul", {"password": "secret-pw", "roles": [], "full_name": "a\x00b"}),
    ("PUT", "/_security/user/nul", {"password": "secret-pw", "roles": ["a\x00b"]}),
    ("POST", "/_security/api_key", {"name": "a\x00b"}),
    ("POST", "/_security/api_key", {"name": "a\ud800b"}),
])
def test_nul_and_unpaired_surrogates_are_a_400_on_every_database(client, method, path, body):
    before = snapshot()
    error = es_error(client.open(path, method=method, data=json.dumps(body), headers=JSON), 400)
    assert error["reason"] == "text containing the NUL character or an unpaired surrogate can't be stored or " \
                              "searched for"
    assert snapshot() == before


def test_unusable_passwords_and_credentials_are_refused_not_failed(client):
    before = snapshot()
    body = json.dumps({"password": "secret\ud800pw", "roles": []})
    api_validation(client.put("/_security/user/surrogate", data=body, headers=JSON),
                   "passwords may not contain unpaired surrogates (invalid Unicode)")
    assert snapshot() == before
    for header in ("ApiKey " + base64.b64encode(b"a\x00b:secret").decode(), "Basic "
                   + base64.b64encode(b"a\x00b:secret").decode()):
        response = client.get("/_security/_authenticate", headers={"Authorization": header})
        assert es_error(response, 401)["type"] == "security_exception"
    assert snapshot(include_audit=False) == {k: v for k, v in before.items() if k != "AuditEvent"}


def test_a_long_or_nul_username_at_sign_in_is_a_failed_sign_in_and_is_audited(client, auth):
    for username in ("x" * 5000, "a\x00b"):
        before = snapshot(include_audit=False)
        response = auth.login(username, "whatever")
        assert response.status_code == 401 and "Wrong username or password" in text_of(response)
        assert snapshot(include_audit=False) == before
    with database.connection_context():
        targets = [event.target_id for event in AuditEvent.select().where(AuditEvent.action == "login")]
        assert "x" * 1024 in targets and "a\ufffdb" in targets


def test_the_limits_leave_real_descriptors_alone(client):
    """A role as large as real ones get: many index entries, field security, a document query, metadata."""
    role = {"cluster": ["monitor", "manage_own_api_key"], "run_as": ["svc"],
            "indices": [{"names": [f"logs-{n}-*"], "privileges": ["read", "view_index_metadata"],
                         "field_security": {"grant": ["*"], "except": ["secret"]},
                         "query": json.dumps({"bool": {"filter": [{"term": {"team": f"t{n}"}}]}})}
                        for n in range(50)],
            "metadata": {"owner": "ops", "tags": [f"t{n}" for n in range(200)]}}
    assert client.put("/_security/role/real", data=json.dumps(role), headers=JSON).status_code == 200
    with database.connection_context():
        assert len(Role.get(Role.name == "real").descriptor["indices"]) == 50


def bool_query(levels):
    query = {"match_all": {}}
    for _ in range(levels):
        query = {"bool": {"must": [query]}}
    return {"query": query}


def test_the_depth_limit_leaves_room_for_the_deepest_query_the_query_api_takes(client):
    deepest = client.post("/_security/_query/api_key", data=json.dumps(bool_query(20)), headers=JSON)
    assert deepest.status_code == 200, deepest.get_data(as_text=True)
    error = es_error(client.post("/_security/_query/api_key", data=json.dumps(bool_query(21)), headers=JSON), 400)
    assert error["reason"] == "the query is nested more than 20 levels deep"  # the Query API's own message
