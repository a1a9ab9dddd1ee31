"""Role administration in Chromium: build a role in the editor, give it to a new user, sign in as that user and
use it; edit the role (form and JSON); reserved and read-only views; delete with the holder warning."""

import base64
import json
import re

from playwright.sync_api import expect

from tests.browser.conftest import open_account
from tests.conftest import USER_PASSWORD
from webapp.model import User
from webapp.model.db import database
from webapp.services.access.authentication import subject_for_user
from webapp.services.access.system import system_subject
from webapp.services.admin import roles
from webapp.services.api_keys import commands as api_keys


def _basic(username, password=USER_PASSWORD):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def _stored_role(name):
    with database.connection_context():
        return roles.get_roles(system_subject()).get(name)


def test_a_role_made_in_the_editor_works_for_a_new_user(page, login, browser, live_server):
    login("elastic")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Roles").click()
    page.get_by_role("button", name="Create role").click()
    page.get_by_label("Role name").fill("log_shipper")
    page.get_by_label("Description").fill("Ships logs with its own keys")
    page.get_by_label("Find a cluster privilege").fill("own_api")
    choices = page.locator("#cluster-choices")
    expect(choices.get_by_label("manage_own_api_key")).to_be_visible()
    expect(choices.get_by_label("monitor", exact=True)).to_be_hidden()  # filtered out as you type
    choices.get_by_label("manage_own_api_key").check()
    row = page.get_by_role("group", name="Index privileges 1")
    row.get_by_label("Indices", exact=True).fill("logs-*")
    row.get_by_label("read", exact=True).check()
    page.get_by_role("button", name="Save role").click()
    expect(page).to_have_url(re.compile(r"/roles/$"))
    expect(page.locator("#page-message")).to_contain_text("Saved role log_shipper.")
    role = _stored_role("log_shipper")
    assert role["cluster"] == ["manage_own_api_key"] and role["description"] == "Ships logs with its own keys"
    assert role["indices"] == [{"names": ["logs-*"], "privileges": ["read"], "allow_restricted_indices": False}]

    # A user holding it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    page.get_by_role("button", name="Create user").click()
    page.get_by_label("Username").fill("shipper")
    page.get_by_label("Password", exact=True).fill(USER_PASSWORD)
    page.get_by_label("Confirm password").fill(USER_PASSWORD)
    page.get_by_label("Full name").fill("Log Shipper")
    page.get_by_label("Find a role").fill("log_")
    page.locator("#role-choices").get_by_label("log_shipper").check()
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("heading", name="shipper", exact=True)).to_be_visible()
    expect(page.locator("#page-message")).to_contain_text("Created user shipper.")

    # Signed in as that user (a browser of their own): the keys page opens, the admin pages don't.
    context = browser.new_context(base_url=live_server)
    theirs = context.new_page()
    their_errors = []
    theirs.on("pageerror", lambda error: their_errors.append(str(error)))
    theirs.goto("/login")
    theirs.get_by_label("Username").fill("shipper")
    theirs.get_by_label("Password").fill(USER_PASSWORD)
    theirs.get_by_role("button", name="Log in").click()
    nav = theirs.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="API keys")).to_be_visible()
    expect(nav.get_by_role("link", name="Roles")).to_have_count(0)
    open_account(theirs)
    expect(theirs.get_by_role("table", name=re.compile("Cluster privileges"))).to_contain_text("manage_own_api_key")
    expect(theirs.get_by_role("table", name="Index privileges")).to_contain_text("logs-*")

    # Their key, and someone else's: they see only their own.
    with database.connection_context():
        shipper = subject_for_user(User.get(User.username == "shipper"), "session")
        mine = api_keys.create_api_key(shipper, name="shipper-key")
        elastic = subject_for_user(User.get(User.username == "elastic"), "session")
        api_keys.create_api_key(elastic, name="elastic-key")
    # The Query API filters by what the caller may see (no owner filter asked for).
    listed = theirs.request.post("/_security/_query/api_key", headers=_basic("shipper"), data={})
    assert listed.status == 200
    assert [key["name"] for key in listed.json()["api_keys"]] == ["shipper-key"]
    assert theirs.request.get("/_security/_authenticate",
                              headers={"Authorization": f"ApiKey {mine.encoded}"}).status == 200
    theirs.goto("/keys/")
    expect(theirs.locator("main")).to_contain_text("shipper-key")
    expect(theirs.locator("main")).not_to_contain_text("elastic-key")
    context.close()
    assert their_errors == []


