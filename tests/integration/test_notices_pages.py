"""Expiry notices in the pages: the Settings page's form (who may see and change what, messages beside the fields,
the webhook secret shown once and never recorded), the keys list's "Expiring within 30 days" filter, the count on
the account page, and the configuration that start-up refuses."""

import html
import re

import pytest

from tests.integration.test_roles_pages import sign_in
from webapp import create_app
from webapp.clock import DAY_MS, now_ms
from webapp.config import ConfigurationError
from webapp.model import ApiKey, AuditEvent, Setting, User
from webapp.model.db import database
from webapp.services.access.authentication import subject_for_user
from webapp.services.api_keys import commands as api_keys
from webapp.services.notices import preferences

HTMX = {"HX-Request": "true"}
URL = "https://hooks.example.test/keydesk"


@pytest.fixture
def admin(client, auth, make_user):
    make_user("admin", ["security_admin"])
    sign_in(client, auth, "admin")


def _secret():
    with database.connection_context():
        row = Setting.get_or_none(Setting.name == "notices.webhook_secret")
        return row and row.value


def _audit_text():
    with database.connection_context():
        return " ".join(str([e.before, e.after, e.detail]) for e in AuditEvent.select())


def _shown_secret(body):
    return re.search(r'id="webhook-secret-value"[^>]*value="([^"]+)"', body, re.S).group(1)


@pytest.mark.parametrize("roles_held, view, change", [
    ([], 403, 403), (["api_key_admin"], 403, 403), (["security_viewer"], 200, 403), (["security_admin"], 200, 200)])
def test_read_security_reads_the_page_and_only_manage_security_changes_it(client, auth, make_user, roles_held, view,
                                                                          change):
    make_user("someone", roles_held)
    sign_in(client, auth, "someone")
    page = client.get("/settings/notices")
    assert page.status_code == view
    response = client.post("/settings/notices", data={"days": "7", "webhook_url": URL}, headers=HTMX)
    assert response.status_code == change
    assert client.post("/settings/notices/secret", headers=HTMX).status_code == change
    with database.connection_context():
        assert preferences.notice_settings().days_before == ((7,) if change == 200 else (14, 1))
    if view == 200:
        nav = client.get("/account/").get_data(as_text=True)
        assert 'href="/settings/' in nav and ">Settings</a>" in nav


def test_a_viewer_sees_the_settings_but_neither_the_form_buttons_nor_the_secret(client, auth, make_user, db):
    saved = preferences.update_notice_settings(subject_for_user(User.get(User.username == "elastic"), "session"),
                                               days="30, 7", webhook_url=URL)
    make_user("viewer", ["security_viewer"])
    sign_in(client, auth, "viewer")
    body = client.get("/settings/notices").get_data(as_text=True)
    assert 'value="30, 7"' in body and f'value="{URL}"' in body and "<fieldset disabled" in body
    assert "Save notice settings" not in body and "Make a new secret" not in body
    assert 'name="webhook_secret"' not in body
    assert saved.new_secret not in body and "A secret has been set." in body
    assert "Only security administrators" in body and "No notices have been sent yet." in body


