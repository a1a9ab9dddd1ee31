"""User services behind the users pages: list and paging, the forms' rules, the reserved user, self-lockout,
and what disabling or deleting a user stops — sessions and API keys — checked end to end."""

import pytest

from tests.conftest import USER_PASSWORD, basic_header
from webapp.errors import DomainError, NotFound, Unauthorized, ValidationFailed
from webapp.model import AuditEvent, User, UserRole
from webapp.services.access.system import system_subject
from webapp.services.admin import roles, users
from webapp.services.admin import users_page as user_admin
from webapp.services.admin.users import SelfLockout
from webapp.services.api_keys import commands as api_keys


@pytest.fixture
def admin(db, make_user, subject_of):
    return subject_of(make_user("admin", ["security_admin"]))


def _create(admin, username="alice", password="secret1", confirm=None, **fields):
    return user_admin.create_user(admin, username=username, password=password,
                                  confirm_password=password if confirm is None else confirm, **fields)


# ---------------------------------------------------------------- the list
def test_list_searches_filters_by_role_and_pages_by_keyset(admin, make_user):
    for n in range(30):
        make_user(f"user{n:02}", ["viewer"] if n % 3 == 0 else [], full_name=f"Person {n}",
                  email=f"p{n}@example.com")
    first = user_admin.user_page(admin, size=25)
    assert first.total == 32 and len(first.rows) == 25 and first.first_page  # + elastic and admin
    assert [row.user.username for row in first.rows][:3] == ["admin", "elastic", "user00"]
    second = user_admin.user_page(admin, size=25, after=first.next_after)
    assert [row.user.username for row in second.rows] == [f"user{n}" for n in range(23, 30)]
    assert second.next_after is None and not second.first_page
    assert [r.user.username for r in user_admin.user_page(admin, search="person 1").rows][:2] == ["user01", "user10"]
    assert [r.user.username for r in user_admin.user_page(admin, search="P29@EXAMPLE").rows] == ["user29"]
    by_role = user_admin.user_page(admin, role="viewer")
    assert by_role.total == 10 and all(row.roles == ["viewer"] for row in by_role.rows)


def test_list_shows_every_realm_and_roles(admin):
    page = user_admin.user_page(admin)
    rows = {row.user.username: row for row in page.rows}
    assert rows["elastic"].user.realm == "reserved" and rows["elastic"].roles == ["superuser"]
    assert rows["admin"].roles == ["security_admin"]


def test_readers_may_list_but_not_change(db, make_user, subject_of):
    reader = subject_of(make_user("reader", ["security_viewer"]))
    assert user_admin.user_page(reader).total == 2
    with pytest.raises(Unauthorized):
        _create(reader)
    for action in (lambda: user_admin.set_enabled(reader, "elastic", "reserved", False),
                   lambda: user_admin.delete_user(reader, "reader", "native"),
                   lambda: user_admin.reset_password(reader, "elastic", "reserved", "abcdef", "abcdef")):
        with pytest.raises(Unauthorized):
            action()
    with pytest.raises(Unauthorized):
        user_admin.user_page(subject_of(make_user("nobody", [])))


# ---------------------------------------------------------------- creating
def test_create_a_native_user(admin):
    user = _create(admin, roles=["viewer", "no-such-role"], full_name="Alice A", email="alice@example.com")
    assert (user.username, user.realm, user.enabled) == ("alice", "native", True)
    detail = user_admin.user_detail(admin, "alice", "native")
    assert detail.roles == ["viewer", "no-such-role"] and detail.editable and not detail.protected
    assert users.check_password("alice", "secret1") is not None


@pytest.mark.parametrize("fields, expected", [
    ({"password": "short"}, {"password": "passwords must be at least [6] characters long"}),
    ({"confirm": "secret2"}, {"confirm_password": "The two passwords don't match."}),
    ({"email": "not-an-email"}, {"email": user_admin.EMAIL_PROBLEM}),
    ({"username": "elastic"}, {"username": "Username [elastic] is reserved and may not be used."}),
    ({"username": " alice"}, {"username": users.USERNAME_RULE.removeprefix("Validation Failed: 1: ")[:-1]}),
    ({"username": "zoë"}, {"username": users.USERNAME_RULE.removeprefix("Validation Failed: 1: ")[:-1]}),
    ({"username": "", "password": ""}, {"username": users.USERNAME_RULE.removeprefix("Validation Failed: 1: ")[:-1],
                                        "password": "passwords must be at least [6] characters long"}),
    ({"full_name": "x" * 1025}, {"full_name": "full_name must be a string of at most 1024 characters"}),
])
def test_create_reports_every_problem_beside_its_field(admin, fields, expected):
    with pytest.raises(ValidationFailed) as caught:
        _create(admin, **fields)
    assert caught.value.fields == expected
    assert User.select().where(User.username == fields.get("username", "alice")).where(
        User.realm == "native").count() == 0


