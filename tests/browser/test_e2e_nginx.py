"""End to end through nginx: two gunicorn instances on one PostgreSQL database, mounted at /keydesk/,
signed in by the proxy realm, driven with Chromium and the official Elasticsearch client."""

import json
import re
import urllib.error
import urllib.request

import pytest
from elasticsearch import AuthenticationException, Elasticsearch
from playwright.sync_api import expect

from tests.browser.deployment import Deployment


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    running = Deployment(tmp_path_factory.mktemp("deployment"))
    try:
        yield running.start()
    finally:
        running.stop()


def fetch(url, headers=None):
    """(status, json body or None) of a GET, without raising on 4xx."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def test_key_lifecycle_through_nginx_on_two_instances(browser, deployment):
    context = browser.new_context(base_url=deployment.url_a, extra_http_headers={"X-E2E-User": "alice"})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        # Signed in by the proxy header, as alice@proxy, on instance A under /keydesk/.
        page.goto("/keydesk/keys/")
        expect(page).to_have_url(re.compile(r"/keydesk/keys/"))
        nav = page.get_by_role("navigation", name="Main")
        expect(nav).to_contain_text("alice")
        expect(nav).to_contain_text("(proxy)")

        page.get_by_role("button", name="Create API key").first.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Name").fill("e2e-key")
        dialog.get_by_role("button", name="Create API key").click()
        credential = page.get_by_label("API key", exact=True)
        expect(credential).to_have_value(re.compile(r"^[A-Za-z0-9+/=]{40,}$"))
        encoded = credential.input_value()

        # The key works on instance B, through nginx, with the official client.
        client = Elasticsearch(f"{deployment.url_b}/keydesk", api_key=encoded, request_timeout=10)
        who = client.security.authenticate()
        assert who["username"] == "alice"
        assert who["authentication_realm"]["name"] == "_es_api_key"
        assert who["api_key"]["name"] == "e2e-key"

        # The auth_request-protected service lets the key in, and is told who it is.
        status, body = fetch(f"{deployment.url_b}/internal-app/", {"Authorization": f"ApiKey {encoded}"})
        assert status == 200 and body["user"] == "alice" and body["service"] == "internal-app"
        assert fetch(f"{deployment.url_b}/internal-app/")[0] == 401

        # Revoke in the browser on instance A ...
        page.goto("/keydesk/keys/")
        page.get_by_role("button", name="Delete e2e-key").click()
        page.get_by_role("dialog").get_by_role("button", name="Delete", exact=True).click()
        expect(page.get_by_role("status").filter(has_text="Deleted")).to_be_visible()

        # ... and it is refused at once on instance B, by the API and by the proxy check.
        with pytest.raises(AuthenticationException):
            client.security.authenticate()
        assert fetch(f"{deployment.url_b}/internal-app/", {"Authorization": f"ApiKey {encoded}"})[0] == 401
    finally:
        context.close()


def test_a_client_cannot_send_its_own_proxy_user_header(deployment):
    request = urllib.request.Request(f"{deployment.url_a}/keydesk/account/", headers={"X-Remote-User": "elastic"})
    with urllib.request.urlopen(request, timeout=10) as response:
        # nginx replaced the header with the (empty) single sign-on user: signed out, sent to log in.
        assert response.url.endswith("/keydesk/login?next=/keydesk/account/")
        assert "Log in" in response.read().decode()


def test_static_assets_and_redirects_work_under_the_prefix(deployment):
    with urllib.request.urlopen(f"{deployment.url_a}/keydesk/login", timeout=10) as response:
        html = response.read().decode()
    for asset in re.findall(r'(?:href|src)="(/keydesk/static/[^"]+)"', html):
        with urllib.request.urlopen(f"{deployment.url_a}{asset}", timeout=10) as response:
            assert response.status == 200
    assert 'action="/keydesk/login"' in html


def test_a_disabled_user_is_refused_at_once_on_the_other_instance(deployment):
    admin_a = Elasticsearch(f"{deployment.url_a}/keydesk", basic_auth=("elastic", deployment.password),
                            request_timeout=10)
    admin_a.security.put_user(username="carol", password="carol-password", roles=["api_key_user"])
    carol_b = Elasticsearch(f"{deployment.url_b}/keydesk", basic_auth=("carol", "carol-password"),
                            request_timeout=10)
    key = carol_b.security.create_api_key(name="carol-key")
    carol_key_b = Elasticsearch(f"{deployment.url_b}/keydesk", api_key=key["encoded"], request_timeout=10)
    assert carol_b.security.authenticate()["username"] == "carol"  # Basic now cached on instance B
    assert carol_key_b.security.authenticate()["api_key"]["id"] == key["id"]
    admin_a.security.disable_user(username="carol")
    with pytest.raises(AuthenticationException):
        carol_b.security.authenticate()
    with pytest.raises(AuthenticationException):
        carol_key_b.security.authenticate()
    admin_a.security.enable_user(username="carol")
    assert carol_key_b.security.authenticate()["username"] == "carol"


def _key_made_in_the_browser(browser, deployment, name):
    """The encoded credential of a key alice creates on the keys page (her roles, signed in by the proxy)."""
    context = browser.new_context(base_url=deployment.url_a, extra_http_headers={"X-E2E-User": "alice"})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/keydesk/keys/")
        page.get_by_role("button", name="Create API key").first.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Name").fill(name)
        dialog.get_by_role("button", name="Create API key").click()
        credential = page.get_by_label("API key", exact=True)
        expect(credential).to_have_value(re.compile(r"^[A-Za-z0-9+/=]{40,}$"))
        return credential.input_value()
    finally:
        context.close()


def test_the_check_demands_a_privilege_and_refuses_one_that_asks_none(browser, deployment):
    """/internal-app/ asks `read` on internal-app of a key (alice holds it by a role): a key of alice's that
    grants nothing is refused. A protected location that asks for no privilege, or names `none` (which every
    caller holds), refuses even the key that gets into /internal-app/."""
    from tests.browser.deployment import MISCONFIGURED

    encoded = _key_made_in_the_browser(browser, deployment, "reads-internal-app")
    good = {"Authorization": f"ApiKey {encoded}"}
    status, body = fetch(f"{deployment.url_b}/internal-app/", good)
    assert status == 200 and body["user"] == "alice"
    # A key derived from it grants nothing (derived keys must): it is valid, and refused by the check.
    client = Elasticsearch(f"{deployment.url_a}/keydesk", api_key=encoded, request_timeout=10)
    empty = client.security.create_api_key(name="grants-nothing", role_descriptors={"nothing": {}})
    nothing = {"Authorization": f"ApiKey {empty['encoded']}"}
    assert fetch(f"{deployment.url_b}/keydesk/_security/_authenticate", nothing)[0] == 200
    assert fetch(f"{deployment.url_b}/internal-app/", nothing)[0] == 403
    for path in MISCONFIGURED:
        assert fetch(f"{deployment.url_b}{path}", good)[0] == 403, path
        assert fetch(f"{deployment.url_b}{path}", nothing)[0] == 403, path