def test_saving_a_webhook_makes_a_secret_shown_once_and_never_recorded(client, admin):
    response = client.post("/settings/notices", data={"days": "1 14 7", "webhook_url": URL}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.startswith('<section id="notice-settings"') and "<html" not in body
    assert "no-store" in response.headers["Cache-Control"]
    secret = _shown_secret(body)
    assert secret == _secret() and len(secret) >= 40 and "Copy the webhook secret now." in body
    assert 'value="14, 7, 1"' in body and "Saved the expiry notice settings." in body
    page = client.get("/settings/notices").get_data(as_text=True)
    assert secret not in page and "A secret was set on" in page and "Make a new secret" in page
    with database.connection_context():
        [event] = AuditEvent.select().where(AuditEvent.action == "settings.update")
        assert (event.target_id, event.detail) == ("notices", "webhook secret replaced")
        assert event.before == {"days_before": [14, 1], "webhook_url": None, "webhook_secret_set": None}
        assert event.after["days_before"] == [14, 7, 1] and event.after["webhook_url"] == URL
        assert isinstance(event.after["webhook_secret_set"], int)

    again = client.post("/settings/notices", data={"days": "14, 7, 1", "webhook_url": URL}, headers=HTMX)
    assert 'id="webhook-secret-value"' not in again.get_data(as_text=True) and _secret() == secret
    replaced = client.post("/settings/notices/secret", headers=HTMX)
    new = _shown_secret(replaced.get_data(as_text=True))
    assert new != secret and new == _secret() and "no-store" in replaced.headers["Cache-Control"]
    own = "my-own-receiver-secret-1234"
    client.post("/settings/notices", data={"days": "14", "webhook_url": URL, "webhook_secret": own}, headers=HTMX)
    assert _secret() == own
    audit = _audit_text()
    assert secret not in audit and new not in audit and own not in audit
    with database.connection_context():
        assert AuditEvent.select().where(AuditEvent.action == "settings.update").count() == 3


@pytest.mark.parametrize("form, field, message", [
    ({"days": "fourteen"}, "notice-days", '"fourteen" is not a number of days from 1 to 365.'),
    ({"days": "0"}, "notice-days", '"0" is not a number of days from 1 to 365.'),
    ({"days": "14, 400"}, "notice-days", '"400" is not a number of days from 1 to 365.'),
    ({"days": "1,2,3,4,5,6"}, "notice-days", "Send at most 5 notices before a key expires."),
    ({"webhook_url": "ftp://files.example.test/x"}, "webhook-url", "Enter an address that starts with http://"),
    ({"webhook_url": "https://"}, "webhook-url", "Enter an address that starts with http://"),
    ({"webhook_url": "https://me:pw@hooks.example.test/"}, "webhook-url", "Leave the user name and password out"),
    ({"webhook_url": "https://hooks.example.test:99999/"}, "webhook-url", "That is not a web address"),
    ({"webhook_url": "https://hooks.example.test/a b"}, "webhook-url", "can't contain spaces"),
    ({"webhook_url": URL, "webhook_secret": "short"}, "webhook-secret", "A secret is 16 to 256 letters"),
])
def test_wrong_fields_are_answered_beside_them_and_nothing_changes(client, admin, form, field, message):
    data = {"days": "14, 1", "webhook_url": "", **form}
    response = client.post("/settings/notices", data=data, headers=HTMX)
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and f'id="{field}-error"' in body and message in body
    assert 'aria-invalid="true"' in body
    for name, value in data.items():
        if value and name != "webhook_secret":
            assert f'value="{value}"' in body  # what was typed is kept (a secret typed is not sent back)
    assert 'value="short"' not in body
    assert _secret() is None
    with database.connection_context():
        assert preferences.notice_settings().days_before == (14, 1)
        assert AuditEvent.select().where(AuditEvent.action == "settings.update").count() == 0


def test_without_javascript_saving_redirects_unless_a_secret_must_be_shown(client, admin):
    response = client.post("/settings/notices", data={"days": "10", "webhook_url": ""})
    assert response.status_code == 303 and response.headers["Location"] == "/settings/notices"
    assert "Saved the expiry notice settings." in client.get("/settings/notices").get_data(as_text=True)
    shown = client.post("/settings/notices", data={"days": "10", "webhook_url": URL})
    assert shown.status_code == 200 and "<html" in shown.get_data(as_text=True)
    assert _shown_secret(shown.get_data(as_text=True)) == _secret()
    failed = client.post("/settings/notices", data={"days": "x"})
    assert failed.status_code == 422 and "<html" in failed.get_data(as_text=True)


def test_the_settings_page_links_to_the_notices(client, admin):
    page = client.get("/settings/").get_data(as_text=True)
    assert 'href="/settings/notices"' in page
    notices = client.get("/settings/notices").get_data(as_text=True)
    assert "Mail to each key's owner:" in html.unescape(notices)
    assert "off. Set <code>KEYDESK_SMTP_URL</code>" in notices and "flask --app wsgi notify" in notices


# ---- the keys list and the account page ---------------------------------------------------------------

@pytest.fixture
def expiring(db, make_user):
    """alice: keys expiring in 3, 20 and 45 days, one expired, one without expiry; bob: one in 10 days."""
    make_user("alice", ["api_key_user"])
    make_user("bob", ["api_key_user"])
    made = {}
    for owner, name, days in (("alice", "in-3-days", 3), ("alice", "in-20-days", 20), ("alice", "in-45-days", 45),
                              ("alice", "expired", -1), ("alice", "forever", None), ("bob", "bobs-10-days", 10)):
        subject = subject_for_user(User.get(User.username == owner), "session")
        key = api_keys.create_api_key(subject, name=name, expiration="1d" if days else None)
        if days:
            ApiKey.update(expiration=now_ms() + days * DAY_MS).where(ApiKey.id == key.id).execute()
        made[name] = key.id
    return made


def _listed(html):
    return set(re.findall(r'<a [^>]*href="/keys/[A-Za-z0-9_-]{20}"[^>]*>([^<]+)</a>', html))


def test_the_keys_list_filters_keys_expiring_within_30_days(client, auth, expiring):
    sign_in(client, auth, "alice")
    page = client.get("/keys/?status=expiring-30d").get_data(as_text=True)
    assert _listed(page) == {"in-3-days", "in-20-days"}
    assert '<option value="expiring-30d" selected>Expiring within 30 days</option>' in page
    partial = client.get("/keys/?status=expiring-30d", headers=HTMX)
    assert _listed(partial.get_data(as_text=True)) == {"in-3-days", "in-20-days"}
    assert _listed(client.get("/keys/?q=status:expiring-30d").get_data(as_text=True)) == {"in-3-days", "in-20-days"}
    assert _listed(client.get("/keys/?status=expiring").get_data(as_text=True)) == {"in-3-days"}
    auth.logout()
    sign_in(client, auth, "elastic", "elastic-test-password")
    everyone = client.get("/keys/?status=expiring-30d").get_data(as_text=True)
    assert _listed(everyone) == {"in-3-days", "in-20-days", "bobs-10-days"}


def test_the_account_page_counts_ones_own_keys_expiring_within_30_days(client, auth, expiring, make_user):
    sign_in(client, auth, "alice")
    page = client.get("/account/").get_data(as_text=True)
    link = re.search(r'<dd id="account-expiring-keys"><a href="([^"]+)">([^<]+)</a>', page)
    assert link.group(2) == "2 API keys"
    assert _listed(client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)) == {"in-3-days",
                                                                                                "in-20-days"}
    auth.logout()
    sign_in(client, auth, "elastic", "elastic-test-password")  # sees every key, counts only its own
    page = client.get("/account/").get_data(as_text=True)
    assert '<a href="/keys/?status=expiring-30d&amp;owner=elastic@reserved">0 API keys</a>' in page
    auth.logout()
    make_user("nokeys", [])
    sign_in(client, auth, "nokeys")
    assert "account-expiring-keys" not in client.get("/account/").get_data(as_text=True)


