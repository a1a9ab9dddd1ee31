"""Browser sessions end on the server: sign-out, "sign out everywhere", the idle timeout and the absolute
lifetime, on every instance sharing the database (services/access/sessions.py)."""

import hashlib
import re

import pytest

from tests.conftest import USER_PASSWORD, Auth
from webapp import create_app
from webapp.clock import now_ms
from webapp.config import ConfigurationError
from webapp.model import ApiKey, Setting, User, UserSession
from webapp.model.db import database
from webapp.services.api_keys import commands as api_keys
from webapp.services.schema import upgrade as schema

HTMX = {"HX-Request": "true"}
COOKIE = "keydesk_session"
MINUTE = 60_000
IDLE_MESSAGE = "Your session ended after 30 minutes without activity; sign in again."


def _token(client, path="/account/"):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in(app, username):
    client = app.test_client()
    assert Auth(client).login(username, USER_PASSWORD).status_code == 302
    return client


def _copy(client, app):
    """A second browser holding a copy of `client`'s session cookie, for `app` (this instance or another)."""
    other = app.test_client()
    other.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return other


def _sent_to_sign_in(response):
    return response.status_code in (302, 303) and "/login" in response.headers["Location"]


def _keys_of(username):
    with database.connection_context():
        return ApiKey.select().where(ApiKey.owner_username == username).count()


@pytest.fixture
def alice(make_user):
    return make_user("alice", ["api_key_user"])


@pytest.fixture
def clock(monkeypatch):
    """The sessions' clock, moved by hand: clock.now += 30 * MINUTE."""

    class Clock:
        now = now_ms()

    monkeypatch.setattr("webapp.services.access.sessions.now_ms", lambda: Clock.now)
    return Clock


def test_a_copied_cookie_opens_nothing_after_sign_out(app, alice):
    browser = _signed_in(app, "alice")
    csrf = _token(browser)
    kept = _copy(browser, app)
    assert kept.get("/account/").status_code == 200  # the copy works while the session lasts
    assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 302

    assert _sent_to_sign_in(kept.get("/account/"))
    created = kept.post("/keys/new", data={"csrf_token": csrf, "name": "after-sign-out"}, headers=HTMX)
    assert created.status_code == 401 and "/login" in created.headers["HX-Redirect"]
    assert kept.post("/keys/new", data={"csrf_token": csrf, "name": "after-sign-out"}).status_code == 302
    assert _keys_of("alice") == 0
    with database.connection_context():
        assert UserSession.select().count() == 0


def test_signing_out_ends_only_that_session(app, alice):
    first, second = _signed_in(app, "alice"), _signed_in(app, "alice")
    first.post("/logout", data={"csrf_token": _token(first)})
    assert _sent_to_sign_in(first.get("/account/"))
    assert second.get("/account/").status_code == 200


def test_sign_out_everywhere_ends_every_session_of_the_user_only(app, alice, make_user, db):
    make_user("bob", ["api_key_user"])
    here, laptop, bob = _signed_in(app, "alice"), _signed_in(app, "alice"), _signed_in(app, "bob")
    key = api_keys.create_api_key(sessions_subject("alice"), name="survives")
    page = here.get("/account/").get_data(as_text=True)
    assert "Sign out everywhere" in page and "this one included" in page and "API keys" in page

    response = here.post("/account/sign-out-everywhere", data={"csrf_token": _token(here)})
    assert _sent_to_sign_in(response)
    login_page = here.get(response.headers["Location"]).get_data(as_text=True)
    assert "You have been signed out everywhere: 2 sessions ended, this one included." in login_page
    assert _sent_to_sign_in(here.get("/account/")) and _sent_to_sign_in(laptop.get("/account/"))
    assert bob.get("/account/").status_code == 200
    authenticated = app.test_client().get("/_security/_authenticate",
                                          headers={"Authorization": f"ApiKey {key.encoded}"})
    assert authenticated.status_code == 200  # API keys are not sessions
    event = db.execute_sql("SELECT detail FROM audit_event WHERE action = 'logout_everywhere'").fetchall()
    assert event == [("2 sessions ended",)]


def sessions_subject(username):
    from webapp.services.access.authentication import subject_for_user

    with database.connection_context():
        return subject_for_user(User.get(User.username == username), "session")


