"""Sign-in and sign-out through the real form: sessions, disabled users, `next`, CSRF, cookies."""

import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD
from webapp.model import User
from webapp.pages.auth import LOGIN_FAILED


def test_login_page_has_labelled_fields(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<label for="username">Username</label>' in html
    assert '<label for="password">Password</label>' in html
    assert ">Log in</button>" in html


def test_elastic_can_log_in_and_sees_name_and_realm(client, auth):
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/keys/")
    page = client.get("/keys/").get_data(as_text=True)
    assert "elastic" in page and "(reserved)" in page and "Log out" in page


def test_unknown_user_and_wrong_password_get_the_same_message(client, auth, make_user):
    make_user("alice", ["api_key_user"])
    unknown = auth.login("nobody", "whatever-password")
    wrong = auth.login("alice", "not-the-password")
    assert unknown.status_code == wrong.status_code == 401
    assert LOGIN_FAILED in unknown.get_data(as_text=True)
    assert LOGIN_FAILED in wrong.get_data(as_text=True)
    assert client.get("/keys/").status_code == 302  # still signed out


def test_disabled_user_cannot_log_in(client, auth, make_user, db):
    make_user("bob", ["api_key_user"], enabled=False)
    response = auth.login("bob", USER_PASSWORD)
    assert response.status_code == 401
    assert LOGIN_FAILED in response.get_data(as_text=True)


def test_disabling_a_signed_in_user_ends_the_session_at_the_next_request(client, auth, make_user, db):
    make_user("carol", ["api_key_user"])
    auth.login("carol", USER_PASSWORD)
    assert client.get("/keys/").status_code == 200
    User.update(enabled=False, generation=User.generation + 1).where(User.username == "carol").execute()
    assert client.get("/keys/").status_code == 302


def test_password_change_ends_existing_sessions(client, auth, make_user, runner, db):
    make_user("dave", ["api_key_user"])
    auth.login("dave", USER_PASSWORD)
    result = runner.invoke(args=["users", "set-password", "dave", "--password", "new-password"])
    assert result.exit_code == 0, result.output
    assert client.get("/keys/").status_code == 302
    assert auth.login("dave", "new-password").status_code == 302


@pytest.mark.parametrize("target, expected", [
    ("/roles/", "/roles/"),
    ("/keys/?q=name%3Aci", "/keys/?q=name%3Aci"),
    ("https://evil.example/", "/keys/"),
    ("//evil.example/", "/keys/"),
    ("/\\evil.example", "/keys/"),
    ("javascript:alert(1)", "/keys/"),
    ("", "/keys/"),
])
def test_next_only_goes_to_local_paths(auth, target, expected):
    response = auth.login(next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_protected_page_redirects_to_login_with_next(client):
    response = client.get("/roles/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/roles/")


def test_session_is_renewed_on_login(client, auth):
    client.get("/login")
    before = client.get_cookie("keydesk_session")
    auth.login()
    after = client.get_cookie("keydesk_session")
    assert after is not None and (before is None or before.value != after.value)


def test_session_cookie_flags(client, auth):
    response = auth.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_secure_when_configured(tmp_path):
    from webapp import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "KEYDESK_SECURE_COOKIES": True,
                      "KEYDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": "elastic", "password": ELASTIC_PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/keys/").status_code == 302


def test_logout_needs_csrf_and_ends_session(client, auth):
    auth.login()
    refused = client.post("/logout", data={"csrf_token": "wrong"})
    assert refused.status_code == 400
    assert client.get("/keys/").status_code == 200
    done = auth.logout()
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert client.get("/keys/").status_code == 302


def test_htmx_request_without_csrf_header_is_refused(client, auth):
    auth.login()
    response = client.post("/logout", headers={"HX-Request": "true"})
    assert response.status_code == 400


def test_login_and_failure_are_audited(client, auth, db):
    from webapp.model import AuditEvent

    auth.login("elastic", "wrong-password")
    auth.login()
    events = [(e.action, e.outcome, e.actor_username) for e in AuditEvent.select().order_by(AuditEvent.id)]
    assert ("login", "failure", None) in events
    assert ("login", "success", "elastic") in events
    for event in AuditEvent.select():
        assert "wrong-password" not in str(event.__data__)


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
