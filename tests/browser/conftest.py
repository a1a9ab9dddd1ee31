"""Browser fixtures: the app served on a free port, and the system Chromium driven by Playwright."""

import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD

CHROMIUM = os.environ.get("KEYDESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. The browser tests need it: install it with "
            "`apt-get install -y chromium` (Debian) or point KEYDESK_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """The test's app served by a threaded werkzeug server; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def login(page):
    """Sign in through the login form as a person would."""

    def sign_in(username="elastic", password=None):
        password = password or (ELASTIC_PASSWORD if username == "elastic" else USER_PASSWORD)
        page.goto("/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()

    return sign_in


def sign_out(page):
    """Log out as a person would: open the account menu in the header, then its Log out button."""
    page.locator(".account-menu > summary").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


def open_account(page):
    """Go to the account page through the account menu in the header."""
    page.locator(".account-menu > summary").click()
    page.get_by_role("link", name="Your account").click()
    page.wait_for_load_state()
