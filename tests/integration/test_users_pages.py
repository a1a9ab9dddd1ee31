"""The users pages over HTTP: who sees what, page vs htmx fragment, create and edit forms with their
messages, enable/disable, password reset, delete, and the self-lockout confirmation."""

import pytest

from tests.integration.test_roles_pages import form_fields, sign_in
from webapp.model import User
from webapp.services.access.authentication import check_password
from webapp.services.admin import users

HTMX = {"HX-Request": "true"}


@pytest.fixture
def admin_login(client, auth, make_user):
    make_user("admin", ["security_admin"])
    sign_in(client, auth, "admin")


def _roles_of(username, realm="native"):
    user = User.get((User.username == username) & (User.realm == realm))
    return users.roles_by_user([user])[user.id]


@pytest.mark.parametrize("roles_held, list_status, admin_status", [
    ([], 403, 403), (["api_key_admin"], 403, 403), (["security_viewer"], 200, 403), (["security_admin"], 200, 200)])
def test_who_may_see_and_change_users(client, auth, make_user, roles_held, list_status, admin_status):
    make_user("someone", roles_held)
    sign_in(client, auth, "someone")
    listing = client.get("/users/")
    assert listing.status_code == list_status
    assert client.get("/users/new").status_code == admin_status
    assert client.post("/users/enabled?username=elastic&realm=reserved", data={"enabled": "true"}).status_code \
        in ((403,) if admin_status == 403 else (303,))
    if list_status == 200:
        assert ("Create user" in listing.get_data(as_text=True)) == (admin_status == 200)


def test_readers_see_a_users_details_without_forms(client, auth, make_user):
    make_user("bob", ["viewer"], full_name="Bob B")
    make_user("reader", ["security_viewer"])
    sign_in(client, auth, "reader")
    page = client.get("/users/edit?username=bob&realm=native").get_data(as_text=True)
    assert "Bob B" in page and "viewer" in page
    assert 'id="user-form"' in page and "<form id=\"user-form\"" not in page
    assert "Disable user" not in page and "Reset password" not in page and "Delete user" not in page


def test_list_as_page_and_fragment_with_search_and_role_filter(client, auth, admin_login, make_user):
    make_user("bob", ["viewer"], email="bob@example.com")
    make_user("carol", ["editor"])
    page = client.get("/users/")
    assert "<html" in page.get_data(as_text=True) and "HX-Request" in page.headers["Vary"]
    fragment = client.get("/users/?search=EXAMPLE.com", headers=HTMX).get_data(as_text=True)
    assert fragment.startswith('<section id="user-table"') and "<html" not in fragment
    assert "bob" in fragment and "carol" not in fragment
    by_role = client.get("/users/?role=editor").get_data(as_text=True)
    assert "carol" in by_role and ">bob<" not in by_role and "Showing users with the role" in by_role


def test_list_pages_forward_and_back_to_the_first_page(client, auth, admin_login, make_user):
    for n in range(26):
        make_user(f"u{n:02}")
    first = client.get("/users/?size=25", headers=HTMX).get_data(as_text=True)
    assert "Next page" in first and "First page" not in first
    next_url = first.split('hx-get="')[-1].split('"')[0].replace("&amp;", "&")
    second = client.get(next_url, headers=HTMX).get_data(as_text=True)
    assert "u25" in second and "First page" in second and "Next page" not in second


def test_create_a_user_through_the_form(client, auth, admin_login):
    html = client.get("/users/new").get_data(as_text=True)
    fields, _ = form_fields(html, "user-form")
    assert "api_key_user" in html and "Reserved" in html
    for name, value in {"username": "dana", "password": "secret1", "confirm_password": "secret1",
                        "full_name": "Dana D", "email": "dana@example.com"}.items():
        fields[name] = value
    fields.setlist("roles", ["api_key_user", "viewer"])
    response = client.post("/users/new", data=fields, headers=HTMX)
    assert response.headers["HX-Redirect"] == "/users/edit?username=dana&realm=native"
    assert _roles_of("dana") == ["api_key_user", "viewer"] and check_password("dana", "secret1")
    assert "Created user dana." in client.get("/users/edit?username=dana&realm=native").get_data(as_text=True)


def test_create_problems_come_back_beside_their_fields(client, auth, admin_login):
    data = {"username": "elastic", "password": "abc", "confirm_password": "abd", "email": "nope", "roles": "viewer"}
    response = client.post("/users/new", data=data, headers=HTMX)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="user-form"')
    for field_id, message in [("username", "Username [elastic] is reserved and may not be used."),
                              ("password", "passwords must be at least [6] characters long"),
                              ("confirm_password", "The two passwords don&#39;t match."),
                              ("email", "Enter an email address")]:
        assert f'id="{field_id}-error"' in body and message in body
    kept, _ = form_fields(body, "user-form")
    assert (kept["username"], kept["email"], kept.getlist("roles")) == ("elastic", "nope", ["viewer"])  # input kept
    assert "abc" not in body  # passwords are never echoed back
    page = client.post("/users/new", data=data)
    assert page.status_code == 422 and "<html" in page.get_data(as_text=True)


