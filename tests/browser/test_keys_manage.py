"""Details, update and delete in Chromium, and what an own-keys-only user sees."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_out
from tests.conftest import USER_PASSWORD
from webapp.model import ApiKey, User
from webapp.model.db import database
from webapp.services.access.authentication import subject_for_user
from webapp.services.access.system import system_subject
from webapp.services.admin import roles, users
from webapp.services.admin.users import create_native_user
from webapp.services.api_keys import commands as api_keys


def _subject(name):
    return subject_for_user(User.get(User.username == name), "session")


@pytest.fixture
def alice_and_bob(app):
    with database.connection_context():
        roles.put_role(system_subject(), "deployer", {"cluster": ["manage_own_api_key", "monitor"]})
        create_native_user(system_subject(), "alice", USER_PASSWORD, ["deployer"])
        create_native_user(system_subject(), "bob", USER_PASSWORD, ["api_key_user"])
        for name in ("k1", "k2", "k3"):
            api_keys.create_api_key(_subject("alice"), name=name, metadata={"managed": True} if name == "k3" else {})
        api_keys.create_api_key(_subject("bob"), name="bobs-key")


def test_details_then_update_in_place(page, login, alice_and_bob):
    login("alice")
    page.goto("/keys/")
    page.get_by_role("link", name="k1").click()
    dialog = page.get_by_role("dialog", name="API key details")
    expect(dialog.get_by_role("heading", name="Update API key")).to_be_visible()
    expect(dialog).to_contain_text("Cluster privileges: manage_own_api_key and monitor.")
    expect(dialog.get_by_label("Control security privileges")).not_to_be_checked()
    dialog.get_by_label("Control security privileges").check()
    dialog.get_by_label("Role descriptors").fill('{"monitor-only": {"cluster": ["monitor"]}}')
    dialog.get_by_label("Add metadata").check()
    dialog.get_by_label("Metadata", exact=True).fill("[]")
    dialog.get_by_role("button", name="Update API key").click()
    expect(dialog.get_by_text("The metadata must be a JSON object")).to_be_visible()
    dialog.get_by_label("Metadata", exact=True).fill('{"team": "ops"}')
    dialog.get_by_label("Add expiration date").check()
    dialog.get_by_label("Expires in (days)").fill("5")
    dialog.get_by_role("button", name="Update API key").click()
    expect(dialog.get_by_text("Updated API key 'k1'.")).to_be_visible()
    expect(dialog).to_contain_text("Cluster privileges: monitor.")
    # The table reloaded behind the dialog (keys-changed): k1 now expires.
    dialog.get_by_role("button", name="Close").click()
    expect(page.get_by_role("row", name=re.compile("k1"))).to_contain_text(re.compile(r"Expires in [45] days"))
    with database.connection_context():
        key = ApiKey.get(ApiKey.name == "k1")
        assert key.metadata == {"team": "ops"} and list(key.role_descriptors) == ["monitor-only"]


def test_details_say_when_the_owner_snapshot_is_stale_or_the_owner_disabled(page, login, alice_and_bob):
    with database.connection_context():
        roles.put_role(system_subject(), "deployer", {"cluster": ["manage_own_api_key"]})
    login("alice")
    page.goto("/keys/")
    page.get_by_role("link", name="k2").click()
    dialog = page.get_by_role("dialog", name="API key details")
    expect(dialog.get_by_text("The owner's roles have changed since this key captured them")).to_be_visible()
    dialog.get_by_role("button", name="Update API key").click()
    expect(dialog.get_by_text("Updated API key 'k2'.")).to_be_visible()
    expect(dialog.get_by_text("The owner's roles have changed")).to_have_count(0)
    with database.connection_context():
        users.set_enabled(system_subject(), "bob", False, realm="native")
    dialog.get_by_role("button", name="Close").click()
    sign_out(page)
    login("elastic")
    page.goto("/keys/")
    expect(page.get_by_role("row", name=re.compile("bobs-key"))).to_contain_text(
        "Owner disabled: this key no longer works")
    page.get_by_role("link", name="bobs-key").click()
    expect(page.get_by_role("dialog", name="API key details").get_by_text(
        "has been disabled, so this key no longer authenticates")).to_be_visible()


def test_single_delete_with_confirmation(page, login, alice_and_bob):
    login("alice")
    page.goto("/keys/")
    page.get_by_role("button", name="Delete k1").click()
    dialog = page.get_by_role("dialog", name="Delete API key 'k1'?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("row", name=re.compile("k1"))).to_be_visible()
    page.get_by_role("button", name="Delete k1").click()
    dialog.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Deleted API key 'k1'.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("k1"))).to_have_count(0)
    expect(dialog).to_be_hidden()
    with database.connection_context():
        assert ApiKey.get(ApiKey.name == "k1").invalidated


def test_bulk_delete_with_confirmation_and_managed_warning(page, login, alice_and_bob):
    login("alice")
    page.goto("/keys/")
    bulk = page.locator("[data-bulk-delete]")
    expect(bulk).to_be_hidden()
    page.get_by_label("Select k2").check()
    expect(page.get_by_role("button", name="Delete API key", exact=True)).to_be_visible()
    page.get_by_label("Select k3").check()
    page.get_by_role("button", name="Delete 2 API keys").click()
    dialog = page.get_by_role("dialog", name="Delete 2 API keys?")
    expect(dialog.get_by_role("listitem")).to_have_text(["k3 (managed)", "k2"])
    expect(dialog.get_by_text("Managed keys selected")).to_be_visible()
    dialog.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Deleted 2 API keys.")).to_be_visible()
    expect(page.locator("#key-table tbody tr")).to_have_count(1)
    page.get_by_label("Select all").check()
    expect(page.get_by_role("button", name="Delete API key", exact=True)).to_be_visible()
    page.get_by_label("Select all").uncheck()
    expect(bulk).to_be_hidden()


def test_own_keys_only_user(page, login, alice_and_bob):
    login("bob")
    page.goto("/keys/")
    expect(page.get_by_text("You only see your own API keys")).to_be_visible()
    expect(page.locator("#key-table-total")).to_have_text("1 API key")
    expect(page.get_by_role("row", name=re.compile("bobs-key"))).to_be_visible()
    expect(page.get_by_role("columnheader", name="Owner")).to_have_count(0)
    expect(page.get_by_label("Status")).not_to_contain_text("Invalidated")
    page.get_by_label("Search API keys").fill("owner:alice")
    expect(page.get_by_role("heading", name="No API keys match")).to_be_visible()
    with database.connection_context():
        alices = ApiKey.get(ApiKey.name == "k1").id
    assert page.goto(f"/keys/{alices}").status == 404
