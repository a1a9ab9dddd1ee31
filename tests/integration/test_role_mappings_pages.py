"""The role mappings pages over HTTP: who sees what, the rule builder's buttons through the real form, the JSON
view validated by the same service, deleting, and bad input answered without a server error."""

import json

import pytest

from tests.conftest import ELASTIC_PASSWORD
from tests.integration.test_roles_pages import form_fields, sign_in
from webapp.model import RoleMapping
from webapp.services.access.system import system_subject
from webapp.services.admin import role_mappings

HTMX = {"HX-Request": "true"}


@pytest.fixture
def elastic(client, auth):
    sign_in(client, auth, "elastic", ELASTIC_PASSWORD)
    return client


def _press(client, url, html, intent, **changes):
    fields, buttons = form_fields(html, "mapping-editor")
    assert ("intent", intent) in buttons, f"no {intent} button"
    for name, value in changes.items():
        fields.setlist(name, [value] if isinstance(value, str) else value)
    fields["intent"] = intent
    return client.post(url, data=fields, headers=HTMX)


@pytest.mark.parametrize("roles_held, list_status, create_status", [
    (["security_viewer"], 200, 403), (["security_admin"], 200, 200), (["api_key_user"], 403, 403)])
def test_who_may_see_and_change_mappings(client, auth, make_user, roles_held, list_status, create_status):
    make_user("someone", roles_held)
    sign_in(client, auth, "someone")
    assert client.get("/role-mappings/").status_code == list_status
    assert client.get("/role-mappings/new").status_code == create_status
    nav = client.get("/account/").get_data(as_text=True)
    assert ('href="/role-mappings/"' in nav) is (list_status == 200)


def test_create_with_the_builder_edit_as_json_and_delete(elastic, db):
    page = elastic.get("/role-mappings/new").get_data(as_text=True)
    added = _press(elastic, "/role-mappings/new", page, "add-rule", name="ops", roles="security_viewer, api_key_user",
                   value_0="ops")
    assert added.status_code == 200 and 'id="value-1"' in added.get_data(as_text=True)
    saved = _press(elastic, "/role-mappings/new", added.get_data(as_text=True), "save", match="all",
                   field_1="username", value_1="adm-*")
    assert saved.status_code == 200 and saved.headers["HX-Redirect"] == "/role-mappings/"
    assert RoleMapping.by_name("ops").body == {
        "enabled": True, "roles": ["security_viewer", "api_key_user"],
        "rules": {"all": [{"field": {"groups": "ops"}}, {"field": {"username": "adm-*"}}]}, "metadata": {}}
    listing = elastic.get("/role-mappings/").get_data(as_text=True)
    assert "security_viewer, api_key_user" in listing and "groups is “ops” and username is like “adm-*”" in listing
    edit = elastic.get("/role-mappings/edit?name=ops").get_data(as_text=True)
    as_json = _press(elastic, "/role-mappings/edit?name=ops", edit, "to-json")
    text = form_fields(as_json.get_data(as_text=True), "mapping-editor")[0]["mapping_json"]
    body = json.loads(text)
    body["rules"] = {"any": [{"field": {"groups": ["ops", "dev"]}}]}
    bad = _press(elastic, "/role-mappings/edit?name=ops", as_json.get_data(as_text=True), "save",
                 mapping_json='{"enabled": true, "roles": ["a"], "rules": {"nope": 1}}')
    assert bad.status_code == 422 and "unknown rule [nope]" in bad.get_data(as_text=True)
    broken = _press(elastic, "/role-mappings/edit?name=ops", as_json.get_data(as_text=True), "save",
                    mapping_json="{")
    assert broken.status_code == 422 and "The JSON is not valid" in broken.get_data(as_text=True)
    done = _press(elastic, "/role-mappings/edit?name=ops", as_json.get_data(as_text=True), "save",
                  mapping_json=json.dumps(body))
    assert done.status_code == 200 and RoleMapping.by_name("ops").body["rules"] == body["rules"]
    # A list value doesn't fit the builder: the editor opens as JSON.
    assert 'id="mapping-json"' in elastic.get("/role-mappings/edit?name=ops").get_data(as_text=True)
    dialog = elastic.get("/role-mappings/delete?name=ops", headers=HTMX).get_data(as_text=True)
    assert "data-open-dialog" in dialog and "Delete role mapping ops?" in dialog
    gone = elastic.post("/role-mappings/delete", data={"name": "ops"})
    assert gone.status_code == 303 and RoleMapping.by_name("ops") is None
    assert elastic.post("/role-mappings/delete", data={"name": "ops"}).status_code == 404


def test_builder_problems_are_shown_beside_their_fields(elastic, db):
    page = elastic.get("/role-mappings/new").get_data(as_text=True)
    answer = _press(elastic, "/role-mappings/new", page, "save", name="", roles="")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "role-mapping name is missing" in html and "role-mapping roles or role-templates are missing" in html
    role_mappings.put_role_mapping(system_subject(), "taken", {"enabled": True, "roles": ["r"], "rules": {"any": []}})
    again = _press(elastic, "/role-mappings/new", page, "save", name="taken", roles="r")
    assert again.status_code == 422 and "role mapping [taken] already exists" in again.get_data(as_text=True)


def test_templates_open_as_json_and_readers_see_json(client, auth, make_user, db):
    role_mappings.put_role_mapping(system_subject(), "self", {
        "enabled": True, "role_templates": [{"template": {"source": "{{username}}"}, "format": "string"}],
        "rules": {"field": {"realm.name": "proxy"}}})
    make_user("reader", ["security_viewer"])
    sign_in(client, auth, "reader")
    page = client.get("/role-mappings/edit?name=self").get_data(as_text=True)
    assert "{{username}}" in page and "<form id=\"mapping-editor\"" not in page
    assert "from templates: {{username}}" in client.get("/role-mappings/").get_data(as_text=True)
    assert client.get("/role-mappings/edit?name=nope").status_code == 404
    found = client.get("/role-mappings/?search=zzz", headers=HTMX).get_data(as_text=True)
    assert "No role mappings match" in found
