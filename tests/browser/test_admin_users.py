"""User administration, settings and the account page in Chromium, including a second browser for the user
whose session an administrator ends."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import open_account
from tests.conftest import USER_PASSWORD
from webapp.model.db import database
from webapp.services.access.authentication import check_password
from webapp.services.admin import settings


@pytest.fixture
def second_browser(browser, live_server):
    """Another person's browser: its own context, so its own session cookie."""
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def sign_in(username, password=USER_PASSWORD):
        page.goto("/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("navigation", name="Main")).to_contain_text(username)
        return page

    yield sign_in
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_disabling_a_user_ends_their_session_at_their_next_request(page, login, make_user, second_browser):
    make_user("dora", ["api_key_user"])
    theirs = second_browser("dora")
    theirs.goto("/account/")
    expect(theirs.get_by_role("heading", name="Your account")).to_be_visible()

    login("elastic")
    page.goto("/users/")
    page.get_by_label("Search users").fill("dor")
    table = page.get_by_role("table", name="Users")
    expect(table.get_by_role("row")).to_have_count(2)  # the header and dora: swapped in place as typed
    expect(page).to_have_url(re.compile(r"search=dor"))
    table.get_by_role("link", name="dora").click()
    page.get_by_role("button", name="Disable user").click()
    status = page.locator("#user-status")
    expect(status).to_contain_text("Disabled user dora.")
    expect(status.get_by_role("button", name="Enable user")).to_be_visible()

    theirs.reload()
    expect(theirs.get_by_role("button", name="Log in")).to_be_visible()
    theirs.get_by_label("Username").fill("dora")
    theirs.get_by_label("Password").fill(USER_PASSWORD)
    theirs.get_by_role("button", name="Log in").click()
    expect(theirs.get_by_role("alert")).to_contain_text("Wrong username or password, or the account is disabled.")

    status.get_by_role("button", name="Enable user").click()
    expect(status).to_contain_text("Enabled user dora.")
    second_browser("dora")


def test_reset_a_password_and_delete_a_user(page, login, make_user, second_browser):
    make_user("ed")
    theirs = second_browser("ed")
    login("elastic")
    page.goto("/users/edit?username=ed&realm=native")
    section = page.locator("#user-password")
    section.get_by_label("New password", exact=True).fill("short")
    section.get_by_label("Confirm new password").fill("short")
    section.get_by_role("button", name="Reset password").click()
    expect(section.locator(".field-error")).to_have_text("passwords must be at least [6] characters long")
    section.get_by_label("New password", exact=True).fill("long-enough")
    section.get_by_label("Confirm new password").fill("long-enough")
    section.get_by_role("button", name="Reset password").click()
    expect(page.locator("#user-password")).to_contain_text("Their sessions have ended.")
    theirs.reload()
    expect(theirs.get_by_role("button", name="Log in")).to_be_visible()
    with database.connection_context():
        assert check_password("ed", "long-enough")

    page.get_by_role("button", name="Delete user").click()
    dialog = page.get_by_role("dialog", name="Delete user ed?")
    dialog.get_by_role("button", name="Delete user").click()
    expect(page).to_have_url(re.compile(r"/users/$"))
    expect(page.locator("#page-message")).to_contain_text("Deleted user ed.")
    users_table = page.get_by_role("table", name="Users")
    expect(users_table.get_by_role("rowheader", name="elastic")).to_be_visible()
    expect(users_table.get_by_role("rowheader", name="ed", exact=True)).to_have_count(0)


def test_taking_away_your_own_admin_role_asks_first(page, login, make_user):
    make_user("boss", ["security_admin"])
    login("boss")
    page.goto("/users/edit?username=boss&realm=native")
    expect(page.get_by_role("button", name="Disable user")).to_have_count(0)
    page.locator("#role-choices").get_by_label("security_admin").uncheck()
    page.locator("#role-choices").get_by_label("viewer", exact=True).check()
    page.get_by_role("button", name="Save user").click()
    confirm = page.get_by_label("I understand that I lose security administration with these roles")
    expect(confirm).to_be_visible()
    expect(page.locator("#role-choices").get_by_label("viewer", exact=True)).to_be_checked()  # choices kept
    confirm.check()
    page.get_by_role("button", name="Save user").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.locator("#page-message")).to_contain_text("You no longer administer security.")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_have_count(0)


def test_settings_trial_and_api_key_switch(page, login):
    login("elastic")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    license_section = page.locator("#license-settings")
    expect(license_section).to_contain_text("Current level: Basic")
    license_section.get_by_role("button", name="Start trial").click()
    expect(license_section).to_contain_text("30 days left")
    expect(license_section.get_by_role("button", name="Start trial")).to_have_count(0)

    keys = page.locator("#api-key-settings")
    keys.get_by_label("API keys enabled").uncheck()
    keys.get_by_label("Keep invalidated and expired keys for").fill("2 weeks")
    keys.get_by_role("button", name="Save API key settings").click()
    expect(keys.locator("#retention-error")).to_contain_text("failed to parse setting [retention]")
    keys.get_by_label("Keep invalidated and expired keys for").fill("14d")
    keys.get_by_role("button", name="Save API key settings").click()
    expect(keys.get_by_role("status")).to_have_text("Saved. API keys are disabled: existing keys stop authenticating.")
    with database.connection_context():
        assert settings.api_key_settings() == {"enabled": False, "retention": "14d"}


def test_change_your_own_password(page, login, make_user):
    make_user("fiona", ["viewer"])
    login("fiona")
    open_account(page)
    section = page.locator("#account-password")
    section.get_by_label("Current password").fill("not-it")
    section.get_by_label("New password", exact=True).fill("fresh-one")
    section.get_by_label("Confirm new password").fill("fresh-one")
    section.get_by_role("button", name="Change password").click()
    expect(section.locator("#current-password-error")).to_have_text("The current password is not correct.")
    section.get_by_label("Current password").fill(USER_PASSWORD)
    section.get_by_label("New password", exact=True).fill("fresh-one")
    section.get_by_label("Confirm new password").fill("fresh-one")
    section.get_by_role("button", name="Change password").click()
    expect(page.locator("#account-password")).to_contain_text("Your password has been changed.")
    page.reload()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()  # still signed in
