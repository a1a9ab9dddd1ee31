"""The roles pages over HTTP: who sees what, page vs htmx fragment, the editor's buttons, round trips through
the real HTML form, deleting with a warning, and bad input answered without a server error."""

import json
from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import MultiDict

from tests.conftest import USER_PASSWORD
from webapp.model import AuditEvent
from webapp.services.access.system import system_subject
from webapp.services.admin import roles

HTMX = {"HX-Request": "true"}
READ_LOGS = {"cluster": ["manage_own_api_key"], "indices": [{"names": ["logs-*"], "privileges": ["read"]}]}


class _FormReader(HTMLParser):
    """The fields a browser would submit from the form with `form_id` (without any submit button)."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.fields = form_id, False, MultiDict()
        self._textarea = self._select = None
        self.buttons = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields.add(attrs["name"], attrs.get("value", "on"))
            elif kind not in ("submit", "button"):
                self.fields.add(attrs["name"], attrs.get("value", ""))
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = [attrs["name"], ""]
        elif tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields.add(self._select, attrs.get("value", ""))
        elif tag == "button" and attrs.get("name"):
            self.buttons.append((attrs["name"], attrs.get("value", "")))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self.fields.add(name, text[1:] if text.startswith("\n") else text)  # as browsers parse it
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form" and self.inside:
            self.inside = False


def form_fields(html, form_id):
    """(fields as a browser posts them, the submit buttons' (name, value)) of one form in `html`."""
    reader = _FormReader(form_id)
    reader.feed(html)
    return reader.fields, reader.buttons


def sign_in(client, auth, username, password=USER_PASSWORD):
    """Sign in through the form, then send the session's CSRF token with every request, as the pages do."""
    auth.login(username, password)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf_token("/account/")


@pytest.fixture
def admin_login(client, auth, make_user):
    make_user("admin", ["security_admin"])
    sign_in(client, auth, "admin")


def _press(client, url, html, intent, **changes):
    fields, buttons = form_fields(html, "role-editor")
    assert ("intent", intent) in buttons, f"no {intent} button"
    for name, value in changes.items():
        if isinstance(value, list):
            fields.setlist(name, value)
        else:
            fields[name] = value
    fields["intent"] = intent
    return client.post(url, data=fields, headers=HTMX)


# ---------------------------------------------------------------- who may use the pages
@pytest.mark.parametrize("roles_held, list_status, create_status", [
    (["api_key_user"], 403, 403), (["security_viewer"], 200, 403), (["security_admin"], 200, 200)])
def test_who_may_see_and_change_roles(client, auth, make_user, roles_held, list_status, create_status):
    make_user("someone", roles_held)
    sign_in(client, auth, "someone")
    listing = client.get("/roles/")
    assert listing.status_code == list_status
    assert client.get("/roles/new").status_code == create_status
    if list_status == 200:
        has_create = "Create role" in listing.get_data(as_text=True)
        assert has_create == (create_status == 200)


def test_readers_get_the_read_only_view_of_every_role(client, auth, make_user):
    roles.put_role(system_subject(), "log-reader", READ_LOGS)
    make_user("reader", ["security_viewer"])
    sign_in(client, auth, "reader")
    page = client.get("/roles/edit?name=log-reader").get_data(as_text=True)
    assert "Viewing role log-reader" in page and 'id="role-editor"' not in page
    assert "logs-*" in page and "Clone" not in page
    assert client.post("/roles/edit?name=log-reader", data={"intent": "save"}).status_code == 403


def test_reserved_roles_open_read_only_and_refuse_changes(client, auth, admin_login):
    page = client.get("/roles/edit?name=superuser").get_data(as_text=True)
    assert "Viewing role superuser" in page and "built in, so it can't be edited or deleted" in page
    assert 'id="role-editor"' not in page and ">Clone</a>" in page
    response = client.post("/roles/edit?name=superuser", data={"intent": "save", "mode": "json",
                                                               "descriptor_json": "{}"}, headers=HTMX)
    assert response.status_code == 422
    assert "Role [superuser] is reserved and may not be used." in response.get_data(as_text=True)
    assert client.get("/roles/delete?name=superuser").status_code == 400
    assert roles.get_role(system_subject(), "superuser")["cluster"] == ["all"]


# ---------------------------------------------------------------- page vs fragment
def test_list_as_page_and_as_fragment(client, auth, admin_login):
    page = client.get("/roles/")
    assert "<html" in page.get_data(as_text=True) and 'id="role-filters"' in page.get_data(as_text=True)
    fragment = client.get("/roles/?search=api_key", headers=HTMX).get_data(as_text=True)
    assert fragment.startswith('<section id="role-table"') and "<html" not in fragment
    assert "api_key_admin" in fragment and "superuser" not in fragment
    assert "HX-Request" in page.headers["Vary"]
    hidden = client.get("/roles/?reserved=hide", headers=HTMX).get_data(as_text=True)
    assert "No roles match" in hidden and "among the roles you created" in hidden


def test_list_links_keep_search_sort_and_paging(client, auth, admin_login):
    for n in range(27):
        roles.put_role(system_subject(), f"team-{n:02}", READ_LOGS)
    fragment = client.get("/roles/?search=team&reserved=hide&sort=name&order=desc", headers=HTMX)
    html = fragment.get_data(as_text=True)
    assert "Showing 1–25 of 27 roles" in html and html.index("team-26") < html.index("team-02")
    assert "page=2" in html and "search=team" in html and "reserved=hide" in html
    second = client.get("/roles/?search=team&reserved=hide&sort=name&order=desc&page=2", headers=HTMX)
    assert "team-00" in second.get_data(as_text=True) and "Previous page" in second.get_data(as_text=True)


def test_editor_buttons_answer_the_fragment_to_htmx_and_the_page_otherwise(client, auth, admin_login):
    html = client.get("/roles/new").get_data(as_text=True)
    fragment = _press(client, "/roles/new", html, "add-index")
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="role-editor"') and "<html" not in body
    assert "Index privileges 2" in body and 'id="indices-1-names"' in body and "autofocus" in body
    fields, _ = form_fields(html, "role-editor")
    fields["intent"] = "add-index"
    page = client.post("/roles/new", data=fields)
    assert "<html" in page.get_data(as_text=True) and "Index privileges 2" in page.get_data(as_text=True)


# ---------------------------------------------------------------- creating, editing, cloning
def test_create_a_role_through_the_form(client, auth, admin_login):
    html = client.get("/roles/new").get_data(as_text=True)
    response = _press(client, "/roles/new", html, "save", name="log-reader", description="Reads logs",
                      cluster=["manage_own_api_key"], **{"indices-0-names": "logs-*, audit",
                                                         "indices-0-privileges": ["read", "view_index_metadata"]})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/roles/"
    assert roles.get_role(system_subject(), "log-reader") == {
        "cluster": ["manage_own_api_key"],
        "indices": [{"names": ["logs-*", "audit"], "privileges": ["read", "view_index_metadata"],
                     "allow_restricted_indices": False}],
        "applications": [], "run_as": [], "metadata": {}, "transient_metadata": {"enabled": True},
        "description": "Reads logs"}
    listing = client.get("/roles/").get_data(as_text=True)
    assert "Saved role log-reader." in listing


def test_without_javascript_saving_redirects_with_303(client, auth, admin_login):
    html = client.get("/roles/new").get_data(as_text=True)
    fields, _ = form_fields(html, "role-editor")
    fields["name"], fields["intent"] = "plain", "save"
    response = client.post("/roles/new", data=fields)
    assert response.status_code == 303 and response.headers["Location"] == "/roles/"


def test_problems_are_shown_beside_their_fields_and_the_input_is_kept(client, auth, admin_login):
    html = client.get("/roles/new").get_data(as_text=True)
    response = _press(client, "/roles/new", html, "save", name=" bad", metadata="{oops", cluster=["monitor"],
                      cluster_other="make_coffee", **{"indices-0-names": "logs-*"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="role-editor"')
    for field_id, message in [("name", "Leading or trailing whitespace is not allowed."),
                              ("metadata", "Enter the metadata as a JSON object"),
                              ("indices-0-privileges", "Choose at least one privilege for these indices.")]:
        assert f'id="{field_id}-error"' in body and message in body
    assert 'value=" bad"' in body and "{oops" in body and 'value="make_coffee"' in body
    assert 'aria-invalid="true" aria-describedby="name-error"' in body
    # Fix those; Elasticsearch's own rules then speak.
    fields, _ = form_fields(body, "role-editor")
    for name, value in {"name": "ok", "metadata": "", "indices-0-privileges": "read", "intent": "save"}.items():
        fields[name] = value
    response = client.post("/roles/new", data=fields, headers=HTMX)
    assert response.status_code == 422
    assert "unknown cluster privilege [make_coffee]. a privilege must be either one of the predefined cluster " \
           "privilege names" in response.get_data(as_text=True)


def test_create_refuses_an_existing_or_reserved_name(client, auth, admin_login):
    roles.put_role(system_subject(), "taken", READ_LOGS)
    html = client.get("/roles/new").get_data(as_text=True)
    for name, message in [("taken", "Role [taken] already exists and cannot be created."),
                          ("viewer", "Role [viewer] is reserved and may not be used.")]:
        response = _press(client, "/roles/new", html, "save", name=name)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert roles.get_role(system_subject(), "taken")["cluster"] == ["manage_own_api_key"]


def test_edit_keeps_the_name_and_round_trips_through_the_real_form(client, auth, admin_login):
    descriptor_in = {
        "description": "Line one\nline two", "cluster": ["monitor", "manage_own_api_key", "cluster:admin/xpack/ml/*"],
        "indices": [{"names": ["logs-*", "/reg[ex]+/"], "privileges": ["write", "read", "indices:data/read/*"],
                     "field_security": {"grant": ["*"], "except": ["secret.*"]},
                     "query": '{"term": {"team": "ops"}}', "allow_restricted_indices": True},
                    {"names": ["metrics"], "privileges": ["read"]}],
        "applications": [{"application": "app", "privileges": ["read"], "resources": ["*"]}],
        "run_as": ["bot"], "metadata": {"team": {"name": "ops", "size": 3}}}
    roles.put_role(system_subject(), "rich", descriptor_in)
    stored = roles.get_role(system_subject(), "rich")
    url = "/roles/edit?name=rich"
    html = client.get(url).get_data(as_text=True)
    assert 'readonly aria-describedby="name-help"' in html
    response = _press(client, url, html, "save", name="renamed")  # the URL's name wins; it can't change
    assert response.headers["HX-Redirect"] == "/roles/"
    assert roles.get_role(system_subject(), "rich") == stored
    assert "renamed" not in roles.get_roles(system_subject())
    # The JSON view shows exactly the stored descriptor, and saving it unchanged changes nothing.
    json_view = _press(client, url, client.get(url).get_data(as_text=True), "to-json").get_data(as_text=True)
    fields, _ = form_fields(json_view, "role-editor")
    assert json.loads(fields["descriptor_json"]) == stored and fields["mode"] == "json"
    _press(client, url, json_view, "save")
    assert roles.get_role(system_subject(), "rich") == stored
    # And back to the form, unchanged too.
    back = _press(client, url, json_view, "to-form").get_data(as_text=True)
    _press(client, url, back, "save")
    assert roles.get_role(system_subject(), "rich") == stored


def test_edit_as_json_saves_what_was_typed(client, auth, admin_login):
    roles.put_role(system_subject(), "r", READ_LOGS)
    url = "/roles/edit?name=r"
    json_view = _press(client, url, client.get(url).get_data(as_text=True), "to-json").get_data(as_text=True)
    typed = {"cluster": ["monitor"], "indices": [], "metadata": {"v": 2}, "description": "typed"}
    response = _press(client, url, json_view, "save", descriptor_json=json.dumps(typed))
    assert response.headers.get("HX-Redirect") == "/roles/"
    assert roles.get_role(system_subject(), "r") == {**roles.parse_role("r", typed)}
    bad = _press(client, url, json_view, "save", descriptor_json='{"cluster": ["monitor"], "colour": "red"}')
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert 'id="descriptor_json-error"' not in body and 'id="descriptor-json-error"' in body
    assert "failed to parse role [r]. unexpected field [colour]" in body and "colour" in body


def test_remove_an_index_row(client, auth, admin_login):
    roles.put_role(system_subject(), "two", {"indices": [{"names": ["a"], "privileges": ["read"]},
                                                         {"names": ["b"], "privileges": ["write"]}]})
    url = "/roles/edit?name=two"
    after = _press(client, url, client.get(url).get_data(as_text=True), "remove-index-0").get_data(as_text=True)
    _press(client, url, after, "save")
    assert roles.get_role(system_subject(), "two")["indices"] == [
        {"names": ["b"], "privileges": ["write"], "allow_restricted_indices": False}]


def test_clone_starts_from_a_copy_with_the_name_cleared(client, auth, admin_login):
    html = client.get("/roles/new?clone=api_key_user").get_data(as_text=True)
    fields, _ = form_fields(html, "role-editor")
    assert fields["name"] == "" and fields.getlist("cluster") == ["manage_own_api_key"]
    assert fields["metadata"] == ""  # the reserved marker is not copied
    response = _press(client, "/roles/new", html, "save", name="my_key_user")
    assert response.headers["HX-Redirect"] == "/roles/"
    copy = roles.get_role(system_subject(), "my_key_user")
    assert copy["cluster"] == ["manage_own_api_key"] and copy["metadata"] == {}
    assert client.get("/roles/new?clone=ghost").status_code == 404


def test_editing_your_own_admin_role_away_asks_for_confirmation(client, auth, make_user):
    roles.put_role(system_subject(), "admins", {"cluster": ["manage_security"]})
    make_user("me", ["admins"])
    sign_in(client, auth, "me")
    url = "/roles/edit?name=admins"
    html = client.get(url).get_data(as_text=True)
    warned = _press(client, url, html, "save", cluster=["monitor"])
    assert warned.status_code == 422
    body = warned.get_data(as_text=True)
    assert "you would lose the manage_security privilege" in body and 'name="confirm_lockout"' in body
    assert roles.get_role(system_subject(), "admins")["cluster"] == ["manage_security"]
    confirmed = _press(client, url, body, "save", cluster=["monitor"], confirm_lockout="on")
    assert confirmed.headers["HX-Redirect"] == "/account/"
    assert "You no longer administer security." in client.get("/account/").get_data(as_text=True)
    assert client.get("/roles/").status_code == 403  # as announced


# ---------------------------------------------------------------- deleting
def test_delete_warns_with_the_number_of_holders(client, auth, admin_login, make_user):
    roles.put_role(system_subject(), "log-reader", READ_LOGS)
    make_user("u1", ["log-reader"])
    make_user("u2", ["log-reader"])
    fragment = client.get("/roles/delete?name=log-reader&next=/roles/?search=log", headers=HTMX)
    body = fragment.get_data(as_text=True)
    assert body.startswith('<div id="role-delete" data-open-dialog>')
    assert "2 users hold this role (u1@native, u2@native)" in body and 'formmethod="dialog"' in body
    page = client.get("/roles/delete?name=log-reader").get_data(as_text=True)
    assert "<html" in page and 'href="/roles/" role="button"' in page  # a plain Cancel link without JavaScript
    response = client.post("/roles/delete", data={"name": "log-reader", "next": "/roles/?search=log"})
    assert response.status_code == 303 and response.headers["Location"] == "/roles/?search=log"
    assert "log-reader" not in roles.get_roles(system_subject())
    assert "Deleted role log-reader." in client.get("/roles/?search=log").get_data(as_text=True)
    event = AuditEvent.get(AuditEvent.action == "role.delete")
    assert event.before["indices"][0]["names"] == ["logs-*"] and event.actor_username == "admin"


def test_delete_never_redirects_off_site(client, auth, admin_login):
    roles.put_role(system_subject(), "gone", READ_LOGS)
    response = client.post("/roles/delete", data={"name": "gone", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/roles/"


def test_deleting_a_missing_role_is_404(client, auth, admin_login):
    assert client.post("/roles/delete", data={"name": "ghost"}).status_code == 404
    assert client.get("/roles/delete?name=ghost").status_code == 404


def test_deleting_your_own_admin_role_needs_the_box_ticked(client, auth, make_user):
    roles.put_role(system_subject(), "admins", {"cluster": ["manage_security"]})
    make_user("me", ["admins"])
    sign_in(client, auth, "me")
    body = client.get("/roles/delete?name=admins", headers=HTMX).get_data(as_text=True)
    assert "without it you lose the" in body and 'name="confirm_lockout"' in body
    refused = client.post("/roles/delete", data={"name": "admins"})
    assert refused.status_code == 422 and "admins" in roles.get_roles(system_subject())
    done = client.post("/roles/delete", data={"name": "admins", "confirm_lockout": "on"})
    assert done.status_code == 303 and done.headers["Location"] == "/account/"
    assert "admins" not in roles.get_roles(system_subject())


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("query", [
    "page=abc&size=-5&sort=%00&order=sideways", "search=" + "x" * 5000, "reserved=maybe&page=99999999999999999999",
    "search=%27%22%3C%3E%25_%5C",
])
def test_odd_list_parameters_never_fail(client, auth, admin_login, query):
    assert client.get(f"/roles/?{query}", headers=HTMX).status_code == 200


@pytest.mark.parametrize("fields", [
    {"index_rows": "-3", "intent": "add-index"}, {"index_rows": "100000", "intent": "save", "name": "x"},
    {"intent": "remove-index-99"}, {"intent": "remove-index-abc"}, {"intent": "to-form", "descriptor_json": "[]"},
    {"intent": "to-json", "metadata": "nope"}, {"kept": "{bad json", "intent": "save", "name": "y"},
    {"intent": "save", "name": "z", "mode": "json", "descriptor_json": '{"indices": "all"}'},
    {"intent": "unheard-of"},
])
def test_odd_editor_posts_never_fail(client, auth, admin_login, fields):
    response = client.post("/roles/new", data=fields, headers=HTMX)
    assert response.status_code in (200, 422, 303) or response.headers.get("HX-Redirect")
    assert response.status_code < 500


def test_a_role_the_form_cant_show_opens_as_json(client, auth, admin_login):
    roles.put_role(system_subject(), "odd", {"run_as": ["smith, john"]})
    html = client.get("/roles/edit?name=odd").get_data(as_text=True)
    fields, buttons = form_fields(html, "role-editor")
    assert fields["mode"] == "json" and ("intent", "to-form") in buttons
    assert "so it opens as JSON" in html
    refused = _press(client, "/roles/edit?name=odd", html, "to-form")
    assert refused.status_code == 422 and "keep editing it as JSON" in refused.get_data(as_text=True)
    _press(client, "/roles/edit?name=odd", html, "save")
    assert roles.get_role(system_subject(), "odd")["run_as"] == ["smith, john"]
