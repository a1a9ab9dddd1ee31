"""The settings page over HTTP: only for manage_security, each section as a fragment or a page, messages."""

import pytest

from tests.integration.test_roles_pages import form_fields, sign_in
from webapp.model import AuditEvent
from webapp.services.admin import settings

HTMX = {"HX-Request": "true"}


@pytest.fixture
def admin_login(client, auth, make_user):
    make_user("admin", ["security_admin"])
    sign_in(client, auth, "admin")


@pytest.mark.parametrize("roles_held, status", [([], 403), (["security_viewer"], 403), (["api_key_admin"], 403),
                                                (["security_admin"], 200)])
def test_only_security_administrators_see_settings(client, auth, make_user, roles_held, status):
    make_user("someone", roles_held)
    sign_in(client, auth, "someone")
    assert client.get("/settings/").status_code == status
    assert client.post("/settings/license", data={"level": "enterprise"}).status_code in (status, 303)
    assert settings.license_state()["type"] == ("enterprise" if status == 200 else "basic")


def test_the_page_says_what_each_level_unlocks(client, auth, admin_login):
    page = client.get("/settings/").get_data(as_text=True)
    assert "Current level: <strong>Basic</strong>" in page
    assert "What each level unlocks" in page and "cross-cluster API keys" in page
    assert "Start trial" in page and "Set enterprise license" in page and "Go back to basic" not in page


def test_start_trial_as_fragment_shows_days_left_and_hides_the_button(client, auth, admin_login):
    response = client.post("/settings/license", data={"level": "trial"}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Trigger" not in response.headers
    assert body.startswith('<section id="license-settings"') and "<html" not in body
    assert "30 days left" in body and "Start trial" not in body and "The license is now trial." in body
    client.post("/settings/license", data={"level": "basic"}, headers=HTMX)
    again = client.post("/settings/license", data={"level": "trial"}, headers=HTMX)
    assert again.status_code == 422 and "Trial was already activated." in again.get_data(as_text=True)
    assert "(the trial has been used)" in again.get_data(as_text=True)


def test_set_enterprise_without_javascript_redirects_with_a_message(client, auth, admin_login):
    response = client.post("/settings/license", data={"level": "enterprise"})
    assert response.status_code == 303 and response.headers["Location"] == "/settings/"
    page = client.get("/settings/").get_data(as_text=True)
    assert "The license is now enterprise." in page and "Current level: <strong>Enterprise</strong>" in page


def test_switch_api_keys_off_and_set_retention(client, auth, admin_login):
    response = client.post("/settings/api-keys", data={"retention": "14d"}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert "HX-Trigger" not in response.headers and body.startswith('<section id="api-key-settings"')
    assert "existing keys stop authenticating" in body and 'value="14d"' in body
    assert settings.api_key_settings() == {"enabled": False, "retention": "14d"}
    client.post("/settings/api-keys", data={"enabled": "on", "retention": "14d"})
    assert settings.api_keys_enabled()


def test_a_bad_retention_comes_back_beside_the_field_with_the_input_kept(client, auth, admin_login):
    response = client.post("/settings/api-keys", data={"retention": "a fortnight"}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="retention-error"' in body
    assert "failed to parse setting [retention] with value [a fortnight]" in body
    assert 'value="a fortnight"' in body and 'aria-invalid="true"' in body
    assert settings.api_key_settings() == {"enabled": True, "retention": "7d"}
    page = client.post("/settings/api-keys", data={"retention": "x"})
    assert page.status_code == 422 and "<html" in page.get_data(as_text=True)


def test_unknown_level_is_a_message_not_an_error_page(client, auth, admin_login):
    response = client.post("/settings/license", data={"level": "gold"}, headers=HTMX)
    assert response.status_code == 422 and "unknown license type [gold]" in response.get_data(as_text=True)


def test_the_configured_retention_is_shown_until_one_is_saved(app, client, auth, admin_login):
    app.config["KEYDESK_API_KEY_RETENTION"] = "30d"
    fields, _ = form_fields(client.get("/settings/").get_data(as_text=True), "api-key-settings-form")
    assert fields["retention"] == "30d"
    client.post("/settings/api-keys", data={"enabled": "on", "retention": "30d"}, headers=HTMX)
    assert settings.retention_ms() == 30 * 86_400_000
    events = [e for e in AuditEvent.select().where(AuditEvent.action == "settings.update")]
    assert events == []  # saving the value already in force changes nothing