def test_edit_profile_and_roles(client, auth, admin_login, make_user):
    make_user("bob", ["viewer"])
    url = "/users/edit?username=bob&realm=native"
    fields, _ = form_fields(client.get(url).get_data(as_text=True), "user-form")
    assert fields.getlist("roles") == ["viewer"]
    fields["full_name"], fields["email"] = "Bob B", "bob@example.com"
    fields.setlist("roles", ["editor"])
    response = client.post(url, data=fields)
    assert response.status_code == 303 and response.headers["Location"] == url
    assert _roles_of("bob") == ["editor"] and User.get(User.username == "bob").full_name == "Bob B"
    bad = client.post(url, data={"email": "bob-at-example", "roles": "editor"}, headers=HTMX)
    assert bad.status_code == 422 and 'id="email-error"' in bad.get_data(as_text=True)


def test_removing_your_own_admin_role_asks_first(client, auth, admin_login):
    url = "/users/edit?username=admin&realm=native"
    html = client.get(url).get_data(as_text=True)
    assert "this is you" in html and "Disable user" not in html and "Delete user" not in html
    warned = client.post(url, data={"roles": "viewer"}, headers=HTMX)
    assert warned.status_code == 422
    body = warned.get_data(as_text=True)
    assert 'name="confirm_lockout"' in body and "manage_security" in body
    assert _roles_of("admin") == ["security_admin"]
    confirmed = client.post(url, data={"roles": "viewer", "confirm_lockout": "on"}, headers=HTMX)
    assert confirmed.headers["HX-Redirect"] == "/account/" and _roles_of("admin") == ["viewer"]
    assert client.get("/users/").status_code == 403


def test_disable_and_enable_swap_the_status_block(app, client, auth, admin_login, make_user):
    make_user("erin", ["api_key_user"])
    erin = app.test_client()
    sign_in(erin, auth.__class__(erin), "erin")
    url = "/users/enabled?username=erin&realm=native"
    response = client.post(url, data={"enabled": "false"}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Trigger" not in response.headers
    assert body.startswith('<section id="user-status"') and "Disabled user erin." in body
    assert "Enable user" in body and not User.get(User.username == "erin").enabled
    assert erin.get("/account/").status_code == 302  # their session ended
    again = client.post(url, data={"enabled": "true"})
    assert again.status_code == 303 and User.get(User.username == "erin").enabled


def test_elastic_and_yourself_cant_be_disabled_or_deleted(client, auth, admin_login):
    page = client.get("/users/edit?username=elastic&realm=reserved").get_data(as_text=True)
    assert "can't be disabled or deleted" in page and "Disable user" not in page and "Delete user" not in page
    assert "Reset password" in page
    for url, data in [("/users/enabled?username=elastic&realm=reserved", {"enabled": "false"}),
                      ("/users/enabled?username=admin&realm=native", {"enabled": "false"}),
                      ("/users/delete", {"username": "elastic", "realm": "reserved"}),
                      ("/users/delete", {"username": "admin", "realm": "native"})]:
        response = client.post(url, data=data, headers=HTMX)
        assert response.status_code == 400 and response.headers["HX-Retarget"] == "#page-message"
    assert client.get("/users/delete?username=elastic&realm=reserved").status_code == 400
    assert User.get(User.username == "elastic").enabled


def test_reset_password_as_fragment_and_page(app, client, auth, admin_login, make_user):
    make_user("fay")
    fay = app.test_client()
    sign_in(fay, auth.__class__(fay), "fay")
    url = "/users/password?username=fay&realm=native"
    short = client.post(url, data={"password": "abc", "confirm_password": "abc"}, headers=HTMX)
    assert short.status_code == 422 and short.get_data(as_text=True).startswith('<section id="user-password"')
    assert "passwords must be at least [6] characters long" in short.get_data(as_text=True)
    done = client.post(url, data={"password": "brand-new", "confirm_password": "brand-new"}, headers=HTMX)
    assert done.status_code == 200 and "Their sessions have ended." in done.get_data(as_text=True)
    assert check_password("fay", "brand-new") and fay.get("/account/").status_code == 302
    assert "<html" in client.get(url).get_data(as_text=True)


def test_resetting_your_own_password_keeps_your_session(client, auth, admin_login):
    url = "/users/password?username=admin&realm=native"
    client.post(url, data={"password": "admin-new", "confirm_password": "admin-new"}, headers=HTMX)
    assert client.get("/users/").status_code == 200 and check_password("admin", "admin-new")


def test_delete_confirms_then_deletes(client, auth, admin_login, make_user, subject_of):
    from webapp.services.api_keys import commands as api_keys

    gus = make_user("gus", ["api_key_user"])
    api_keys.create_api_key(subject_of(gus), name="k1")
    fragment = client.get("/users/delete?username=gus&realm=native", headers=HTMX).get_data(as_text=True)
    assert fragment.startswith('<div id="user-delete" data-open-dialog>')
    assert "their 1 active API key stops authenticating" in fragment
    response = client.post("/users/delete", data={"username": "gus", "realm": "native"})
    assert response.status_code == 303 and response.headers["Location"] == "/users/"
    assert User.get_or_none(User.username == "gus") is None
    assert "Deleted user gus." in client.get("/users/").get_data(as_text=True)


@pytest.mark.parametrize("url", ["/users/?after=abc&size=-1", "/users/?after=99999999999999999999999",
                                 "/users/?search=%25%5F%27&role=" + "r" * 900, "/users/edit?username=&realm="])
def test_odd_parameters_never_fail(client, auth, admin_login, url):
    assert client.get(url, headers=HTMX).status_code in (200, 404)