def test_sign_out_everywhere_needs_a_csrf_token(app, alice):
    browser = _signed_in(app, "alice")
    for headers in ({}, HTMX, {**HTMX, "X-CSRFToken": "wrong"}):
        response = browser.post("/account/sign-out-everywhere", headers=headers)
        assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert browser.get("/account/").status_code == 200


def test_sign_out_everywhere_with_htmx_redirects_the_page(app, alice):
    browser = _signed_in(app, "alice")
    response = browser.post("/account/sign-out-everywhere", headers={**HTMX, "X-CSRFToken": _token(browser)})
    assert response.headers["HX-Redirect"].endswith("/login")
    assert _sent_to_sign_in(browser.get("/account/"))


def test_a_second_instance_refuses_a_session_ended_on_the_first(app, alice, tmp_path):
    other = create_app({"TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"],
                        "KEYDESK_DATABASE_URL": app.config["KEYDESK_DATABASE_URL"]})
    browser = _signed_in(app, "alice")
    elsewhere = _copy(browser, other)
    assert elsewhere.get("/account/").status_code == 200
    browser.post("/logout", data={"csrf_token": _token(browser)})
    assert _sent_to_sign_in(elsewhere.get("/account/"))

    # and the other way round: everywhere, from the second instance
    first, second = _signed_in(app, "alice"), _signed_in(other, "alice")
    second.post("/account/sign-out-everywhere", data={"csrf_token": _token(second)})
    assert _sent_to_sign_in(first.get("/account/")) and _sent_to_sign_in(second.get("/account/"))


def test_idle_sessions_end_with_a_message(app, alice, clock):
    browser = _signed_in(app, "alice")
    for _ in range(8):  # two hours, used every 20 minutes: still signed in
        clock.now += 20 * MINUTE
        assert browser.get("/account/").status_code == 200
    clock.now += 29 * MINUTE
    assert browser.get("/keys/").status_code == 200
    clock.now += 31 * MINUTE
    response = browser.get("/keys/?q=x")
    assert _sent_to_sign_in(response) and "next=/keys/?q%3Dx" in response.headers["Location"]
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert IDLE_MESSAGE in page and 'name="username"' in page
    assert _sent_to_sign_in(browser.get("/account/"))
    assert "without activity" not in browser.get("/login").get_data(as_text=True)  # said once
    assert _signed_in(app, "alice").get("/account/").status_code == 200  # signing in again works


def test_an_idle_htmx_request_is_sent_to_sign_in(app, alice, clock):
    browser = _signed_in(app, "alice")
    clock.now += 45 * MINUTE
    response = browser.get("/keys/", headers=HTMX)
    assert response.status_code == 401 and "/login" in response.headers["HX-Redirect"]
    assert IDLE_MESSAGE in browser.get("/login").get_data(as_text=True)


def test_activity_is_written_at_most_once_a_minute(app, alice, clock, db):
    browser = _signed_in(app, "alice")
    signed_in_at = UserSession.get().last_used
    for _ in range(5):
        clock.now += 10_000
        assert browser.get("/account/").status_code == 200
    assert UserSession.get().last_used == signed_in_at  # 50 seconds of requests: no write
    clock.now += 10_000
    browser.get("/account/")
    assert UserSession.get().last_used == clock.now


def test_the_absolute_lifetime_still_applies(app, alice, clock):
    browser = _signed_in(app, "alice")
    for _ in range(35):  # active every 20 minutes, for 11 hours 40 minutes
        clock.now += 20 * MINUTE
        assert browser.get("/account/").status_code == 200
    clock.now += 21 * MINUTE  # 12 hours and a minute after signing in
    response = browser.get("/account/")
    assert _sent_to_sign_in(response)
    assert "Your session ended 12 hours after you signed in; sign in again." in browser.get(
        response.headers["Location"]).get_data(as_text=True)