def test_create_refuses_an_existing_username(admin, make_user):
    make_user("alice")
    with pytest.raises(ValidationFailed) as caught:
        _create(admin)
    assert caught.value.fields == {"username": "user [alice] already exists"}


def test_a_recreated_user_never_inherits_a_deleted_users_session(app, admin, make_user):
    """SQLite may hand a deleted row's id to the next user; the session must still not carry over."""
    victim = make_user("victim", ["superuser"])
    client = app.test_client()
    token = client.get("/login").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "victim", "password": USER_PASSWORD, "csrf_token": token})
    assert client.get("/account/").status_code == 200
    user_admin.delete_user(admin, "victim", "native")
    newcomer = _create(admin, username="newcomer", roles=["superuser"])
    # SQLite gives the freed id to the newcomer by itself; PostgreSQL never reuses one, so do it by hand.
    UserRole.delete().where(UserRole.user == newcomer.id).execute()
    User.update(id=victim.id).where(User.id == newcomer.id).execute()
    UserRole.create(user=victim.id, role_name="superuser")
    assert User.get_by_id(victim.id).username == "newcomer"  # the id came back...
    assert client.get("/account/").status_code == 302  # ...the session did not


# ---------------------------------------------------------------- editing
def test_update_name_email_and_roles(admin, make_user):
    make_user("bob", ["viewer"])
    user_admin.update_user(admin, "bob", "native", full_name="Bob B", email="bob@example.com",
                           roles=["editor", "api_key_user"])
    detail = user_admin.user_detail(admin, "bob", "native")
    assert (detail.user.full_name, detail.user.email) == ("Bob B", "bob@example.com")
    assert detail.roles == ["editor", "api_key_user"]  # in the order given, as ES keeps them
    with pytest.raises(ValidationFailed) as caught:
        user_admin.update_user(admin, "bob", "native", email="bob at example", roles=[])
    assert caught.value.fields == {"email": user_admin.EMAIL_PROBLEM}


def test_the_reserved_user_keeps_its_profile_and_can_only_get_a_new_password(admin):
    with pytest.raises(DomainError, match="reserved and only the password can be changed"):
        user_admin.update_user(admin, "elastic", "reserved", roles=[])
    with pytest.raises(DomainError, match="reserved and cannot be disabled"):
        user_admin.set_enabled(admin, "elastic", "reserved", False)
    with pytest.raises(DomainError, match="reserved and cannot be deleted"):
        user_admin.deletion_preview(admin, "elastic", "reserved")
    with pytest.raises(DomainError, match="reserved and cannot be deleted"):
        user_admin.delete_user(admin, "elastic", "reserved")
    assert User.get(User.username == "elastic").enabled
    user_admin.reset_password(admin, "elastic", "reserved", "new-elastic", "new-elastic")
    assert users.check_password("elastic", "new-elastic") is not None
    assert user_admin.user_detail(admin, "elastic", "reserved").protected


def test_proxy_users_can_be_disabled_and_deleted_but_not_edited(admin, db):
    from webapp.services.access.proxy_users import proxy_subject

    proxy_subject("carol", ["viewer"])
    with pytest.raises(DomainError, match=r"\[proxy\] realm"):
        user_admin.update_user(admin, "carol", "proxy", roles=["superuser"])
    user_admin.set_enabled(admin, "carol", "proxy", False)
    assert proxy_subject("carol", ["viewer"]) is None
    assert user_admin.delete_user(admin, "carol", "proxy") is True
    with pytest.raises(NotFound):
        user_admin.user_detail(admin, "carol", "proxy")


def test_nobody_disables_or_deletes_themself(admin):
    with pytest.raises(DomainError, match="may not update the enabled status of their own account"):
        user_admin.set_enabled(admin, "admin", "native", False)
    with pytest.raises(DomainError, match="may not delete their own account"):
        user_admin.deletion_preview(admin, "admin", "native")
    with pytest.raises(DomainError, match="may not delete their own account"):
        user_admin.delete_user(admin, "admin", "native")


def test_removing_your_own_last_route_to_manage_security_needs_confirmation(admin):
    with pytest.raises(SelfLockout):
        user_admin.update_user(admin, "admin", "native", roles=["viewer"])
    assert user_admin.user_detail(admin, "admin", "native").roles == ["security_admin"]
    # Another role that still grants it: no warning.
    user_admin.update_user(admin, "admin", "native", roles=["viewer", "superuser"])
    user_admin.update_user(admin, "admin", "native", roles=["viewer"], confirmed=True)
    assert user_admin.user_detail(admin, "admin", "native").roles == ["viewer"]


