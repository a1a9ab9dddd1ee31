"""Expiry notice settings in Chromium: a wrong value answered beside its field, a webhook saved and its secret
shown once to copy, and the deliveries of a real pass (to a local webhook receiver) listed with their outcome."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import USER_PASSWORD
from tests.notice_receivers import documented_verify, webhook_server
from webapp.clock import DAY_MS, now_ms
from webapp.model import ApiKey, Setting, User
from webapp.model.db import database
from webapp.services.access.authentication import subject_for_user
from webapp.services.access.system import system_subject
from webapp.services.admin.users import create_native_user
from webapp.services.api_keys import commands as api_keys
from webapp.services.notices.notify import Transport, run_notices


@pytest.fixture
def receiver():
    with webhook_server(statuses=[500] * 3) as hooks:  # the first pass fails, the second delivers
        yield hooks


def test_set_up_a_webhook_copy_its_secret_and_see_the_deliveries(page, login, receiver):
    login()
    page.goto("/settings/notices")
    page.get_by_label("Days before expiry").fill("14, zero")
    page.get_by_role("button", name="Save notice settings").click()
    days = page.get_by_label("Days before expiry")
    expect(days).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#notice-days-error")).to_contain_text('"zero" is not a number of days from 1 to 365.')

    days.fill("30, 7")
    page.get_by_label("Webhook URL").fill(receiver.url)
    page.get_by_role("button", name="Save notice settings").click()
    expect(page.get_by_text("Saved the expiry notice settings.")).to_be_visible()
    shown = page.get_by_label("New webhook secret")
    secret = shown.input_value()
    with database.connection_context():
        assert secret == Setting.get(Setting.name == "notices.webhook_secret").value
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("[data-copy-status]")).not_to_be_empty()  # copied, or selected to copy by hand

    with database.connection_context():
        alice = create_native_user(system_subject(), "alice", USER_PASSWORD, ["api_key_user"])
        key = api_keys.create_api_key(subject_for_user(User.get_by_id(alice.id), "session"), name="nightly-export",
                                      expiration="1d")
        ApiKey.update(expiration=now_ms() + 5 * DAY_MS, creation=now_ms() - 50 * DAY_MS).where(
            ApiKey.id == key.id).execute()
        assert run_notices(Transport(retry_ms=1)).failed == 1
        assert run_notices(Transport(retry_ms=1)).sent == 1
    assert all(documented_verify()(secret, headers, body) for headers, body in receiver.requests)

    page.reload()
    expect(page.get_by_label("New webhook secret")).to_have_count(0)  # shown that once only
    table = page.get_by_role("table", name=re.compile("newest first"))
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Delivered")
    expect(rows.nth(0)).to_contain_text("7 days before")
    expect(rows.nth(1)).to_contain_text("Failed")
    expect(rows.nth(1)).to_contain_text("HTTP 500")
    expect(rows.nth(1)).to_contain_text("nightly-export")
