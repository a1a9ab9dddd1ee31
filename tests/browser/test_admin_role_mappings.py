"""Role mappings in Chromium: create one with the rule builder, edit it as JSON, delete it from the list's
confirmation dialog; the JSON view's problems are shown beside the text area."""

import json
import re

from playwright.sync_api import expect

from webapp.model.db import database
from webapp.services.access.system import system_subject
from webapp.services.admin import role_mappings


def _stored(name):
    with database.connection_context():
        return role_mappings.get_role_mappings(system_subject()).get(name)


def test_create_with_the_builder_edit_as_json_and_delete(page, login):
    login("elastic")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Role mappings").click()
    expect(page.get_by_text("No role mappings yet")).to_be_visible()
    page.get_by_role("button", name="Create role mapping").click()
    page.get_by_label("Mapping name").fill("ops-team")
    page.get_by_label("Roles", exact=True).fill("security_viewer, api_key_user")
    page.get_by_label("Value of rule 1").fill("ops")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_label("Value of rule 2")).to_be_focused()
    page.get_by_label("Field of rule 2").select_option("username")
    page.get_by_label("Value of rule 2").fill("adm-*")
    page.get_by_role("button", name="Add rule").click()
    page.get_by_role("button", name="Remove rule 3").click()
    expect(page.get_by_label("Value of rule 3")).to_have_count(0)
    page.get_by_role("button", name="Create role mapping").click()
    expect(page).to_have_url(re.compile(r"/role-mappings/$"))
    expect(page.locator("#page-message")).to_contain_text("Saved role mapping ops-team.")
    assert _stored("ops-team") == {"enabled": True, "roles": ["security_viewer", "api_key_user"],
                                   "rules": {"any": [{"field": {"groups": "ops"}}, {"field": {"username": "adm-*"}}]},
                                   "metadata": {}}
    table = page.get_by_role("table", name="Role mappings")
    expect(table).to_contain_text("groups is “ops” or username is like “adm-*”")

    table.get_by_role("link", name="Edit ops-team").click()
    page.get_by_role("button", name="Edit as JSON").click()
    text = page.get_by_label("Role mapping as JSON")
    expect(text).to_be_focused()
    body = json.loads(text.input_value())
    body["rules"] = {"any": [{"field": {"groups": "ops"}}], "all": []}
    text.fill(json.dumps(body))
    page.get_by_role("button", name="Save role mapping").click()
    expect(page.locator("#mapping-json-error")).to_contain_text("exactly one of [any, all, field, except]")
    expect(text).to_have_attribute("aria-invalid", "true")
    body["rules"] = {"all": [{"field": {"groups": "ops"}}, {"except": {"field": {"username": "bob"}}}]}
    body["enabled"] = False
    text.fill(json.dumps(body))
    page.get_by_role("button", name="Save role mapping").click()
    expect(page.locator("#page-message")).to_contain_text("Saved role mapping ops-team.")
    assert _stored("ops-team")["rules"]["all"][1] == {"except": {"field": {"username": "bob"}}}
    expect(table).to_contain_text("Disabled")

    table.get_by_role("link", name="Delete ops-team").click()
    dialog = page.get_by_role("dialog", name="Delete role mapping ops-team?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert _stored("ops-team") is not None
    table.get_by_role("link", name="Delete ops-team").click()
    dialog.get_by_role("button", name="Delete role mapping").click()
    expect(page.locator("#page-message")).to_contain_text("Deleted role mapping ops-team.")
    assert _stored("ops-team") is None
