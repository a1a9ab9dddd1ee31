"""Usage in Chromium: after N verifications over HTTP, a key's details chart them (the bars' titles and the table
under the chart agree with N); the list's "Not used for 90 days" filter, and deleting what it shows."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.conftest import USER_PASSWORD
from webapp.clock import DAY_MS, now_ms
from webapp.model import ApiKey, User
from webapp.model.db import database
from webapp.services.access.authentication import last_used, subject_for_user
from webapp.services.access.system import system_subject
from webapp.services.admin.users import create_native_user
from webapp.services.api_keys import commands as api_keys

VERIFICATIONS = 6


@pytest.fixture
def keys(app):
    """Alice's keys: "busy" (new), "old-unused" and "older-unused" (created long ago, never used), "used-once"
    (old, but used 10 days ago). Returns {name: encoded credential}."""
    with database.connection_context():
        create_native_user(system_subject(), "alice", USER_PASSWORD, ["api_key_user"])
        alice = subject_for_user(User.get(User.username == "alice"), "session")
        made = {}
        for name, created_days_ago, used_days_ago in (("busy", 1, None), ("old-unused", 100, None),
                                                      ("older-unused", 200, None), ("used-once", 200, 10)):
            created = api_keys.create_api_key(alice, name=name)
            now = now_ms()
            ApiKey.update(creation=now - created_days_ago * DAY_MS,
                          last_used=now - used_days_ago * DAY_MS if used_days_ago else None).where(
                ApiKey.id == created.id).execute()
            made[name] = created.encoded
        return made


def test_the_chart_shows_the_requests_after_verifications(page, login, keys):
    header = {"Authorization": f"ApiKey {keys['busy']}"}
    for _ in range(VERIFICATIONS):
        assert page.request.get("/_security/_authenticate", headers=header).status == 200
    with database.connection_context():
        last_used.flush()  # what the next request after the flush interval, or the worker's exit, does
    login("alice")
    page.goto("/keys/")
    page.get_by_role("link", name="busy").click()
    details = page.get_by_role("dialog", name="API key details")
    today = datetime.now(tz=UTC).strftime("%Y-%m-%d")
    chart = details.get_by_role("img", name=re.compile(r"Requests per day, .* to " + today))
    expect(chart).to_be_visible()
    bars = chart.locator("g.usage-bar")
    expect(bars).to_have_count(30)
    titles = [bars.nth(i).locator("title").text_content() for i in range(30)]
    assert titles[-1] == f"{today}: {VERIFICATIONS} requests"
    assert all(title.endswith(": 0 requests") for title in titles[:-1])
    today_bar = bars.nth(29).locator("rect.usage-fill")
    assert float(today_bar.get_attribute("height")) > 90  # the busiest day fills the chart
    expect(details.locator(".usage-summary").first).to_have_text(
        f"{VERIFICATIONS} requests in the last 30 days; at most {VERIFICATIONS} in a day.")

    details.get_by_text("Requests per day as a table").click()
    table = details.locator("#usage-days-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr").first).to_have_text(re.compile(rf"{today}\s*{VERIFICATIONS}"))
    expect(table.locator("tbody tr")).to_have_count(30)
    hours = details.get_by_role("img", name=re.compile("Requests per hour"))
    expect(hours.locator("g.usage-bar")).to_have_count(48)
    assert hours.locator("g.usage-bar").nth(47).get_attribute("data-requests") == str(VERIFICATIONS)
    addresses = details.get_by_role("table", name="Client addresses, most recently seen first")
    expect(addresses.locator("tbody tr")).to_have_text([re.compile(rf"127\.0\.0\.1\s*{VERIFICATIONS}\s*{today}")])

    # Another round shows up after the next flush, added to the first.
    page.keyboard.press("Escape")
    for _ in range(2):
        assert page.request.get("/_security/_authenticate", headers=header).status == 200
    with database.connection_context():
        last_used.flush()
    page.get_by_role("link", name="busy").click()
    expect(details.get_by_role("img", name=re.compile("Requests per day")).locator("g.usage-bar").nth(29)
           .locator("title")).to_have_text(f"{today}: {VERIFICATIONS + 2} requests")


def test_never_used_and_unused_states_on_the_details(page, login, keys):
    login("alice")
    page.goto("/keys/")
    page.get_by_role("link", name="old-unused").click()
    details = page.get_by_role("dialog", name="API key details")
    expect(details.locator("[data-usage-state=never]")).to_contain_text("Not used for 90 days.")
    expect(details.get_by_role("img")).to_have_count(0)
    page.keyboard.press("Escape")
    page.get_by_role("link", name="busy").click()
    expect(details.locator("[data-usage-state=never]")).to_contain_text("Never used.")


def test_filter_unused_keys_then_delete_them(page, login, keys):
    login("alice")
    page.goto("/keys/")
    expect(page.locator("#key-table tbody tr")).to_have_count(4)
    page.get_by_label("Not used for 90 days").check()
    expect(page).to_have_url(re.compile(r"unused=1"))
    rows = page.locator("#key-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.locator("td.card-title")).to_have_text(["old-unused", "older-unused"])
    expect(page.locator("#key-table-total")).to_have_text("2 API keys")

    page.get_by_role("button", name="Delete unused keys").click()
    dialog = page.get_by_role("dialog", name="Delete 2 unused API keys?")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-delete-names] li")).to_have_text(["older-unused", "old-unused"])
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Delete unused keys").click()
    dialog.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_text("Deleted 2 API keys.")).to_be_visible()
    expect(page.get_by_role("heading", name="No API keys match")).to_be_visible()
    page.get_by_label("Not used for 90 days").uncheck()
    expect(page.locator("#key-table tbody tr td.card-title")).to_have_text(["busy", "used-once"])
    with database.connection_context():
        gone = {key.name for key in ApiKey.select().where(ApiKey.invalidated == True)}  # noqa: E712 (SQL)
    assert gone == {"old-unused", "older-unused"}
