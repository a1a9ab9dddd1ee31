"""Signing in and out in Chromium."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_out
from tests.conftest import USER_PASSWORD


def test_elastic_logs_in_sees_name_and_realm_and_logs_out(page, login):
    login("elastic")
    expect(page).to_have_url(re.compile(r".*/keys/$"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_contain_text("elastic")
    expect(nav).to_contain_text("(reserved)")
    expect(nav.get_by_role("link", name="API keys")).to_be_visible()
    expect(nav.get_by_role("link", name="Settings")).to_be_visible()
    sign_out(page)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.goto("/keys/")
    expect(page.get_by_label("Username")).to_be_visible()


def test_wrong_password_shows_a_message_and_keeps_the_username(page, login):
    login("elastic", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    expect(page.get_by_label("Username")).to_have_value("elastic")


def test_navigation_shows_only_what_the_user_may_use(page, login, make_user):
    make_user("viewer1", ["api_key_user"])
    login("viewer1")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="API keys")).to_be_visible()
    expect(nav.get_by_role("link", name="Roles")).to_have_count(0)
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)


def test_sign_out_everywhere_ends_this_and_other_browsers_sessions(page, login, browser, live_server, make_user):
    make_user("roamer", ["api_key_user"])
    other = browser.new_context(base_url=live_server)
    laptop = other.new_page()
    laptop.goto("/login")
    laptop.get_by_label("Username").fill("roamer")
    laptop.get_by_label("Password").fill(USER_PASSWORD)
    laptop.get_by_role("button", name="Log in").click()
    expect(laptop).to_have_url(re.compile(r".*/keys/$"))

    login("roamer")
    page.goto("/account/")
    sessions = page.get_by_role("region", name="Sessions")
    expect(sessions).to_contain_text("this one included")
    expect(sessions).to_contain_text("API keys")
    sessions.get_by_role("button", name="Sign out everywhere").click()
    expect(page).to_have_url(re.compile(r".*/login$"))
    expect(page.locator(".notice")).to_contain_text("signed out everywhere: 2 sessions ended")
    page.goto("/account/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    laptop.goto("/account/")
    expect(laptop.get_by_role("button", name="Log in")).to_be_visible()
    other.close()