def test_the_idle_timeout_is_configurable(app, alice, clock, monkeypatch):
    app.config["KEYDESK_SESSION_IDLE_MINUTES"] = 5
    browser = _signed_in(app, "alice")
    assert "ends after 5 minutes without activity" in browser.get("/account/").get_data(as_text=True)
    clock.now += 7 * MINUTE
    response = browser.get("/account/")
    assert "Your session ended after 5 minutes without activity" in browser.get(
        response.headers["Location"]).get_data(as_text=True)
    monkeypatch.setenv("KEYDESK_SESSION_IDLE_MINUTES", "45")
    assert create_app({"SECRET_KEY": "k", "KEYDESK_DATABASE_URL": app.config["KEYDESK_DATABASE_URL"]}).config[
        "KEYDESK_SESSION_IDLE_MINUTES"] == 45
    for value in ("0", "-3", "soon"):
        monkeypatch.setenv("KEYDESK_SESSION_IDLE_MINUTES", value)
        with pytest.raises(ConfigurationError, match="KEYDESK_SESSION_IDLE_MINUTES"):
            create_app({"SECRET_KEY": "k", "KEYDESK_DATABASE_URL": app.config["KEYDESK_DATABASE_URL"]})


def test_a_cookie_without_a_session_token_is_refused(app, alice):
    """Cookies issued before server-side sessions (id:generation:created) end: everyone signs in again."""
    with database.connection_context():
        user = User.get(User.username == "alice")
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": f"{user.id}:{user.generation}:{user.created}", "_fresh": True})
    browser = app.test_client()
    browser.set_cookie(COOKIE, cookie)
    assert _sent_to_sign_in(browser.get("/account/"))
    browser.set_cookie(COOKIE, app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": f"{user.id}:{user.generation}:{user.created}:made-up-token", "_fresh": True}))
    assert _sent_to_sign_in(browser.get("/account/"))


def test_password_changes_and_disabling_still_end_sessions(app, alice, runner):
    browser = _signed_in(app, "alice")
    assert runner.invoke(args=["users", "set-password", "alice", "--password", "n3w-pass"]).exit_code == 0
    assert _sent_to_sign_in(browser.get("/account/"))
    assert Auth(browser).login("alice", "n3w-pass").status_code == 302
    assert browser.get("/account/").status_code == 200
    with database.connection_context():
        User.update(enabled=False, generation=User.generation + 1).where(User.username == "alice").execute()
    assert _sent_to_sign_in(browser.get("/account/"))


def test_sign_in_replaces_the_browsers_previous_session_and_sweeps_old_ones(app, alice, clock, db):
    browser = _signed_in(app, "alice")
    kept = _copy(browser, app)
    again = browser.post("/login", data={"username": "alice", "password": USER_PASSWORD,
                                         "csrf_token": _token(browser)})
    assert again.status_code == 302 and browser.get("/account/").status_code == 200
    assert _sent_to_sign_in(kept.get("/account/"))  # the previous session of this browser ended
    _signed_in(app, "alice")
    assert UserSession.select().count() == 2
    clock.now += 13 * 60 * MINUTE
    _signed_in(app, "alice")
    assert UserSession.select().count() == 1  # the rows of sessions past their lifetime were swept


def test_upgrading_a_version_2_database_adds_sessions_and_keeps_data(app, alice, db):
    key = api_keys.create_api_key(sessions_subject("alice"), name="kept")
    users_before = sorted((u.username, u.password_hash) for u in User.select())
    database.drop_tables([UserSession])
    Setting.update(value=2).where(Setting.name == "schema.version").execute()
    assert schema.upgrade_schema() == (2, schema.SCHEMA_VERSION)
    assert UserSession.table_exists() and ApiKey.get_by_id(key.id).name == "kept"
    assert sorted((u.username, u.password_hash) for u in User.select()) == users_before
    assert _signed_in(app, "alice").get("/account/").status_code == 200


def test_session_rows_hold_a_digest_of_the_token_not_the_token(app, alice, db):
    browser = _signed_in(app, "alice")
    cookie = app.session_interface.get_signing_serializer(app).loads(browser.get_cookie(COOKIE).value)
    token = cookie["_user_id"].split(":")[3]
    assert len(token) >= 43 and UserSession.get().id == hashlib.sha256(token.encode()).hexdigest()


def test_proxy_users_have_no_sessions_to_end(app, db):
    from webapp.web.proxy import parse_networks

    app.config.update(KEYDESK_TRUSTED_PROXIES="127.0.0.1/32", KEYDESK_PROXY_USER_HEADER="X-Remote-User")
    app.extensions["keydesk.trusted_proxies"] = parse_networks("127.0.0.1/32")
    page = app.test_client().get("/account/", headers={"X-Remote-User": "pia"})
    assert page.status_code == 200 and "Sign out everywhere" not in page.get_data(as_text=True)
