"""Creating keys in Chromium: the dialog, the show-once panel, the format switch, copying, and who may."""

import base64
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import USER_PASSWORD
from webapp.model.db import database
from webapp.services.access.system import system_subject
from webapp.services.admin import license
from webapp.services.admin.users import create_native_user
from webapp.services.api_keys import commands as api_keys


@pytest.fixture
def users(app):
    with database.connection_context():
        create_native_user(system_subject(), "alice", USER_PASSWORD, ["api_key_user"])
        create_native_user(system_subject(), "reader", USER_PASSWORD, ["security_viewer"])
        create_native_user(system_subject(), "nobody", USER_PASSWORD, [])


def test_create_then_switch_format_copy_and_use_the_key(page, login, live_server, users):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    login("alice")
    page.goto("/keys/")
    expect(page.get_by_role("heading", name="No API keys yet")).to_be_visible()
    page.get_by_role("button", name="Create API key").first.click()
    dialog = page.get_by_role("dialog", name="Create API key")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill("ci-deploy")
    dialog.get_by_label("Add expiration date").check()
    dialog.get_by_label("Expires in (days)").fill("10")
    expect(dialog.get_by_text(re.compile(r"Expires on \d{4}-\d\d-\d\d"))).to_be_visible()
    dialog.get_by_role("button", name="Create API key").click()

    expect(page.get_by_role("heading", name="Created API key 'ci-deploy'")).to_be_visible()
    expect(dialog).to_be_hidden()
    row = page.get_by_role("row", name=re.compile("ci-deploy"))
    expect(row).to_contain_text("Just now")
    expect(row).to_contain_text(re.compile(r"Expires in (9|10) days"))

    field = page.get_by_label("API key", exact=True)
    encoded = field.input_value()
    key_id, secret = base64.b64decode(encoded).decode().split(":")
    assert len(key_id) == 20 and len(secret) == 22
    expect(page.get_by_label("Try it")).to_have_value(
        f'curl -H "Authorization: ApiKey {encoded}" {live_server}/_security/_authenticate')
    page.get_by_label("Format").select_option("Beats")
    expect(field).to_have_value(f"{key_id}:{secret}")
    page.get_by_label("Format").select_option("Logstash")
    expect(field).to_have_value(f"{key_id}:{secret}")
    page.get_by_label("Format").select_option("Encoded")
    expect(field).to_have_value(encoded)
    page.get_by_role("button", name="Copy").first.click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == encoded

    # The key works against the JSON API, and the page never shows the secret again.
    answer = page.request.get("/_security/_authenticate", headers={"Authorization": f"ApiKey {encoded}"})
    assert answer.status == 200 and answer.json()["username"] == "alice"
    page.reload()
    expect(page.get_by_role("row", name=re.compile("ci-deploy"))).to_be_visible()
    assert encoded not in page.content()


def test_errors_keep_the_dialog_open_with_the_input(page, login, users):
    login("alice")
    page.goto("/keys/")
    page.get_by_role("button", name="Create API key").first.click()
    dialog = page.get_by_role("dialog", name="Create API key")
    dialog.get_by_label("Name").fill("_hidden")
    dialog.get_by_label("Control security privileges").check()
    descriptors = dialog.get_by_label("Role descriptors")
    expect(descriptors).to_have_value(re.compile('"api_key_user"'))  # prefilled with the caller's roles
    dialog.get_by_role("button", name="Read-only").click()
    expect(descriptors).to_have_value(re.compile('"read-only-role"'))
    descriptors.fill("{not json")
    dialog.get_by_label("Add metadata").check()
    dialog.get_by_label("Metadata", exact=True).fill('{"_x": 1}')
    dialog.get_by_role("button", name="Create API key").click()
    expect(dialog.get_by_text("api key name may not begin with an underscore")).to_be_visible()
    expect(dialog.get_by_text(re.compile("Enter valid JSON"))).to_be_visible()
    expect(dialog.get_by_text("API key metadata keys may not start with [_]")).to_be_visible()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Name")).to_have_value("_hidden")
    expect(dialog.get_by_label("Role descriptors")).to_have_value("{not json")
    dialog.get_by_label("Name").fill("fixed")
    dialog.get_by_label("Role descriptors").fill('{"ro": {"cluster": []}}')
    dialog.get_by_label("Metadata", exact=True).fill('{"team": "ops"}')
    dialog.get_by_role("button", name="Create API key").click()
    expect(page.get_by_role("heading", name="Created API key 'fixed'")).to_be_visible()
    dialog_cancel = page.get_by_role("button", name="Create API key").first
    dialog_cancel.click()
    expect(dialog.get_by_label("Name")).to_have_value("")  # a fresh form for the next key
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()


def test_cross_cluster_keys_for_manage_security_with_a_trial(page, login, app):
    with database.connection_context():
        license.set_license(system_subject(), "trial")
    login("elastic")
    page.goto("/keys/")
    page.get_by_role("button", name="Create API key").first.click()
    dialog = page.get_by_role("dialog", name="Create API key")
    expect(dialog.get_by_label("Role descriptors")).to_be_hidden()
    dialog.get_by_label("Cross-cluster API key").check()
    expect(dialog.get_by_label("Control security privileges")).to_be_hidden()
    expect(dialog.get_by_label("Access")).to_have_value(re.compile('"replication"'))
    dialog.get_by_label("Name").fill("remote")
    dialog.get_by_role("button", name="Create API key").click()
    expect(page.get_by_role("row", name=re.compile("remote"))).to_contain_text("Cross-cluster")


def test_without_create_rights_there_is_nothing_to_create(page, login, app, users):
    with database.connection_context():
        from webapp.model import User
        from webapp.services.access.authentication import subject_for_user

        alice = subject_for_user(User.get(User.username == "alice"), "session")
        api_keys.create_api_key(alice, name="alices")
    login("reader")
    page.goto("/keys/")
    expect(page.get_by_text("your roles don't let you create, change or delete them")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("alices"))).to_be_visible()
    expect(page.get_by_role("button", name="Create API key")).to_have_count(0)
    table = page.get_by_role("table", name="API keys")
    expect(table.get_by_role("row", name=re.compile("alices"))).to_be_visible()
    expect(table.get_by_role("checkbox")).to_have_count(0)  # nothing to select (the filters keep theirs)
    expect(page.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)
    page.get_by_role("link", name="alices").click()
    details = page.get_by_role("dialog", name="API key details")
    expect(details.get_by_role("heading", name="API key details")).to_be_visible()
    expect(details.get_by_text("only its owner can change it")).to_be_visible()
    expect(details.get_by_role("button", name="Update API key")).to_have_count(0)
    response = page.goto("/keys/new")
    assert response.status == 403


def test_no_privileges_no_page(page, login, users):
    login("nobody")
    response = page.goto("/keys/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You don't have permission")).to_be_visible()