# ---- configuration -------------------------------------------------------------------------------------

@pytest.mark.parametrize("setting, value, message", [
    ("KEYDESK_SMTP_URL", "mail.example.test", "KEYDESK_SMTP_URL can't be used: it must start with smtp://"),
    ("KEYDESK_SMTP_URL", "smtp://", "KEYDESK_SMTP_URL can't be used: it names no host"),
    ("KEYDESK_SMTP_URL", "smtp://u:hunter2@mail.example.test", "a password is sent only over TLS"),
    ("KEYDESK_SMTP_URL", "smtps://mail.example.test:port", "a port must be a number"),
    ("KEYDESK_SMTP_FROM", "keydesk", "KEYDESK_SMTP_FROM must be an email address"),
    ("KEYDESK_BASE_URL", "keydesk.example.test", "KEYDESK_BASE_URL must start with http:// or https://"),
    ("KEYDESK_NOTIFY_INTERVAL", "hourly", "KEYDESK_NOTIFY_INTERVAL must be a time such as 15m or 1h"),
    ("KEYDESK_NOTIFY_INTERVAL", "30s", "KEYDESK_NOTIFY_INTERVAL must be at least 1m"),
    ("KEYDESK_NOTICE_ATTEMPTS", 0, "KEYDESK_NOTICE_ATTEMPTS must be a whole number from 1 to 10"),
    ("KEYDESK_NOTICE_TIMEOUT_SECONDS", 1000, "KEYDESK_NOTICE_TIMEOUT_SECONDS must be a whole number from 1 to 300"),
])
def test_settings_that_cant_be_used_stop_the_start_with_their_name(app, setting, value, message):
    with pytest.raises(ConfigurationError) as refused:
        create_app({"KEYDESK_DATABASE_URL": app.config["KEYDESK_DATABASE_URL"], "SECRET_KEY": "x", setting: value})
    assert message in str(refused.value) and "hunter2" not in str(refused.value)


# ---- the webhook secret leaves no trace ---------------------------------------------------------------

def test_the_webhook_secret_is_in_no_log_audit_row_delivery_or_later_answer(client, admin, caplog):
    import logging

    from tests.notice_receivers import webhook_server
    from webapp.model import NoticeDelivery
    from webapp.services.notices.notify import Transport, run_notices

    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="peewee")  # its DEBUG log prints every stored value (docs/security.md)
    with webhook_server(statuses=[500]) as hooks:
        made = client.post("/settings/notices", data={"days": "14, 1", "webhook_url": hooks.url}, headers=HTMX)
        secret = _shown_secret(made.get_data(as_text=True))
        with database.connection_context():
            elastic = subject_for_user(User.get(User.username == "elastic"), "session")
            key = api_keys.create_api_key(elastic, name="traced", expiration="1d")
            ApiKey.update(expiration=now_ms() + 3 * DAY_MS, creation=now_ms() - 30 * DAY_MS).where(
                ApiKey.id == key.id).execute()
            assert run_notices(Transport(retry_ms=1)).sent == 1  # a failed attempt, then delivered
        later = [client.get(path).get_data(as_text=True) for path in ("/settings/notices", "/settings/", "/audit/")]
        later.append(client.post("/settings/notices", data={"days": "7", "webhook_url": hooks.url},
                                 headers=HTMX).get_data(as_text=True))
    assert len(hooks.requests) == 2 and secret in made.get_data(as_text=True)
    assert all(secret not in body for body in later)
    assert secret not in caplog.text
    assert secret not in _audit_text()
    with database.connection_context():
        assert all(secret not in str(row) for row in NoticeDelivery.select().tuples())
