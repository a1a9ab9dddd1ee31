"""Rotating keys in Chromium: one from its details, several from the list, the grace window on both rows, and the
old key working until the window ends (the app's clock moved by the test, webapp.clock, never a sleep)."""

import base64
import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import USER_PASSWORD
from webapp.model import ApiKey, User
from webapp.model.db import database
from webapp.services.access.authentication import subject_for_user
from webapp.services.access.system import system_subject
from webapp.services.admin import roles
from webapp.services.admin.users import create_native_user
from webapp.services.api_keys import commands as api_keys

HOUR_MS = 3_600_000


@pytest.fixture
def alice_keys(app):
    """alice with three keys; returns {name: CreatedKey}."""
    with database.connection_context():
        roles.put_role(system_subject(), "deployer", {"cluster": ["manage_own_api_key", "monitor"]})
        create_native_user(system_subject(), "alice", USER_PASSWORD, ["deployer"])
        alice = subject_for_user(User.get(User.username == "alice"), "session")
        return {name: api_keys.create_api_key(alice, name=name, expiration="10d") for name in ("web", "jobs", "cron")}


def move_clock(monkeypatch, ms):
    import webapp.clock

    monkeypatch.setattr(webapp.clock, "_shift_ms", webapp.clock._shift_ms + ms)


def authenticates(page, encoded):
    """The status GET /_security/_authenticate answers the credential (from the browser's side of the wire)."""
    return page.request.get("/_security/_authenticate", headers={"Authorization": f"ApiKey {encoded}"}).status


def test_rotate_one_key_from_its_details_then_the_old_one_stops(page, login, alice_keys, monkeypatch):
    old = alice_keys["web"]
    login("alice")
    page.goto("/keys/")
    page.get_by_role("link", name="web").click()
    dialog = page.get_by_role("dialog", name="API key details")
    dialog.get_by_label("Old key keeps working for").select_option(label="1 hour")
    dialog.get_by_role("button", name="Rotate API key").click()
    # The details close; the panel shows the new key once, with the old key's end.
    expect(dialog).to_be_hidden()
    panel = page.locator("#created-key")
    expect(panel.get_by_role("heading", name="Rotated API key 'web'")).to_be_visible()
    expect(panel).to_contain_text(f"replaces {old.id}, which keeps working until")
    credential = panel.get_by_label("API key")
    expect(credential).to_be_focused()
    encoded = credential.input_value()
    new_id = base64.b64decode(encoded).decode().partition(":")[0]
    panel.get_by_label("Format").select_option("beats")
    expect(credential).to_have_value(re.compile(rf"^{new_id}:"))
    # Both rows say the window is open; each key's details link to the other.
    for row_id in (old.id, new_id):
        expect(page.locator(f"#key-{row_id}")).to_contain_text(
            re.compile(r"Rotating — old key stops in (59 minutes|1 hour)"))
    page.locator(f"#key-{new_id}").get_by_role("link", name="web").click()
    expect(dialog.get_by_text("Rotated from")).to_be_visible()
    dialog.get_by_role("link", name="web").click()
    expect(dialog.get_by_text(re.compile(r"Replaced by\s*$"))).to_be_visible()
    expect(dialog.locator("[data-replaced-by]")).to_contain_text(f"web ({new_id}), stops working at")
    expect(dialog.get_by_role("button", name="Rotate API key")).to_have_count(0)
    # The old key works in the window, and is refused once it has ended; the new one goes on.
    assert authenticates(page, old.encoded) == 200 and authenticates(page, encoded) == 200
    move_clock(monkeypatch, HOUR_MS + 1000)
    assert authenticates(page, old.encoded) == 401 and authenticates(page, encoded) == 200
    login("alice")  # an hour without a request ended the session too
    page.goto("/keys/")
    expect(page.locator(f"#key-{old.id}")).to_contain_text("Expired")
    expect(page.get_by_text("Rotating")).to_have_count(0)


def test_a_refused_rotation_is_a_message_in_the_details(page, login, alice_keys):
    login("alice")
    page.goto(f"/keys/{alice_keys['jobs'].id}")
    with database.connection_context():  # meanwhile, somewhere else, the key is invalidated
        ApiKey.update(invalidated=True).where(ApiKey.id == alice_keys["jobs"].id).execute()
    page.get_by_role("button", name="Rotate API key").click()
    expect(page.get_by_role("alert")).to_have_text("This key has been invalidated and can no longer be changed.")
    expect(page.locator("#created-key")).to_be_hidden()


def test_bulk_rotation_shows_every_key_once_with_a_download(page, login, alice_keys):
    login("alice")
    page.goto("/keys/")
    rotate = page.locator("[data-bulk-rotate]")
    expect(rotate).to_be_hidden()
    page.get_by_label("Select web").check()
    page.get_by_label("Select jobs").check()
    page.get_by_role("button", name="Rotate 2 API keys").click()
    dialog = page.get_by_role("dialog", name="Rotate 2 API keys?")
    expect(dialog.get_by_role("listitem")).to_have_text(["jobs", "web"])
    dialog.get_by_label("Old keys keep working for").select_option(label="7 days")
    dialog.get_by_role("button", name="Rotate", exact=True).click()
    expect(dialog).to_be_hidden()
    panel = page.locator("#created-key")
    expect(panel.get_by_role("heading", name="Rotated 2 API keys")).to_be_visible()
    expect(panel.get_by_role("textbox")).to_have_count(2)
    expect(panel.get_by_role("textbox").first).to_be_focused()
    shown = {box.input_value() for box in panel.get_by_role("textbox").all()}
    with page.expect_download() as caught:
        panel.get_by_role("button", name="Download all as CSV").click()
    download = caught.value
    assert download.suggested_filename == "rotated-api-keys.csv"
    with open(download.path(), encoding="utf-8") as file:
        rows = list(csv.DictReader(io.StringIO(file.read())))
    assert {row["encoded"] for row in rows} == shown and {row["name"] for row in rows} == {"web", "jobs"}
    assert {row["replaces"] for row in rows} == {alice_keys["web"].id, alice_keys["jobs"].id}
    for row in rows:
        assert authenticates(page, row["encoded"]) == 200
    # Four rows in their window now (two old, two new), and the untouched key.
    expect(page.locator("#key-table tbody tr").filter(has_text="Rotating — old key stops in 6 days")).to_have_count(4)
    expect(page.locator("#key-table tbody tr").filter(has_text="cron")).not_to_contain_text("Rotating")
    # A key already replaced can't be picked for another rotation; the copy button copies.
    expect(page.locator(f'input[value="{alice_keys["web"].id}"][data-rotatable]')).to_have_count(0)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    panel.get_by_role("button", name="Copy the key for jobs").click()
    expect(panel.get_by_role("status")).to_have_text("Copied to the clipboard.")
