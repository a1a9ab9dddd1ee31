"""/account: identity, roles and effective privileges for every signed-in user, and changing the password."""

import pytest

from tests.conftest import ELASTIC_PASSWORD, USER_PASSWORD
from tests.integration.test_roles_pages import sign_in
from webapp.services.access.account import account_summary
from webapp.services.access.authentication import check_password
from webapp.services.access.system import system_subject
from webapp.services.admin import roles

HTMX = {"HX-Request": "true"}


def test_every_signed_in_user_has_an_account_page(client, auth, make_user):
    make_user("nobody", [], full_name="No Body")
    sign_in(client, auth, "nobody")
    page = client.get("/account/").get_data(as_text=True)
    assert "No Body" in page and "native" in page and "No cluster privileges." in page
    assert "Change password" in page


def test_effective_privileges_include_implied_ones_and_index_grants(client, auth, make_user):
    roles.put_role(system_subject(), "logs", {"cluster": ["cluster:monitor/main"], "run_as": ["bot"],
                                              "indices": [{"names": ["logs-*"], "privileges": ["read"],
                                                           "query": '{"term": {"team": "ops"}}'}]})
    make_user("sam", ["security_admin", "logs", "gone"])
    sign_in(client, auth, "sam")
    page = client.get("/account/").get_data(as_text=True)
    for text in ("<code>manage_security</code>", "<code>manage_api_key</code>", "<code>read_security</code>",
                 "<code>manage_own_api_key</code>", "<code>cluster:monitor/main</code>", "logs-*",
                 "(some fields or documents only)", "You may act as: bot.", "(no such role: grants nothing)"):
        assert text in page
    assert "<code>all</code>" not in page and "<code>none</code>" not in page


def test_summary_of_the_superuser(db, make_user, subject_of):
    summary = account_summary(subject_of(make_user("root", ["superuser"])))
    names = [name for name, _ in summary.cluster]
    assert "all" in names and "manage_security" in names and summary.roles == [("superuser", True)]
    assert summary.can_change_password


def test_change_password_keeps_this_session_and_ends_the_others(app, client, auth, make_user):
    make_user("pat")
    sign_in(client, auth, "pat")
    other = app.test_client()
    sign_in(other, auth.__class__(other), "pat")
    response = client.post("/account/password", data={"current_password": USER_PASSWORD, "password": "n3w-pass",
                                                      "confirm_password": "n3w-pass"}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.startswith('<section id="account-password"')
    assert "Your password has been changed." in body and "HX-Trigger" not in response.headers
    assert client.get("/account/").status_code == 200
    assert other.get("/account/").status_code == 302
    assert check_password("pat", "n3w-pass") and not check_password("pat", USER_PASSWORD)


@pytest.mark.parametrize("data, field, message", [
    ({"current_password": "wrong", "password": "n3w-pass", "confirm_password": "n3w-pass"},
     "current-password", "The current password is not correct."),
    ({"current_password": USER_PASSWORD, "password": "n3w-pass", "confirm_password": "other"},
     "account-confirm-password", "The two passwords don&#39;t match."),
    ({"current_password": USER_PASSWORD, "password": "abc", "confirm_password": "abc"},
     "account-new-password", "passwords must be at least [6] characters long"),
])
def test_change_password_problems_sit_beside_their_fields(client, auth, make_user, data, field, message):
    make_user("pat")
    sign_in(client, auth, "pat")
    response = client.post("/account/password", data=data, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and f'id="{field}-error"' in body and message in body
    assert check_password("pat", USER_PASSWORD)
    assert "wrong" not in body and "n3w-pass" not in body


def test_the_reserved_superuser_changes_its_own_password_without_javascript(client, auth):
    sign_in(client, auth, "elastic", ELASTIC_PASSWORD)
    response = client.post("/account/password", data={"current_password": ELASTIC_PASSWORD,
                                                       "password": "elastic-2", "confirm_password": "elastic-2"})
    assert response.status_code == 303 and response.headers["Location"] == "/account/"
    assert "Your password has been changed." in client.get("/account/").get_data(as_text=True)
    assert check_password("elastic", "elastic-2")


def test_proxy_users_have_no_password_here(app, db):
    app.config.update(KEYDESK_TRUSTED_PROXIES="127.0.0.1/32", KEYDESK_PROXY_USER_HEADER="X-Remote-User")
    from webapp.web.proxy import parse_networks

    app.extensions["keydesk.trusted_proxies"] = parse_networks("127.0.0.1/32")
    client = app.test_client()
    page = client.get("/account/", headers={"X-Remote-User": "pia"})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "pia" in body and "Your password is managed where you sign in (proxy realm)" in body
    assert 'id="account-password"' not in body


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/account/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