def test_changing_someone_elses_roles_never_asks(admin, make_user):
    make_user("other", ["security_admin"])
    user_admin.update_user(admin, "other", "native", roles=[])
    assert user_admin.user_detail(admin, "other", "native").roles == []


def test_missing_users_are_not_found(admin):
    for action in (lambda: user_admin.user_detail(admin, "ghost", "native"),
                   lambda: user_admin.update_user(admin, "ghost", "native", roles=[]),
                   lambda: user_admin.set_enabled(admin, "ghost", "native", False),
                   lambda: user_admin.reset_password(admin, "ghost", "native", "abcdef", "abcdef"),
                   lambda: user_admin.delete_user(admin, "elastic", "native")):
        with pytest.raises(NotFound):
            action()


# ---------------------------------------------------------------- what disabling and deleting stop
def _signed_in_client(app, username, password=USER_PASSWORD):
    client = app.test_client()
    token = client.get("/login").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert client.get("/account/").status_code == 200
    return client


def _key_works(client, key):
    return client.get("/_security/_authenticate", headers={"Authorization": f"ApiKey {key.encoded}"}).status_code


def test_disabling_ends_sessions_and_stops_keys_and_enabling_restores_keys(app, admin, make_user, subject_of):
    dave = make_user("dave", ["api_key_user"])
    key = api_keys.create_api_key(subject_of(dave), name="dave-key")
    session = _signed_in_client(app, "dave")
    api = app.test_client()
    assert api.get("/_security/_authenticate", headers=basic_header("dave", USER_PASSWORD)).status_code == 200
    assert _key_works(api, key) == 200
    user_admin.set_enabled(admin, "dave", "native", False)
    assert session.get("/account/").status_code == 302  # sent to sign in at the next request
    assert _key_works(api, key) == 401
    assert api.get("/_security/_authenticate", headers=basic_header("dave", USER_PASSWORD)).status_code == 401
    user_admin.set_enabled(admin, "dave", "native", True)
    assert _key_works(api, key) == 200  # nothing was deleted
    assert session.get("/account/").status_code == 302  # the old session stays ended


def test_deleting_ends_sessions_and_stops_keys(app, admin, make_user, subject_of):
    erin = make_user("erin", ["api_key_user"])
    key = api_keys.create_api_key(subject_of(erin), name="erin-key")
    session = _signed_in_client(app, "erin")
    user_admin.delete_user(admin, "erin", "native")
    assert session.get("/account/").status_code == 302
    assert _key_works(app.test_client(), key) == 401


def test_a_password_reset_ends_the_users_sessions(app, admin, make_user):
    make_user("fay")
    session = _signed_in_client(app, "fay")
    user_admin.reset_password(admin, "fay", "native", "brand-new", "brand-new")
    assert session.get("/account/").status_code == 302
    _signed_in_client(app, "fay", "brand-new")
    with pytest.raises(ValidationFailed) as caught:
        user_admin.reset_password(admin, "fay", "native", "abc", "abd")
    assert set(caught.value.fields) == {"password", "confirm_password"}


# ---------------------------------------------------------------- audit
def test_user_changes_are_audited_with_before_and_after_and_no_password(admin, make_user):
    _create(admin, roles=["viewer"], full_name="Alice")
    user_admin.update_user(admin, "alice", "native", full_name="Alice B", roles=["editor"])
    user_admin.reset_password(admin, "alice", "native", "another1", "another1")
    user_admin.set_enabled(admin, "alice", "native", False)
    user_admin.delete_user(admin, "alice", "native")
    events = list(AuditEvent.select().where(AuditEvent.target_id == "alice@native").order_by(AuditEvent.id))
    assert [e.action for e in events] == ["user.create", "user.update", "user.password", "user.disable",
                                          "user.delete"]
    assert events[1].before["roles"] == ["viewer"] and events[1].after["roles"] == ["editor"]
    assert events[1].before["full_name"] == "Alice" and events[1].after["full_name"] == "Alice B"
    assert events[3].before == {"enabled": True} and events[3].after == {"enabled": False}
    text = " ".join(str((e.before, e.after, e.detail)) for e in events)
    assert "secret1" not in text and "another1" not in text and "$2b$" not in text


def test_roles_that_dont_exist_are_allowed_as_in_elasticsearch(admin):
    roles.put_role(system_subject(), "later", {"cluster": ["monitor"]})
    _create(admin, roles=["later", "not-yet"])
    assert user_admin.user_detail(admin, "alice", "native").roles == ["later", "not-yet"]
