"""The role editor's "Application privileges" rows in Chromium: add rows, see a mistake beside its field, remove
a row, save, and find the entries in Elasticsearch's `GET /_security/role`; the read-only view lists them."""

import base64
import json

from playwright.sync_api import expect

from tests.conftest import ELASTIC_PASSWORD


def _elastic():
    return {"Authorization": "Basic " + base64.b64encode(f"elastic:{ELASTIC_PASSWORD}".encode()).decode()}


def test_a_role_with_application_privileges_made_in_the_editor(page, login, live_server):
    login("elastic")
    page.goto("/roles/new")
    page.get_by_label("Role name").fill("dashboards")
    expect(page.get_by_text("No application privileges.")).to_be_visible()
    page.get_by_role("button", name="Add application privilege").click()
    first = page.get_by_role("group", name="Application privileges 1")
    expect(first.get_by_label("Application", exact=True)).to_be_focused()
    first.get_by_label("Application", exact=True).fill("kibana-.kibana")
    first.get_by_label("Privileges", exact=True).fill("feature_discover.read, space_read")
    first.get_by_label("Resources", exact=True).fill("space:default, space:ops")
    page.get_by_role("button", name="Add application privilege").click()
    second = page.get_by_role("group", name="Application privileges 2")
    second.get_by_label("Application", exact=True).fill("ab")  # too short a name: refused, beside the field
    second.get_by_label("Privileges", exact=True).fill("data:read/*")
    page.get_by_role("button", name="Save role").click()
    expect(page.get_by_role("alert").first).to_contain_text("The role was not saved")
    second = page.get_by_role("group", name="Application privileges 2")
    expect(second.get_by_label("Resources", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(second).to_contain_text("Enter at least one resource")
    second.get_by_label("Resources", exact=True).fill("*")
    page.get_by_role("button", name="Save role").click()
    second = page.get_by_role("group", name="Application privileges 2")
    expect(second.get_by_label("Application", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(second).to_contain_text("An application name prefix must be at least 3 characters long (found 'ab')")
    expect(second.get_by_label("Resources", exact=True)).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("group", name="Application privileges 1").get_by_label("Privileges", exact=True)
           ).to_have_value("feature_discover.read, space_read")  # what was typed is kept
    second.get_by_role("button", name="Remove application privileges 2").click()
    expect(page.get_by_role("group", name="Application privileges 2")).to_have_count(0)
    expect(page.get_by_role("button", name="Add application privilege")).to_be_focused()
    page.get_by_role("button", name="Save role").click()
    expect(page.locator("#page-message")).to_contain_text("Saved role dashboards.")

    answer = page.request.get(f"{live_server}/_security/role/dashboards", headers=_elastic())
    assert answer.status == 200
    assert answer.json()["dashboards"]["applications"] == [
        {"application": "kibana-.kibana", "privileges": ["feature_discover.read", "space_read"],
         "resources": ["space:default", "space:ops"]}]

    # The editor shows them again, and the JSON view holds the same entries.
    page.goto("/roles/edit?name=dashboards")
    first = page.get_by_role("group", name="Application privileges 1")
    expect(first.get_by_label("Resources", exact=True)).to_have_value("space:default, space:ops")
    page.get_by_role("button", name="Edit as JSON").click()
    shown = json.loads(page.get_by_label("Role definition as JSON").input_value())
    assert shown["applications"][0]["application"] == "kibana-.kibana"


def test_the_read_only_view_lists_application_privileges(page, login):
    login("elastic")
    page.goto("/roles/edit?name=superuser")  # reserved: shown read-only
    table = page.get_by_role("table", name="Application privileges of superuser")
    expect(table).to_contain_text("*")
    expect(table.get_by_role("columnheader", name="Resources")).to_be_visible()