def test_edit_a_role_in_the_form_and_as_json(page, login):
    with database.connection_context():
        roles.put_role(system_subject(), "editable", {"cluster": ["monitor"],
                                                      "indices": [{"names": ["a-*"], "privileges": ["read"]}]})
    login("elastic")
    page.goto("/roles/?search=editable")
    page.get_by_role("link", name="Edit editable").click()
    expect(page.get_by_label("Role name")).to_have_attribute("readonly", "")
    page.get_by_role("button", name="Add index privilege").click()
    second = page.get_by_role("group", name="Index privileges 2")
    expect(second.get_by_label("Indices", exact=True)).to_be_focused()
    second.get_by_label("Indices", exact=True).fill("b-*")
    second.get_by_label("write", exact=True).check()
    page.get_by_role("button", name="Edit as JSON").click()
    editor = page.get_by_label("Role definition as JSON")
    expect(editor).to_be_focused()
    shown = json.loads(editor.input_value())
    assert shown["indices"][1] == {"names": ["b-*"], "privileges": ["write"], "allow_restricted_indices": False}
    shown["description"] = "Edited as JSON"
    editor.fill(json.dumps(shown, indent=2))
    page.get_by_role("button", name="Save role").click()
    expect(page.locator("#page-message")).to_contain_text("Saved role editable.")
    role = _stored_role("editable")
    assert role["description"] == "Edited as JSON" and [e["names"] for e in role["indices"]] == [["a-*"], ["b-*"]]

    # A mistake is shown beside its field and the typing is kept.
    page.goto("/roles/edit?name=editable")
    page.get_by_label("Metadata (JSON)").fill("{not json")
    page.get_by_role("button", name="Save role").click()
    expect(page.get_by_label("Metadata (JSON)")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#metadata-error")).to_contain_text("Enter the metadata as a JSON object")
    expect(page.get_by_label("Metadata (JSON)")).to_have_value("{not json")
    assert "metadata" not in _stored_role("editable") or _stored_role("editable")["metadata"] == {}


def test_reserved_roles_are_read_only(page, login):
    login("elastic")
    page.goto("/roles/")
    table = page.get_by_role("table", name="Roles")
    superuser = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="superuser"))
    expect(superuser).to_contain_text("Reserved")
    expect(superuser.get_by_role("link", name="Delete superuser")).to_have_count(0)
    expect(superuser.get_by_role("link", name="Edit superuser")).to_have_count(0)
    superuser.get_by_role("link", name="View superuser").click()
    expect(page.get_by_role("heading", name="Viewing role superuser")).to_be_visible()
    expect(page.get_by_role("button", name="Save role")).to_have_count(0)
    page.get_by_role("button", name="Clone").click()
    expect(page.get_by_label("Role name")).to_have_value("")
    page.get_by_label("Role name").fill("superuser")
    page.get_by_role("button", name="Save role").click()
    expect(page.locator("#name-error")).to_have_text("Role [superuser] is reserved and may not be used.")
    page.goto("/roles/")
    page.get_by_label("Show reserved roles").uncheck()
    expect(page).to_have_url(re.compile(r"reserved=hide"))
    expect(page.get_by_role("table", name="Roles")).to_have_count(0)
    expect(page.locator("#role-table")).to_contain_text("No roles match among the roles you created.")


def test_security_viewers_get_read_only_pages(page, login, make_user):
    with database.connection_context():
        roles.put_role(system_subject(), "custom", {"cluster": ["monitor"]})
    make_user("auditor", ["security_viewer"])
    make_user("bob", ["custom"])
    login("auditor")
    nav = page.get_by_role("navigation", name="Main")
    # Settings holds one page a viewer may read, the expiry notices, and nothing there can be changed.
    nav.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Expiry notices", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Save notice settings")).to_have_count(0)
    expect(page.get_by_role("button", name="Make a new secret")).to_have_count(0)
    nav.get_by_role("link", name="Roles").click()
    expect(page.get_by_role("button", name="Create role")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile(r"^(Edit|Clone|Delete) "))).to_have_count(0)
    page.get_by_role("link", name="View custom").click()
    expect(page.get_by_text("Read-only: changing roles needs the manage_security privilege.")).to_be_visible()
    nav.get_by_role("link", name="Users").click()
    expect(page.get_by_role("button", name="Create user")).to_have_count(0)
    page.get_by_role("link", name="bob").click()
    expect(page.get_by_role("button", name="Save user")).to_have_count(0)
    expect(page.get_by_role("button", name="Disable user")).to_have_count(0)
    expect(page.get_by_text("custom")).to_be_visible()


def test_delete_a_role_warns_how_many_users_hold_it(page, login, make_user):
    with database.connection_context():
        roles.put_role(system_subject(), "doomed", {"cluster": ["monitor"]})
    make_user("holder1", ["doomed"])
    make_user("holder2", ["doomed"])
    login("elastic")
    page.goto("/roles/?search=doomed")
    page.get_by_role("link", name="Delete doomed").click()
    dialog = page.get_by_role("dialog", name="Delete role doomed?")
    expect(dialog).to_contain_text("2 users hold this role (holder1@native, holder2@native)")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert _stored_role("doomed") is not None
    page.get_by_role("link", name="Delete doomed").click()
    dialog.get_by_role("button", name="Delete role").click()
    expect(page.locator("#page-message")).to_contain_text("Deleted role doomed.")
    expect(page).to_have_url(re.compile(r"/roles/\?search=doomed$"))
    assert _stored_role("doomed") is None
