"""Behind a reverse proxy: forwarded headers, a sub-path mount, and the proxy realm."""

import pytest

from tests.conftest import ELASTIC_PASSWORD, database_url_for, reset_database
from webapp import create_app
from webapp.model import AuditEvent, User
from webapp.model.db import database
from webapp.services.schema import bootstrap as setup
from webapp.services.schema.mapping_seed import seed_group_mappings


@pytest.fixture
def proxied_app(tmp_path):
    """An app that trusts one proxy hop and a proxy realm from 127.0.0.1."""
    app = create_app({
        "TESTING": True, "SECRET_KEY": "k",
        "KEYDESK_DATABASE_URL": database_url_for(tmp_path),
        "KEYDESK_PROXY_HOPS": 1,
        "KEYDESK_TRUSTED_PROXIES": "127.0.0.0/8, ::1",
        "KEYDESK_PROXY_USER_HEADER": "X-Remote-User",
        "KEYDESK_PROXY_GROUPS_HEADER": "X-Remote-Groups",
        "KEYDESK_PROXY_DEFAULT_ROLES": "api_key_user",
        "KEYDESK_PROXY_GROUP_ROLES": "secops=security_viewer+api_key_admin;admins=superuser",
    })
    with database.connection_context():
        reset_database()
        setup.initialise(ELASTIC_PASSWORD)
        seed_group_mappings(app.config["KEYDESK_PROXY_GROUP_ROLES"])  # what init-db does
    return app


def _token(client, path="/keydesk/login", **kw):
    html = client.get(path, **kw).get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start: html.index('"', start)]


def test_mounted_under_a_prefix_every_url_carries_it(proxied_app):
    client = proxied_app.test_client()
    prefix = {"X-Forwarded-Prefix": "/keydesk"}
    page = client.get("/login", headers=prefix).get_data(as_text=True)
    assert 'action="/keydesk/login"' in page
    assert 'href="/keydesk/static/vendor/pico.min.css' in page
    assert 'src="/keydesk/static/vendor/htmx.min.js' in page
    redirect = client.get("/keys/", headers=prefix)
    assert redirect.headers["Location"] == "/keydesk/login?next=/keydesk/keys/"
    htmx = client.get("/keys/", headers={**prefix, "HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == "/keydesk/login?next=/keydesk/keys/"
    first = client.get("/login", headers=prefix)
    assert "Path=/keydesk/" in first.headers["Set-Cookie"]  # the session (and CSRF) cookie is scoped to the mount


def test_script_name_mount_works_too(proxied_app):
    client = proxied_app.test_client()
    page = client.get("/login", environ_overrides={"SCRIPT_NAME": "/tools/keydesk"})
    assert 'action="/tools/keydesk/login"' in page.get_data(as_text=True)


def test_forwarded_client_address_is_audited(proxied_app):
    client = proxied_app.test_client()
    with proxied_app.app_context():
        token = _token(client, "/login")
    client.post("/login", headers={"X-Forwarded-For": "203.0.113.7"},
                data={"username": "elastic", "password": "wrong-one", "csrf_token": token})
    with database.connection_context():
        event = AuditEvent.select().where(AuditEvent.action == "login").get()
    assert event.address == "203.0.113.7"


def test_forwarded_headers_are_ignored_without_hops(client, db):
    token = client.get("/login").get_data(as_text=True)
    token = token.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", headers={"X-Forwarded-For": "203.0.113.7"},
                data={"username": "elastic", "password": "wrong-one", "csrf_token": token})
    assert AuditEvent.select().where(AuditEvent.action == "login").get().address == "127.0.0.1"


def test_trusted_proxy_signs_in_and_provisions_a_proxy_user(proxied_app):
    client = proxied_app.test_client()
    response = client.get("/account/", headers={"X-Remote-User": "alice", "X-Remote-Groups": "secops, other"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "alice" in page and "(proxy)" in page
    with database.connection_context():
        user = User.get((User.username == "alice") & (User.realm == "proxy"))
        roles = sorted(link.role_name for link in user.role_links)
    assert roles == ["api_key_admin", "api_key_user", "security_viewer"]
    # Groups change at the proxy: roles follow at the next request.
    client.get("/account/", headers={"X-Remote-User": "alice"})
    with database.connection_context():
        assert [link.role_name for link in User.get(User.username == "alice").role_links] == ["api_key_user"]


def test_proxy_user_is_distinct_from_a_native_user_of_the_same_name(proxied_app):
    client = proxied_app.test_client()
    client.get("/account/", headers={"X-Remote-User": "elastic"})
    with database.connection_context():
        realms = sorted(u.realm for u in User.select().where(User.username == "elastic"))
    assert realms == ["proxy", "reserved"]


def test_header_from_an_untrusted_address_is_ignored_and_audited(proxied_app):
    client = proxied_app.test_client()
    response = client.get("/account/", headers={"X-Remote-User": "mallory"},
                          environ_overrides={"REMOTE_ADDR": "198.51.100.9"})
    assert response.status_code == 302  # not signed in
    client.get("/account/", headers={"X-Remote-User": "mallory"},
               environ_overrides={"REMOTE_ADDR": "198.51.100.9"})
    with database.connection_context():
        assert User.get_or_none(User.username == "mallory") is None
        events = list(AuditEvent.select().where(AuditEvent.action == "proxy.untrusted_header"))
    assert len(events) == 1 and events[0].count == 2 and events[0].address == "198.51.100.9"


def test_forwarded_for_cannot_fake_a_trusted_peer(proxied_app):
    client = proxied_app.test_client()
    response = client.get("/account/", headers={"X-Remote-User": "mallory", "X-Forwarded-For": "127.0.0.1"},
                          environ_overrides={"REMOTE_ADDR": "198.51.100.9"})
    assert response.status_code == 302


def test_disabled_proxy_user_is_refused(proxied_app):
    client = proxied_app.test_client()
    client.get("/account/", headers={"X-Remote-User": "bob"})
    with database.connection_context():
        User.update(enabled=False).where(User.username == "bob").execute()
    assert client.get("/account/", headers={"X-Remote-User": "bob"}).status_code == 302


def test_bad_trusted_proxies_setting_stops_start_up(tmp_path):
    with pytest.raises(ValueError, match="not-an-ip"):
        create_app({"SECRET_KEY": "k", "KEYDESK_TRUSTED_PROXIES": "10.0.0.0/8, not-an-ip",
                    "KEYDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
