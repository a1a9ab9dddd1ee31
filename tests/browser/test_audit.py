"""The audit page in Chromium: filtering swaps the table in place and updates the URL."""

import re

from playwright.sync_api import expect

from webapp.model.db import database
from webapp.services.audit import trail as audit


def test_filter_by_outcome_in_place(page, login):
    with database.connection_context():
        audit.record(None, "login", target_type="user", target_id="<img src=x onerror=alert(1)>",
                     outcome="failure", address="10.0.0.5")
    login("elastic")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    table = page.get_by_role("table", name="Audit events, newest first")
    expect(table).to_contain_text("elastic")
    page.get_by_label("Outcome").select_option("failure")
    expect(page).to_have_url(re.compile(r"outcome=failure"))
    expect(table).to_contain_text("<img src=x onerror=alert(1)>")  # shown as text, never run
    expect(table).not_to_contain_text("@reserved")
    page.go_back()
    expect(page.get_by_label("Outcome")).to_have_value("")
