"""A key's rate limit in Chromium: set with "Limit requests" at creation, seen on its details, then changed and
removed from the details' update form; the limit is enforced on the key (429 with Retry-After)."""

import base64
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import USER_PASSWORD
from webapp.model import ApiKey
from webapp.model.db import database
from webapp.services.access.system import system_subject
from webapp.services.admin.users import create_native_user


@pytest.fixture
def alice(app):
    with database.connection_context():
        create_native_user(system_subject(), "alice", USER_PASSWORD, ["api_key_user"])


def test_set_a_limit_at_creation_and_see_it_on_the_details(page, login, alice):
    login("alice")
    page.goto("/keys/")
    page.get_by_role("button", name="Create API key").first.click()
    dialog = page.get_by_role("dialog", name="Create API key")
    dialog.get_by_label("Name").fill("limited")
    expect(dialog.get_by_label("Requests", exact=True)).to_be_hidden()  # behind the toggle until it is on
    dialog.get_by_label("Limit requests").check()
    dialog.get_by_label("Requests", exact=True).fill("0")
    dialog.get_by_label("Per", exact=True).fill("2")
    dialog.get_by_role("button", name="Create API key").click()
    expect(dialog.get_by_text("Enter a whole number of requests from 1 to 1,000,000.")).to_be_visible()
    expect(dialog.get_by_text("Enter a time such as 1s, 30s, 1m, 1h or 1d (from 1s to 1d).")).to_be_visible()
    dialog.get_by_label("Requests", exact=True).fill("2")
    dialog.get_by_label("Per", exact=True).fill("1h")
    dialog.get_by_role("button", name="Create API key").click()
    expect(page.get_by_role("heading", name="Created API key 'limited'")).to_be_visible()
    encoded = page.get_by_label("API key", exact=True).input_value()
    with database.connection_context():
        assert ApiKey.get(ApiKey.name == "limited").rate_limit == {"requests": 2, "per": "1h"}

    # The limit holds on the key: two requests, then 429 with Retry-After.
    header = {"Authorization": f"ApiKey {encoded}"}
    assert [page.request.get("/_security/_authenticate", headers=header).status for _ in range(2)] == [200, 200]
    refused = page.request.get("/_security/_authenticate", headers=header)
    assert refused.status == 429 and int(refused.headers["retry-after"]) >= 1
    key_id = base64.b64decode(encoded).decode().split(":")[0]
    assert f"API key [{key_id}]" in refused.json()["error"]["reason"]

    page.reload()
    page.get_by_role("link", name="limited").click()
    details = page.get_by_role("dialog", name="API key details")
    expect(details.locator("[data-rate-limit]")).to_have_text("2 requests per 1h")
    expect(details.get_by_label("Limit requests")).to_be_checked()
    expect(details.get_by_label("Requests", exact=True)).to_have_value("2")
    details.get_by_label("Requests", exact=True).fill("500")
    details.get_by_role("button", name="Update API key").click()
    expect(details.get_by_text("Updated API key 'limited'.")).to_be_visible()
    expect(details.locator("[data-rate-limit]")).to_have_text("500 requests per 1h")
    assert page.request.get("/_security/_authenticate", headers=header).status == 200  # the new limit, at once
    details.get_by_label("Limit requests").uncheck()
    details.get_by_role("button", name="Update API key").click()
    expect(details.locator("[data-rate-limit]")).to_have_text("None")
    expect(details.get_by_text(re.compile("Updated API key 'limited'"))).to_be_visible()
    with database.connection_context():
        assert ApiKey.get(ApiKey.name == "limited").rate_limit is None
