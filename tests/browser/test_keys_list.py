"""The list in Chromium: search as you type, each filter, sorting, paging both ways, the back button."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import USER_PASSWORD
from webapp.clock import DAY_MS, now_ms
from webapp.model import ApiKey, User
from webapp.model.db import database
from webapp.services.access.authentication import subject_for_user
from webapp.services.access.system import system_subject
from webapp.services.admin.users import create_native_user
from webapp.services.api_keys import commands as api_keys


@pytest.fixture
def seeded(app):
    """30 keys of alice, 2 of bob, one of each kind that the filters pick out."""
    with database.connection_context():
        for name in ("alice", "bob"):
            create_native_user(system_subject(), name, USER_PASSWORD, ["api_key_user"])
        alice = subject_for_user(User.get(User.username == "alice"), "session")
        bob = subject_for_user(User.get(User.username == "bob"), "session")
        base = now_ms() - 50 * DAY_MS
        for n in range(30):
            created = api_keys.create_api_key(alice, name=f"service-{n:02d}")
            ApiKey.update(creation=base + n * 1000).where(ApiKey.id == created.id).execute()
        api_keys.create_api_key(bob, name="Deploy-Prod", expiration="20d")  # within 30 days, not 7
        api_keys.create_api_key(bob, name="deploy-staging", expiration="3d")
        api_keys.create_api_key(alice, name="robot", metadata={"managed": True})
        old = api_keys.create_api_key(alice, name="expired-one")
        ApiKey.update(expiration=now_ms() - DAY_MS).where(ApiKey.id == old.id).execute()
        gone = api_keys.create_api_key(alice, name="revoked-one")
        api_keys.invalidate_api_keys(alice, ids=[gone.id], owner=True)


def _names(page):
    return page.locator("#key-table tbody tr td:nth-child(2) a").all_inner_texts()


def test_search_narrows_the_table_as_you_type_and_the_back_button_restores(page, login, seeded):
    login("elastic")
    page.goto("/keys/")
    total = page.locator("#key-table-total")
    expect(total).to_have_text("34 API keys")
    page.get_by_label("Search API keys").press_sequentially("DEPLOY", delay=20)
    expect(total).to_have_text("2 API keys")
    expect(page).to_have_url(re.compile(r"q=DEPLOY"))
    assert sorted(_names(page)) == ["Deploy-Prod", "deploy-staging"]
    page.get_by_label("Search API keys").fill("owner:bob name:prod")
    expect(total).to_have_text("1 API key")
    page.get_by_label("Search API keys").fill("colour:red")
    expect(page.get_by_role("alert")).to_contain_text('"colour:" is not something you can search by')
    page.go_back()
    expect(total).to_have_text("1 API key")
    expect(page.get_by_label("Search API keys")).to_have_value("owner:bob name:prod")
    page.go_back()
    page.go_back()
    expect(total).to_have_text("34 API keys")
    expect(page.get_by_label("Search API keys")).to_have_value("")


@pytest.mark.parametrize("label, choice, expected", [
    ("Type", "Managed", ["robot"]),
    ("Status", "Expiring within 7 days", ["deploy-staging"]),
    ("Status", "Expiring within 30 days", ["deploy-staging", "Deploy-Prod"]),
    ("Status", "Expired", ["expired-one"]),
    ("Status", "Invalidated", ["revoked-one"]),
])
def test_each_filter(page, login, seeded, label, choice, expected):
    login("elastic")
    page.goto("/keys/")
    page.get_by_label(label, exact=True).select_option(choice)
    expect(page.locator("#key-table-total")).to_have_text(f"{len(expected)} API key{'' if len(expected) == 1 else 's'}")
    assert _names(page) == expected
    expect(page).to_have_url(re.compile(rf"{label.lower()}="))


def test_owner_and_type_filters_together(page, login, seeded):
    login("elastic")
    page.goto("/keys/")
    page.locator(".owner-filter summary").click()
    page.get_by_role("checkbox", name="bob (native)").check()
    expect(page.locator("#key-table-total")).to_have_text("2 API keys")
    page.locator(".owner-filter summary").click()  # close the list again
    expect(page.locator(".owner-filter summary")).to_have_text("1 selected")
    page.get_by_label("Type", exact=True).select_option("Personal")
    expect(page.locator("#key-table-total")).to_have_text("2 API keys")
    page.get_by_label("Type", exact=True).select_option("Cross-cluster")
    expect(page.get_by_role("heading", name="No API keys match")).to_be_visible()
    page.get_by_role("button", name="Clear the search and filters").click()
    expect(page.locator("#key-table-total")).to_have_text("34 API keys")


def test_sorting_by_column_headers(page, login, seeded):
    login("elastic")
    page.goto("/keys/")
    expect(page.get_by_role("columnheader", name=re.compile("Created"))).to_have_attribute("aria-sort", "descending")
    page.get_by_role("link", name="Name", exact=True).click()
    expect(page.get_by_role("columnheader", name=re.compile("Name"))).to_have_attribute("aria-sort", "ascending")
    assert _names(page)[:2] == ["Deploy-Prod", "deploy-staging"]
    page.get_by_role("link", name=re.compile("^Name")).click()
    expect(page.get_by_role("columnheader", name=re.compile("Name"))).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#key-table tbody tr").first).to_contain_text("service-29")
    page.get_by_role("link", name="Owner", exact=True).click()
    expect(page.get_by_role("columnheader", name=re.compile("Owner"))).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("#key-table tbody tr").first).to_contain_text("alice")
    page.get_by_role("link", name="Status", exact=True).click()
    expect(page.get_by_role("columnheader", name=re.compile("Status"))).to_have_attribute("aria-sort", "ascending")
    assert _names(page)[0] == "expired-one"
    # Sorting is kept when the search changes.
    page.get_by_label("Search API keys").fill("deploy")
    expect(page.locator("#key-table-total")).to_have_text("2 API keys")
    expect(page).to_have_url(re.compile(r"sort=status"))
    assert _names(page) == ["deploy-staging", "Deploy-Prod"]


def test_paging_forward_and_back(page, login, seeded):
    login("elastic")
    page.goto("/keys/?sort=name")
    first = _names(page)
    assert len(first) == 25
    expect(page.get_by_role("link", name="Previous")).to_have_count(0)
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_role("link", name="Previous")).to_be_visible()
    second = _names(page)
    assert len(second) == 9 and not set(first) & set(second)
    assert first[0] == "Deploy-Prod" and second[-1] == "service-29"
    page.get_by_role("link", name="Previous").click()
    expect(page.get_by_role("link", name="Next")).to_be_visible()
    assert _names(page) == first
    page.get_by_label("Keys per page").select_option("50")
    expect(page.locator("#key-table tbody tr")).to_have_count(34)
